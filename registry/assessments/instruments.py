"""The registry's rating scales and how they are scored: pure functions, no database or app.

The facts (items, ranges, bands and their sources) live in ``data/instruments.toml``, read
once at import; a data file that contradicts itself stops the import rather than scoring
wrongly. Error messages name items by number and label and never repeat what the client
sent, because they reach API responses and logs.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.resources import files
from types import MappingProxyType
from typing import Any

from registry.errors import ValidationFailed
from registry.input_rules import CodedMessage


@dataclass(frozen=True)
class Item:
    label: str
    min: int
    max: int
    answers: tuple[str, ...] = ()  # the words for each rating from min up, where given
    wording: str = ""  # the question as the scale asks it, where its licence allows


@dataclass(frozen=True)
class Band:
    """Totals from ``lower`` up to the next band's lower bound (or the scale's maximum)."""

    lower: int
    label: str
    confirm: bool = False  # approximate: check against the primary source before a release
    note: str = ""


@dataclass(frozen=True)
class Instrument:
    code: str
    short_name: str  # as clinicians write it, e.g. PHQ-9
    name: str
    version: str  # stored with each assessment, so a score can be traced to the facts used
    source: str
    items: tuple[Item, ...]
    total_min: int
    total_max: int
    bands: tuple[Band, ...]
    # Item numbers (1-based) per subscale; per domain when the total is the sum of each
    # domain's highest item (QIDS-SR16). Excluded from the hash so instruments stay hashable.
    subscales: Mapping[str, tuple[int, ...]] = field(hash=False)
    domains: Mapping[str, tuple[int, ...]] = field(hash=False)
    # The LOINC code of the scale's total, where LOINC has one (FHIR exports add it beside
    # the registry's own code); ``loinc_confirm`` marks one still to check, never exported.
    loinc: str | None = None
    loinc_confirm: bool = False
    licence: str = ""
    # False when the licence allows only the total to be stored: items are then refused.
    items_storable: bool = True
    # Item number -> level for scales whose result is a category by which yes/no items are
    # positive (C-SSRS screener), not a sum: the total is the highest level answered yes.
    risk_levels: Mapping[int, int] = field(default_factory=dict, hash=False)
    # What the page asks before the items ("Over the last 2 weeks..."), where allowed.
    stem: str = ""
    # The item (1-based) whose answer above its lowest asks the clinician to follow their
    # service's risk procedure (PHQ-9 item 9); 0 for none.
    risk_item: int = 0


@dataclass(frozen=True)
class Score:
    total: int
    subscales: dict[str, int]
    band: str


def _groups(table: Mapping[str, list[int]]) -> Mapping[str, tuple[int, ...]]:
    return MappingProxyType({name: tuple(numbers) for name, numbers in table.items()})


def _parse(key: str, table: Mapping[str, Any]) -> Instrument:
    instrument = Instrument(
        code=table["code"],
        short_name=table["short_name"],
        name=table["name"],
        version=table["version"],
        source=table["source"],
        items=tuple(_item(item) for item in table["items"]),
        total_min=table["total"]["min"],
        total_max=table["total"]["max"],
        bands=tuple(Band(**band) for band in table["bands"]),
        subscales=_groups(table.get("subscales", {})),
        domains=_groups(table.get("domains", {})),
        loinc=table.get("loinc"),
        loinc_confirm=table.get("loinc_confirm", False),
        licence=table.get("licence", ""),
        items_storable=table.get("items_storable", True),
        stem=table.get("stem", ""),
        risk_item=table.get("risk_item", 0),
        risk_levels=MappingProxyType(
            {int(number): level for number, level in table.get("risk_levels", {}).items()}
        ),
    )
    _check_facts(key, instrument)
    return instrument


def _item(table: Mapping[str, Any]) -> Item:
    return Item(**{**table, "answers": tuple(table.get("answers", ()))})


def _check_facts(key: str, instrument: Instrument) -> None:
    """Cross-check one scale's facts, so a typo in the data file cannot reach a score."""
    problems: list[str] = []
    numbers = range(1, len(instrument.items) + 1)
    if instrument.code != key:
        problems.append(f"code {instrument.code!r} differs from its table name")
    for number, item in enumerate(instrument.items, 1):
        if item.answers and len(item.answers) != item.max - item.min + 1:
            problems.append(f"item {number} needs one answer per rating")
    if instrument.risk_item and not 1 <= instrument.risk_item <= len(instrument.items):
        problems.append("risk_item names an item the scale does not have")
    if not instrument.items and instrument.items_storable:
        problems.append("a scale without items must set items_storable = false")
    if instrument.risk_levels:
        problems.extend(_risk_problems(instrument))
        lowest, highest = 0, max(instrument.risk_levels.values())
    elif instrument.domains:
        in_domains = sorted(n for group in instrument.domains.values() for n in group)
        if in_domains != list(numbers):
            problems.append("domains must hold every item exactly once")
        groups = [[instrument.items[n - 1] for n in g] for g in instrument.domains.values()]
        lowest = sum(min(item.min for item in group) for group in groups)
        highest = sum(max(item.max for item in group) for group in groups)
    elif instrument.items:
        lowest = sum(item.min for item in instrument.items)
        highest = sum(item.max for item in instrument.items)
    else:  # a total-only scale: its stated range is all there is
        lowest, highest = instrument.total_min, instrument.total_max
    if (lowest, highest) != (instrument.total_min, instrument.total_max):
        problems.append(f"items give totals {lowest}-{highest}, not the stated total range")
    for name, group in instrument.subscales.items():
        if not group or not set(group) <= set(numbers):
            problems.append(f"subscale {name!r} names items the scale does not have")
    lowers = [band.lower for band in instrument.bands]
    if not lowers or lowers[0] != instrument.total_min or lowers != sorted(set(lowers)):
        problems.append("bands must ascend strictly from the lowest total")
    elif lowers[-1] > instrument.total_max:
        problems.append("the last band starts above the highest total")
    if problems:
        raise ValueError(f"instruments.toml, {key}: " + "; ".join(problems))


