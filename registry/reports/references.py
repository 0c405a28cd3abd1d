"""Reference populations: the shipped general-population tables, the need-based ones
computed from them, and others an admin loads (a census table or a service's caseload).

Each is a table of shares (percent) per attribute and group, with its source (per
attribute where they differ), year and geography, and a confirm mark on figures still to
be checked at their source. A CSV is checked whole before it is accepted, and every
problem is named by line.
"""

from __future__ import annotations

import csv
import io
import math
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from registry.participants import age_bands
from registry.participants.reference import reference

CSV_HEADER = ("attribute", "group", "share_percent", "confirm")
# A caseload is more often published as counts: the shares are computed from them.
COUNT_HEADER = ("attribute", "group", "count", "confirm")
# Shares are published to one decimal place, so a table may sum to 99.5-100.5.
SUM_TOLERANCE = 0.5
AGE_BANDS = tuple(band.census_label for band in age_bands.BANDS)
IMD_DECILES = tuple(str(d) for d in range(1, 11))
IMD_QUINTILES = ("1", "2", "3", "4", "5")
# Deciles of different editions of the Indices of Deprivation rank different data and
# must never be pooled: each edition is its own attribute.
IMD_VERSIONS = {"iod2019": "IoD2019", "iod2025": "IoD2025"}
IMD_DECILE_ATTRIBUTES = {f"imd_decile_{key}": version for key, version in IMD_VERSIONS.items()}
IMD_QUINTILE_ATTRIBUTES = {f"imd_quintile_{key}": version for key, version in IMD_VERSIONS.items()}
# Before editions were kept apart a reference CSV said `imd_quintile`; the only edition
# then shipped was IoD2019, so such a line is read as IoD2019.
LEGACY_ATTRIBUTES = {"imd_quintile": "imd_quintile_iod2019"}
SEXES = ("female", "male")
YES_NO = {"yes": True, "no": False, "": False}
MAX_CSV_BYTES = 64 * 1024

# What a reference population stands for, in words.
KINDS = {
    "census": "General population",
    "need-based": "Need-based: the population weighted by how often the condition occurs",
    "caseload": "Service caseload",
}


def ethnic_groups() -> tuple[str, ...]:
    """The ONS 2021 high-level groups, in the reference data's order, without the two
    missingness codes."""
    groups = dict.fromkeys(group for _, group in reference().ethnicity.values())
    return tuple(g for g in groups if g not in ("not_stated", "not_known"))


def reference_groups() -> dict[str, tuple[str, ...]]:
    """The attributes a reference population may describe, and each one's groups."""
    return {
        "ethnicity_group": ethnic_groups(),
        "sex": SEXES,
        "age_band": AGE_BANDS,
        **{name: IMD_DECILES for name in IMD_DECILE_ATTRIBUTES},
        **{name: IMD_QUINTILES for name in IMD_QUINTILE_ATTRIBUTES},
    }


@dataclass(frozen=True)
class Weight:
    """One published ratio a need-based reference weights a group by, with its source."""

    attribute: str
    group: str
    ratio: float
    source: str  # the citation, in full
    confirm: bool
    note: str | None = None


@dataclass(frozen=True)
class ReferencePopulation:
    id: str
    name: str
    geography: str
    year: int
    source: str
    shares: dict[str, dict[str, float]]  # attribute -> group -> percent
    to_confirm: frozenset[tuple[str, str]] = field(default_factory=frozenset)
    geography_code: str | None = None
    population: int | None = None
    url: str | None = None
    loaded: bool = False  # by an admin, rather than shipped
    kind: str = "census"  # a key of KINDS
    cohorts: tuple[str, ...] = ()  # the cohorts it is the intended-use comparator for
    attribute_sources: dict[str, str] = field(default_factory=dict)
    method: str | None = None  # how a need-based reference was made, assumptions included
    weights: tuple[Weight, ...] = ()

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)

    def source_of(self, attribute: str) -> str:
        """Where this attribute's figures come from (each may have its own)."""
        return self.attribute_sources.get(attribute, self.source)


