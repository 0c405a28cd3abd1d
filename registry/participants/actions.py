"""Correcting participants' records: contact details (re-sealed) and demographics.

Enrolment, which also writes consent and facts, is ``registry.enrolment.actions``.
"""

from __future__ import annotations

import datetime as dt

from registry import clock
from registry.audit.actions import Actor, AuditEntry
from registry.audit.actions import record_events as record_audit_events
from registry.errors import ValidationFailed
from registry.participants.commands import CorrectParticipant
from registry.participants.identity import correct_identifiers, lock_active, update_identity
from registry.participants.models import Participant
from registry.participants.reference import reference
from registry.participants.schemas import outside_cohort_ages
from registry.signals import records_changed, send_to_all

DEMOGRAPHIC_FIELDS = ("sex", "gender_identity", "ethnicity", "imd_decile", "imd_version")


def correct_participant(
    participant: Participant, correction: CorrectParticipant, *, by: Actor
) -> Participant:
    """Correct contact details (re-sealed) and demographics; the facts follow. Only what
    the correction gives changes; an optional field given as null is cleared."""
    identity_changes = correction.identity_changes()
    locked = lock_active(participant)
    identifiers = correction.identifier_changes()
    if identifiers:
        birth = identifiers.get("date_of_birth")
        misfit = isinstance(birth, dt.date) and outside_cohort_ages(
            locked.cohort, birth, locked.enrolled_on or clock.today()
        )
        if misfit:
            raise ValidationFailed({"date_of_birth": [misfit]})
        number = identifiers.get("nhs_number")
        correct_identifiers(
            locked,
            reason=str(correction.reason),
            by=by,
            nhs_number=number if isinstance(number, str) else None,
            date_of_birth=birth if isinstance(birth, dt.date) else None,
        )
    if identity_changes:
        update_identity(locked, by=by, **identity_changes)
    demographic = correction.demographic_changes()
    if not demographic:
        if "postcode" in identity_changes or "date_of_birth" in identifiers:
            # The facts row holds the postcode district and the birth month.
            send_to_all(records_changed, locked)
        return locked
    decile = demographic.get("imd_decile", locked.imd_decile)
    version = demographic.get("imd_version", locked.imd_version)
    if decile is None:
        if demographic.get("imd_version"):
            raise ValidationFailed({"imd_decile": ["Give the decile this version applies to."]})
        demographic["imd_version"] = None
    elif not version:
        raise ValidationFailed(
            {"imd_version": ["Say which index the decile comes from (IoD2019 or IoD2025)."]}
        )
    for name, value in demographic.items():
        setattr(locked, name, value)
    if isinstance(correction.ethnicity, str):
        locked.ethnicity_group = reference().ethnicity_group(correction.ethnicity)
    record_audit_events(
        [
            AuditEntry(
                "participant.correct_demographics",
                target_type="participant",
                target_id=locked.participant_id,
                participant_id=locked.participant_id,
                details={"fields": sorted(demographic)},
            )
        ],
        by=by,
    )
    send_to_all(records_changed, locked)
    return locked
