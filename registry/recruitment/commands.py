"""What the recruitment schemas load into: the actions' input, typed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SubmitRequest:
    study_title: str
    sponsor: str
    ethics_reference: str
    # The criteria document as sent; ``submit_request`` checks it against the partner's own
    # catalogue.
    criteria: object
    target: int
    lay_summary: str | None
    # Not given: from today, for the default window.
    contact_from: dt.date | None = None
    contact_until: dt.date | None = None


@dataclass(frozen=True, slots=True)
class DecideRequest:
    decision: str  # approve or reject
    note: str | None
    # Approving: list at most this many, chosen at random among those who would be listed.
    cap: int | None = None


@dataclass(frozen=True, slots=True)
class RecordOutcome:
    status: str


@dataclass(frozen=True, slots=True)
class RequestFilter:
    status: str | None = None  # not given: every status