class ReferenceProblem(ValueError):
    """A reference CSV that cannot be used; ``problems`` names each fault by line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_shares(text: str) -> tuple[dict[str, dict[str, float]], frozenset[tuple[str, str]]]:
    """Shares and confirm marks from a reference CSV, or ReferenceProblem naming every fault.

    Either form: shares in percent (``share_percent``, each attribute summing to 100) or
    counts (``count``, e.g. a service's caseload), from which the shares are computed. An
    attribute may be left out (a caseload may give only ethnicity and sex); an attribute
    given needs every one of its groups."""
    # surrogatepass: a lone surrogate from JSON is measured, then refused as not CSV below.
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CSV_BYTES:
        raise ReferenceProblem([f"The file is larger than {MAX_CSV_BYTES // 1024} KB."])
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ReferenceProblem([f"The file is not valid CSV: {exc}."]) from None
    header = tuple(cell.strip() for cell in rows[0]) if rows else ()
    if header not in (CSV_HEADER, COUNT_HEADER):
        raise ReferenceProblem(
            [f"The first line must be: {','.join(CSV_HEADER)} (or {','.join(COUNT_HEADER)})"]
        )
    counted = header == COUNT_HEADER
    known = reference_groups()
    problems: list[str] = []
    values: dict[str, dict[str, float]] = {}
    to_confirm: set[tuple[str, str]] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CSV_HEADER):
            problems.append(f"line {line}: expected {len(CSV_HEADER)} columns, found {len(row)}")
            continue
        attribute, group, number_text, confirm = (cell.strip() for cell in row)
        attribute = LEGACY_ATTRIBUTES.get(attribute, attribute)
        if attribute not in known:
            problems.append(f"line {line}: unknown attribute; use one of {', '.join(known)}")
            continue
        if group not in known[attribute]:
            problems.append(
                f"line {line}: unknown {attribute} group; use one of {', '.join(known[attribute])}"
            )
            continue
        problem = _number_problem(number_text, counted)
        if problem:
            problems.append(f"line {line}: {problem}")
            continue
        if confirm.lower() not in YES_NO:
            problems.append(f"line {line}: confirm must be yes, no or empty")
            continue
        if group in values.get(attribute, {}):
            problems.append(f"line {line}: {attribute} {group} is given twice")
            continue
        values.setdefault(attribute, {})[group] = float(number_text)
        if YES_NO[confirm.lower()]:
            to_confirm.add((attribute, group))
    for attribute, groups in values.items():
        total = sum(groups.values())
        if counted and total == 0:
            problems.append(f"{attribute}: the counts are all 0")
        elif not counted and abs(total - 100) > SUM_TOLERANCE:
            problems.append(f"{attribute}: shares sum to {total:.1f}, not 100 (± {SUM_TOLERANCE})")
        missing = [g for g in known[attribute] if g not in groups]
        if missing:
            problems.append(
                f"{attribute}: no {'count' if counted else 'share'} for {', '.join(missing)}"
            )
    if not values and not problems:
        problems.append("The file has no shares.")
    if problems:
        raise ReferenceProblem(problems)
    if counted:
        values = {
            attribute: {g: 100 * n / sum(groups.values()) for g, n in groups.items()}
            for attribute, groups in values.items()
        }
    return _with_quintiles(values, frozenset(to_confirm))


def _number_problem(text: str, counted: bool) -> str | None:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if counted:
        if not (math.isfinite(number) and number >= 0 and number == int(number)):
            return "count must be a whole number, 0 or more"
    elif not math.isfinite(number) or not 0 <= number <= 100:
        return "share_percent must be a number from 0 to 100"
    return None


def _with_quintiles(
    shares: dict[str, dict[str, float]], to_confirm: frozenset[tuple[str, str]]
) -> tuple[dict[str, dict[str, float]], frozenset[tuple[str, str]]]:
    """A reference with deciles of an edition but not its quintiles gets them computed:
    quintile q holds deciles 2q-1 and 2q (of the same edition only)."""
    shares = dict(shares)
    marks = set(to_confirm)
    for key in IMD_VERSIONS:
        deciles, quintile = shares.get(f"imd_decile_{key}"), f"imd_quintile_{key}"
        if deciles is None or quintile in shares:
            continue
        shares[quintile] = {}
        for q in IMD_QUINTILES:
            pair = (str(2 * int(q) - 1), str(2 * int(q)))
            shares[quintile][q] = sum(deciles[d] for d in pair)
            if any((f"imd_decile_{key}", d) in to_confirm for d in pair):
                marks.add((quintile, q))
    return shares, frozenset(marks)


def need_based(
    base: ReferencePopulation, ref_id: str, meta: dict[str, Any], weights_text: str
) -> ReferencePopulation:
    """A need-based reference: per attribute, each group's share of the base population
    times its published rate ratio, rescaled to 100 (share_g x RR_g / sum of share x RR).
    Only attributes the weights cover are described. Each attribute is weighted on its
    own: the attributes are assumed independent, which the data file and the datasheet
    state. A share is marked to confirm if its base share or any ratio of its attribute is."""
    table: dict[str, Any] = tomllib.loads(weights_text)
    citations: dict[str, str] = {
        key: " ".join(text.split()) for key, text in table["sources"].items()
    }
    weights = tuple(
        Weight(
            attribute=w["attribute"],
            group=w["group"],
            ratio=float(w["ratio"]),
            source=citations[w["source"]],
            confirm=bool(w.get("confirm", False)),
            note=" ".join(w["note"].split()) if w.get("note") else None,
        )
        for w in table["weight"]
    )
    shares: dict[str, dict[str, float]] = {}
    marks: set[tuple[str, str]] = set()
    sources: dict[str, str] = {}
    for attribute in dict.fromkeys(w.attribute for w in weights):
        ratios = {w.group: w.ratio for w in weights if w.attribute == attribute}
        base_shares = base.shares[attribute]
        if set(ratios) != set(base_shares):
            raise ValueError(f"{ref_id}: {attribute} needs a ratio for each group of the base")
        weighted = {g: share * ratios[g] for g, share in base_shares.items()}
        total = sum(weighted.values())
        shares[attribute] = {g: 100 * value / total for g, value in weighted.items()}
        doubtful = any(w.confirm for w in weights if w.attribute == attribute) or any(
            (attribute, g) in base.to_confirm for g in base_shares
        )
        if doubtful:
            marks.update((attribute, g) for g in base_shares)
        cited = "; ".join(dict.fromkeys(w.source for w in weights if w.attribute == attribute))
        sources[attribute] = (
            f"{base.source_of(attribute)} Weighted by {table['meta']['outcome']}: {cited}"
        )
    return ReferencePopulation(
        id=ref_id,
        name=meta["name"],
        geography=base.geography,
        year=int(meta["year"]),
        source=" ".join(meta["source"].split()),
        shares=shares,
        to_confirm=frozenset(marks),
        geography_code=base.geography_code,
        population=base.population,
        url=meta.get("url"),
        kind="need-based",
        cohorts=tuple(meta.get("cohorts", ())),
        attribute_sources=sources,
        method=" ".join(table["meta"]["assumption"].split()),
        weights=weights,
    )


@cache
def shipped_references() -> dict[str, ReferencePopulation]:
    data = resources.files("registry.reports").joinpath("data")
    sources: dict[str, Any] = tomllib.loads(data.joinpath("sources.toml").read_text())
    found: dict[str, ReferencePopulation] = {}
    for ref_id, meta in sources.items():
        if meta.get("kind") == "need-based":
            # Computed from its base (listed earlier) and the published ratios, never typed.
            weights = data.joinpath(meta["weights"]).read_text()
            found[ref_id] = need_based(found[meta["base"]], ref_id, meta, weights)
            continue
        shares, to_confirm = parse_shares(data.joinpath(meta["file"]).read_text())
        found[ref_id] = ReferencePopulation(
            id=ref_id,
            name=meta["name"],
            geography=meta["geography"],
            year=int(meta["year"]),
            source=" ".join(meta["source"].split()),
            shares=shares,
            to_confirm=to_confirm,
            geography_code=meta.get("geography_code"),
            population=meta.get("population"),
            url=meta.get("url"),
            kind=meta.get("kind", "census"),
            cohorts=tuple(meta.get("cohorts", ())),
            attribute_sources={
                name: " ".join(text.split())
                for name, text in meta.get("attribute_sources", {}).items()
            },
        )
    return found
