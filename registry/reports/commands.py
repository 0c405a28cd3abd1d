"""What the report schemas load into: the actions' and views' input, typed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoadReference:
    reference_id: str
    name: str
    geography: str
    geography_code: str | None
    year: int
    source: str
    shares_csv: str  # attribute,group,share_percent|count,confirm rows, checked by the action
    kind: str = "census"  # census, need-based or caseload
    cohort: str | None = None  # the cohort it is the comparator for, if one


@dataclass(frozen=True, slots=True)
class WriteSection:
    text: str


@dataclass(frozen=True, slots=True)
class ReportOptions:
    format: str  # json or csv
    reference: str | None = None  # not given: the default reference population


@dataclass(frozen=True, slots=True)
class DatasheetOptions:
    format: str  # json or md
    reference: str | None = None  # not given: the default reference population
