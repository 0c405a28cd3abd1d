"""Reads of one participant's clinical records."""

from __future__ import annotations

from typing import TypeVar

from registry.assessments.models import Assessment, TreatmentTrial
from registry.db import session
from registry.errors import NotFound

_Record = TypeVar("_Record", Assessment, TreatmentTrial)


def record_of(model: type[_Record], participant_pk: int, record_id: str) -> _Record:
    """The participant's record with this id (as the URL gives it); NotFound for another
    participant's, so an id says nothing about anyone else's records."""
    record = session().get(model, int(record_id)) if record_id.isdigit() else None
    if record is None or record.participant_pk != participant_pk:
        raise NotFound("There is no such record for this participant.")
    return record
