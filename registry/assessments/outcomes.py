"""Response and remission over time (TRD), by the definitions in ``data/outcomes.toml``.

Pure: a participant's series of ratings in, their outcome out; the facts row stores it
(``registry.facts.outcomes``). The data file's rules are explained at its head; a file that
names an unknown scale or an impossible threshold stops the import.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from typing import Any

from registry.assessments.instruments import INSTRUMENT_CODES, instrument


@dataclass(frozen=True, slots=True)
class ScaleRule:
    code: str
    remission_at_most: int
    source: str
    confirm: bool = False  # a figure to check against the primary source before a release


@dataclass(frozen=True, slots=True)
class OutcomeDefinitions:
    version: str
    cohorts: frozenset[str]
    totals_alone_count: bool
    reduction_percent: int
    response_source: str
    scales: tuple[ScaleRule, ...]  # in order of preference


@dataclass(frozen=True, slots=True)
class Rating:
    """One assessment of a participant's series, as the outcome needs it."""

    instrument: str
    administered_on: dt.date
    total: int
    itemised: bool  # scored from items, not a total recorded alone


@dataclass(frozen=True, slots=True)
class Outcome:
    definitions: str | None  # the version used; None where no outcome is derived (EP)
    scale: str | None = None
    baseline_total: int | None = None
    baseline_on: dt.date | None = None
    latest_total: int | None = None
    latest_on: dt.date | None = None
    response: bool | None = None
    remission: bool | None = None


def _parse(table: Mapping[str, Any]) -> OutcomeDefinitions:
    definitions = OutcomeDefinitions(
        version=table["version"],
        cohorts=frozenset(table["cohorts"]),
        totals_alone_count=table["totals_alone_count"],
        reduction_percent=table["response"]["reduction_percent"],
        response_source=table["response"]["source"],
        scales=tuple(ScaleRule(**scale) for scale in table["scales"]),
    )
    problems = []
    if not 0 < definitions.reduction_percent <= 100:
        problems.append("reduction_percent must be from 1 to 100")
    codes = [scale.code for scale in definitions.scales]
    if len(set(codes)) != len(codes):
        problems.append("a scale is listed twice")
    for scale in definitions.scales:
        if scale.code not in INSTRUMENT_CODES:
            problems.append(f"{scale.code} is not in instruments.toml")
            continue
        known = instrument(scale.code)
        if not known.total_min <= scale.remission_at_most < known.total_max:
            problems.append(f"{scale.code}'s remission threshold is outside its totals")
    if problems:
        raise ValueError("outcomes.toml: " + "; ".join(problems))
    return definitions


def _load() -> OutcomeDefinitions:
    text = files("registry.assessments").joinpath("data/outcomes.toml").read_text("utf-8")
    return _parse(tomllib.loads(text))


DEFINITIONS = _load()


def outcome_of(
    ratings: Iterable[Rating],
    *,
    cohort: str | None,
    episode_start: dt.date | None,
    definitions: OutcomeDefinitions = DEFINITIONS,
) -> Outcome:
    """The participant's response and remission, from their ratings in the order they
    were administered (then entered)."""
    if cohort not in definitions.cohorts:
        return Outcome(definitions=None)
    by_scale: dict[str, list[Rating]] = {}
    for rating in ratings:
        if definitions.totals_alone_count or rating.itemised:
            by_scale.setdefault(rating.instrument, []).append(rating)
    for rule in definitions.scales:
        series = by_scale.get(rule.code, [])
        baseline = next(
            (r for r in series if episode_start is None or r.administered_on >= episode_start),
            None,
        )
        later = [r for r in series if baseline and r.administered_on > baseline.administered_on]
        if baseline is None or not later:
            continue
        latest = later[-1]
        return Outcome(
            definitions=definitions.version,
            scale=rule.code,
            baseline_total=baseline.total,
            baseline_on=baseline.administered_on,
            latest_total=latest.total,
            latest_on=latest.administered_on,
            response=_responded(rule.code, baseline.total, latest.total, definitions),
            remission=latest.total <= rule.remission_at_most,
        )
    return Outcome(definitions=definitions.version)


def _responded(
    code: str, baseline: int, latest: int, definitions: OutcomeDefinitions
) -> bool | None:
    # Measured from the scale's floor, so a scale starting above 0 is not favoured; a
    # baseline already at the floor has nothing to fall, so response is unknown.
    room = baseline - instrument(code).total_min
    if room <= 0:
        return None
    # Whole numbers only: "at least 50%" must not hinge on a float's rounding.
    return (baseline - latest) * 100 >= definitions.reduction_percent * room