def _risk_problems(instrument: Instrument) -> list[str]:
    """A risk-level scale: yes/no items, each with a level that is one of its bands."""
    problems = []
    if sorted(instrument.risk_levels) != list(range(1, len(instrument.items) + 1)):
        problems.append("risk_levels must give every item exactly one level")
    if any((item.min, item.max) != (0, 1) for item in instrument.items):
        problems.append("risk_levels items must be yes/no (0 to 1)")
    lowers = {band.lower for band in instrument.bands}
    if not set(instrument.risk_levels.values()) <= lowers - {0}:
        problems.append("each risk level must be a band's lower bound above 0")
    if instrument.domains or instrument.subscales:
        problems.append("a risk-level scale has no domains or subscales")
    return problems


def _load() -> dict[str, Instrument]:
    text = files("registry.assessments").joinpath("data/instruments.toml").read_text("utf-8")
    return {key: _parse(key, table) for key, table in tomllib.loads(text).items()}


_INSTRUMENTS = _load()

INSTRUMENT_CODES: tuple[str, ...] = tuple(_INSTRUMENTS)  # in the data file's order


def instrument(code: str) -> Instrument:
    """The scale with this code; ValidationFailed listing the codes if there is none."""
    # The isinstance check keeps unhashable JSON values (lists, objects) out of the lookup.
    found = _INSTRUMENTS.get(code) if isinstance(code, str) else None
    if found is None:
        raise ValidationFailed({"instrument": [f"Choose one of {', '.join(INSTRUMENT_CODES)}."]})
    return found


def score_items(instrument: Instrument, items: Sequence[int]) -> Score:
    """Score one rating per item, in the scale's item order."""
    if not instrument.items_storable:
        raise ValidationFailed(
            {
                "items": [
                    f"The {instrument.short_name} licence does not allow its item scores to be "
                    "stored: give the total only."
                ]
            }
        )
    ratings = _checked_ratings(instrument, items)
    if instrument.risk_levels:
        total = max(
            (
                instrument.risk_levels[number]
                for number, (item, rating) in enumerate(
                    zip(instrument.items, ratings, strict=True), 1
                )
                if rating > item.min
            ),
            default=0,
        )
    elif instrument.domains:
        total = sum(max(ratings[n - 1] for n in group) for group in instrument.domains.values())
    else:
        total = sum(ratings)
    subscales = {
        name: sum(ratings[n - 1] for n in group) for name, group in instrument.subscales.items()
    }
    return Score(total=total, subscales=subscales, band=band_for(instrument, total))


def score_total(instrument: Instrument, total: int) -> Score:
    """Score a total recorded without its items: subscales cannot be known, so none."""
    return Score(total=total, subscales={}, band=band_for(instrument, total))


def band_for(instrument: Instrument, total: int) -> str:
    """The severity band of a total, or ValidationFailed if the total is out of range."""
    if not _is_whole_between(total, instrument.total_min, instrument.total_max):
        raise ValidationFailed(
            {
                "total": [
                    f"The {instrument.code} total must be a whole number "
                    f"from {instrument.total_min} to {instrument.total_max}."
                ]
            }
        )
    return next(band.label for band in reversed(instrument.bands) if band.lower <= total)


def _checked_ratings(instrument: Instrument, items: object) -> list[int]:
    expected = len(instrument.items)
    # A string is a Sequence too, but never a set of ratings.
    if isinstance(items, str | bytes) or not isinstance(items, Sequence):
        raise ValidationFailed(
            {"items": [f"Give the {instrument.code} items as a list of {expected} numbers."]}
        )
    if len(items) != expected:
        plural = "item" if expected == 1 else "items"
        given = {0: "none were given", 1: "1 was given"}.get(len(items), f"{len(items)} were given")
        raise ValidationFailed({"items": [f"{instrument.code} has {expected} {plural}; {given}."]})
    problems = [
        CodedMessage(
            f"Item {number} ({item.label}) must be a whole number from {item.min} to {item.max}.",
            "item_out_of_range",
            item=number,
        )
        for number, (item, rating) in enumerate(zip(instrument.items, items, strict=True), 1)
        if not _is_whole_between(rating, item.min, item.max)
    ]
    if problems:
        raise ValidationFailed({"items": problems})
    return list(items)


def _is_whole_between(value: object, lowest: int, highest: int) -> bool:
    # bool is a subclass of int, but True is not a rating.
    return isinstance(value, int) and not isinstance(value, bool) and lowest <= value <= highest
