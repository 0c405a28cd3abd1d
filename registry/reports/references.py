"""Reference populations: the shipped Census 2021 tables, and others an admin loads.

Each is a table of shares (percent) per attribute and group, with its source, year and
geography, and a confirm mark on figures still to be checked against the ONS table. A
CSV is checked whole before it is accepted, and every problem is named by line.
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
# Shares are published to one decimal place, so a table may sum to 99.5-100.5.
SUM_TOLERANCE = 0.5
AGE_BANDS = tuple(band.census_label for band in age_bands.BANDS)
IMD_QUINTILES = ("1", "2", "3", "4", "5")
SEXES = ("female", "male")
YES_NO = {"yes": True, "no": False, "": False}
MAX_CSV_BYTES = 64 * 1024


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
        "imd_quintile": IMD_QUINTILES,
    }


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


class ReferenceProblem(ValueError):
    """A reference CSV that cannot be used; ``problems`` names each fault by line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_shares(text: str) -> tuple[dict[str, dict[str, float]], frozenset[tuple[str, str]]]:
    """Shares and confirm marks from a reference CSV, or ReferenceProblem naming every fault."""
    # surrogatepass: a lone surrogate from JSON is measured, then refused as not CSV below.
    if len(text.encode("utf-8", "surrogatepass")) > MAX_CSV_BYTES:
        raise ReferenceProblem([f"The file is larger than {MAX_CSV_BYTES // 1024} KB."])
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise ReferenceProblem([f"The file is not valid CSV: {exc}."]) from None
    if not rows or tuple(cell.strip() for cell in rows[0]) != CSV_HEADER:
        raise ReferenceProblem([f"The first line must be: {','.join(CSV_HEADER)}"])
    known = reference_groups()
    problems: list[str] = []
    shares: dict[str, dict[str, float]] = {}
    to_confirm: set[tuple[str, str]] = set()
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(CSV_HEADER):
            problems.append(f"line {line}: expected {len(CSV_HEADER)} columns, found {len(row)}")
            continue
        attribute, group, share_text, confirm = (cell.strip() for cell in row)
        if attribute not in known:
            problems.append(f"line {line}: unknown attribute; use one of {', '.join(known)}")
            continue
        if group not in known[attribute]:
            problems.append(
                f"line {line}: unknown {attribute} group; use one of {', '.join(known[attribute])}"
            )
            continue
        try:
            share = float(share_text)
        except ValueError:
            share = math.nan
        if not math.isfinite(share) or not 0 <= share <= 100:
            problems.append(f"line {line}: share_percent must be a number from 0 to 100")
            continue
        if confirm.lower() not in YES_NO:
            problems.append(f"line {line}: confirm must be yes, no or empty")
            continue
        if group in shares.get(attribute, {}):
            problems.append(f"line {line}: {attribute} {group} is given twice")
            continue
        shares.setdefault(attribute, {})[group] = share
        if YES_NO[confirm.lower()]:
            to_confirm.add((attribute, group))
    for attribute, groups in shares.items():
        total = sum(groups.values())
        if abs(total - 100) > SUM_TOLERANCE:
            problems.append(f"{attribute}: shares sum to {total:.1f}, not 100 (± {SUM_TOLERANCE})")
        missing = [g for g in known[attribute] if g not in groups]
        if missing:
            problems.append(f"{attribute}: no share for {', '.join(missing)}")
    if not shares and not problems:
        problems.append("The file has no shares.")
    if problems:
        raise ReferenceProblem(problems)
    return shares, frozenset(to_confirm)


@cache
def shipped_references() -> dict[str, ReferencePopulation]:
    data = resources.files("registry.reports").joinpath("data")
    sources: dict[str, Any] = tomllib.loads(data.joinpath("sources.toml").read_text())
    found = {}
    for ref_id, meta in sources.items():
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
        )
    return found
