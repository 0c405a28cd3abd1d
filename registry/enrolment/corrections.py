"""Correcting a record: a corrected date of birth must still come before every date the
record holds, as it had to at enrolment.

Enrolment refuses consent signed before the birth and a psychosis onset or episode start
before its month; a correction could otherwise move the birth past them, or past a rating
or a treatment trial recorded since. The consent and clinical rows live in packages above
``participants``, so the check sits here, beside enrolment, and then hands over to
``participants.actions.correct_participant`` for the rest (cohort ages, re-sealing, audit).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from registry.assessments.models import Assessment, TreatmentTrial
from registry.audit.actions import Actor
from registry.consents.models import ConsentRecord
from registry.dates_in_words import long_date, long_month
from registry.db import session
from registry.errors import ValidationFailed
from registry.participants.actions import correct_participant
from registry.participants.commands import CorrectParticipant
from registry.participants.models import Participant


def correct_record(
    participant: Participant, correction: CorrectParticipant, *, by: Actor
) -> Participant:
    """``correct_participant``, after refusing a date of birth later than the record's dates
    (every reason at once, on ``date_of_birth``)."""
    birth = correction.identifier_changes().get("date_of_birth")
    if isinstance(birth, dt.date):
        problems = dated_before(participant, birth)
        if problems:
            raise ValidationFailed({"date_of_birth": problems})
    return correct_participant(participant, correction, by=by)


def dated_before(participant: Participant, birth: dt.date) -> list[str]:
    """What the record dates before ``birth``, the earliest of each kind, in words. Months
    (onset, episode start, treatment trials) are refused only before the birth's month."""
    month = birth.replace(day=1)
    problems = []
    signed = _earliest(ConsentRecord.signed_on, participant)
    if signed is not None and signed < birth:
        problems.append(f"Consent was signed on {long_date(signed)}, before this date of birth.")
    for name, day, whole_month in (
        ("The psychosis onset", participant.psychosis_onset, True),
        ("The episode start", participant.episode_start, True),
        ("The first antipsychotic", participant.first_antipsychotic_on, False),
        ("Acceptance by the early intervention team", participant.eip_accepted_on, False),
    ):
        if day is not None and day < (month if whole_month else birth):
            when = long_month(day) if whole_month else long_date(day)
            problems.append(f"{name} ({when}) is before this date of birth.")
    rated = _earliest(Assessment.administered_on, participant)
    if rated is not None and rated < birth:
        problems.append(f"An assessment was done on {long_date(rated)}, before this date of birth.")
    trial = _earliest(TreatmentTrial.started_on, participant)
    if trial is not None and trial < month:
        problems.append(
            f"A treatment trial began in {long_month(trial)}, before this date of birth."
        )
    return problems


def _earliest(column: InstrumentedAttribute[dt.date], participant: Participant) -> dt.date | None:
    """The earliest ``column`` of the participant's rows in its table, voided rows left out."""
    table = column.class_
    query = select(func.min(column)).where(table.participant_pk == participant.id)
    if hasattr(table, "voided_at"):
        query = query.where(table.voided_at.is_(None))
    return session().scalar(query)
