"""What ``AssessmentArgs`` and ``TreatmentTrialArgs`` load into: the actions' input, typed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RecordAssessment:
    instrument: str
    administered_on: dt.date
    # One of the two, never both (the schema checks): item ratings as sent, in order, whose
    # ranges the instrument's scoring checks, or only a total.
    items: Sequence[object] | None = None
    total: object = None


@dataclass(frozen=True, slots=True)
class RecordTreatmentTrial:
    started_on: dt.date
    adequate_dose: bool
    weeks: int
    outcome: str
    # The body API.md has always shown is the five fields above and `drug`; the rest are
    # optional, with these defaults (``treatment.toml`` lists the values each takes).
    drug: str | None = None  # a drug modality needs one: a name, synonym, brand or VTM code
    modality: str = "antidepressant"
    dose: float | None = None
    dose_unit: str | None = None
    ended_on: dt.date | None = None  # None: still taken
    adherence: str = "unknown"
    response_percent: int | None = None
    stop_reason: str | None = None


@dataclass(frozen=True, slots=True)
class VoidRecord:
    """Why an assessment or a treatment trial entered in error is void (a code)."""

    reason: str
