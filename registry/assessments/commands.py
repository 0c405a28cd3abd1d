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
    drug: str
    started_on: dt.date
    adequate_dose: bool
    weeks: int
    outcome: str
