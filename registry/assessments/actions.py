"""Recording assessments and treatment trials. Each announces the change, and the
participant's facts are derived again (``registry.facts``)."""

from __future__ import annotations

import datetime as dt
import re

from registry.assessments.commands import RecordAssessment, RecordTreatmentTrial
from registry.assessments.instruments import instrument as find_instrument
from registry.assessments.instruments import score_items, score_total
from registry.assessments.models import Assessment, TreatmentTrial
from registry.assessments.treatment import current_definition, failed_adequate_trials
from registry.audit.actions import Actor, record_event
from registry.db import session
from registry.errors import ValidationFailed
from registry.participants.identity import lock_for_new_data
from registry.participants.models import Participant
from registry.signals import records_changed, send_to_all

# Drug names are free text a clinician types; keep them to what a drug name can hold, so
# the field cannot carry a sentence about the person.
_DRUG_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9 ()/+.,-]{1,79}$")


def record_assessment(
    participant: Participant, command: RecordAssessment, *, by: Actor
) -> Assessment:
    """Score and store one administration of a rating scale."""
    scale = find_instrument(command.instrument)
    items, total, administered_on = command.items, command.total, command.administered_on
    if items is not None:
        score = score_items(scale, items)  # type: ignore[arg-type]  # checked inside
    elif total is not None:
        if isinstance(total, bool) or not isinstance(total, int):
            raise ValidationFailed({"total": ["Give the total as a whole number."]})
        score = score_total(scale, total)
    else:
        raise ValidationFailed({"items": ["Give either the items or the total."]})
    locked = lock_for_new_data(participant)
    if administered_on < _earliest_assessment(locked):
        raise ValidationFailed({"administered_on": ["This is before the person was born."]})
    assessment = Assessment(
        participant_pk=locked.id,
        instrument=scale.code,
        scale_version=scale.version,
        administered_on=administered_on,
        items=list(items) if items is not None else None,
        total=score.total,
        subscales=score.subscales or None,
        band=score.band,
        recorded_by_id=by.user_id,
    )
    db = session()
    db.add(assessment)
    db.flush()
    record_event(
        "assessment.record",
        by=by,
        target_type="assessment",
        target_id=assessment.id,
        participant_id=locked.participant_id,
        details={"instrument": scale.code, "total": score.total},
    )
    send_to_all(records_changed, locked)
    return assessment


def _earliest_assessment(participant: Participant) -> dt.date:
    if participant.birth_year and participant.birth_month:
        return dt.date(participant.birth_year, participant.birth_month, 1)
    return dt.date(1900, 1, 1)


def record_treatment_trial(
    participant: Participant, command: RecordTreatmentTrial, *, by: Actor
) -> TreatmentTrial:
    """Store one antidepressant trial (TRD); ``failed_adequate_trials`` follows."""
    drug = " ".join(command.drug.split()).lower()
    started_on = command.started_on
    if not _DRUG_NAME.match(drug):
        raise ValidationFailed({"drug": ["Give the drug's name, for example sertraline."]})
    locked = lock_for_new_data(participant)
    if locked.cohort != "TRD":
        raise ValidationFailed(
            {"participant_id": ["Treatment trials are recorded for the TRD cohort only."]}
        )
    if locked.episode_start is not None and started_on < locked.episode_start:
        raise ValidationFailed({"started_on": ["This is before the current episode started."]})
    trial = TreatmentTrial(
        participant_pk=locked.id,
        drug=drug,
        started_on=started_on,
        adequate_dose=command.adequate_dose,
        weeks=command.weeks,
        outcome=command.outcome,
        recorded_by_id=by.user_id,
    )
    db = session()
    db.add(trial)
    db.flush()
    send_to_all(records_changed, locked)
    record_event(
        "treatment_trial.record",
        by=by,
        target_type="treatment_trial",
        target_id=trial.id,
        participant_id=locked.participant_id,
        details={
            "outcome": command.outcome,
            "failed_adequate_trials": failed_adequate_trials(locked.id),
            "definition": current_definition().name,
        },
    )
    return trial
