"""Recording assessments and treatment trials. Each announces the change, and the
participant's facts are derived again (``registry.facts``)."""

from __future__ import annotations

import datetime as dt
from typing import Any, TypeVar

from registry.assessments.commands import RecordAssessment, RecordTreatmentTrial
from registry.assessments.drugs import drug_list, drug_named, find_drug, suggestions
from registry.assessments.instruments import instrument as find_instrument
from registry.assessments.instruments import score_items, score_total
from registry.assessments.models import VOID_REASONS, Assessment, TreatmentTrial
from registry.assessments.treatment import (
    current_definition,
    drug_modalities,
    treatment_facts,
)
from registry.audit.actions import Actor, record_event
from registry.db import session, utcnow
from registry.errors import Conflict, ValidationFailed
from registry.input_rules import CodedMessage
from registry.participants.identity import lock_active, lock_for_new_data
from registry.participants.models import Participant
from registry.signals import records_changed, send_to_all


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


def _drug_of(command: RecordTreatmentTrial) -> tuple[str | None, str | None]:
    """The trial's drug (registry name, VTM code) from what was given: a drug modality needs
    one from the coded list; the others take none. What was typed is never echoed back."""
    if command.modality not in drug_modalities():
        if command.drug is not None:
            raise ValidationFailed({"drug": ["This kind of treatment takes no drug."]})
        return None, None
    if command.drug is None:
        raise ValidationFailed({"drug": [CodedMessage("Give the drug.", "required")]})
    drug = find_drug(command.drug)
    if drug is None:
        close = suggestions(command.drug)
        hint = (
            f"Did you mean {' or '.join(close)}?"
            if close
            else "Give its generic name, for example sertraline."
        )
        message = f"This drug is not on the registry's list. {hint}"
        raise ValidationFailed({"drug": [CodedMessage(message, "unknown_drug", suggestions=close)]})
    return drug.name, drug.vtm


def record_treatment_trial(
    participant: Participant, command: RecordTreatmentTrial, *, by: Actor
) -> TreatmentTrial:
    """Store one treatment trial (TRD); ``failed_adequate_trials`` and the Maudsley score
    follow."""
    drug, code = _drug_of(command)
    started_on = command.started_on
    if command.ended_on is not None and command.ended_on < started_on:
        raise ValidationFailed({"ended_on": ["This is before the trial started."]})
    locked = lock_for_new_data(participant)
    if locked.cohort != "TRD":
        raise ValidationFailed(
            {"participant_id": ["Treatment trials are recorded for the TRD cohort only."]}
        )
    if locked.episode_start is not None and started_on < locked.episode_start:
        raise ValidationFailed({"started_on": ["This is before the current episode started."]})
    trial = TreatmentTrial(
        participant_pk=locked.id,
        modality=command.modality,
        drug=drug,
        drug_code=code,
        drug_list_version=drug_list().version if drug else None,
        dose=command.dose,
        dose_unit=command.dose_unit,
        started_on=started_on,
        ended_on=command.ended_on,
        adequate_dose=command.adequate_dose,
        weeks=command.weeks,
        adherence=command.adherence,
        outcome=command.outcome,
        response_percent=command.response_percent,
        stop_reason=command.stop_reason,
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
            "modality": command.modality,
            "outcome": command.outcome,
            "failed_adequate_trials": treatment_facts(locked).failed_adequate_trials,
            "definition": current_definition().label,
        },
    )
    return trial


def void_assessment(assessment: Assessment, *, reason: str, by: Actor) -> Assessment:
    """Void an assessment entered in error: it leaves the facts, eligibility and exports in
    this transaction; the row stays, marked, so the timeline keeps that it existed."""
    return _void(assessment, "assessment", reason=reason, by=by)


def void_treatment_trial(trial: TreatmentTrial, *, reason: str, by: Actor) -> TreatmentTrial:
    """Void a treatment trial entered in error, as ``void_assessment`` does."""
    return _void(trial, "treatment_trial", reason=reason, by=by)


_Voidable = TypeVar("_Voidable", Assessment, TreatmentTrial)


def _void(record: _Voidable, kind: str, *, reason: str, by: Actor) -> _Voidable:
    if reason not in VOID_REASONS:
        raise ValidationFailed({"reason": [CodedMessage("Select why it is void.", "required")]})
    db = session()
    participant = db.get(Participant, record.participant_pk)
    assert participant is not None  # a foreign key
    locked = lock_active(participant)  # a shred that commits first wins
    if record.voided_at is not None:
        raise Conflict("already_voided", "This record has already been voided.")
    record.voided_at = utcnow()
    record.voided_by_id = by.user_id
    record.void_reason = reason
    db.flush()
    record_event(
        f"{kind}.void",
        by=by,
        target_type=kind,
        target_id=record.id,
        participant_id=locked.participant_id,
        details={"reason": reason},
    )
    send_to_all(records_changed, locked)
    return record


def needs_risk_prompt(assessment: Assessment) -> bool:
    """Whether the scale's risk item (PHQ-9 item 9) was answered above its lowest."""
    scale = find_instrument(assessment.instrument)
    if not scale.risk_item or not assessment.items or assessment.voided_at is not None:
        return False
    item = scale.items[scale.risk_item - 1]
    return bool(assessment.items[scale.risk_item - 1] > item.min)


def record_risk_prompt_shown(
    participant: Participant, assessment: Assessment, *, by: Actor
) -> None:
    """Record, with the assessment, that the page asked the clinician to follow their
    service's risk procedure (the first time it was shown)."""
    if assessment.risk_prompt_shown_at is not None:
        return
    assessment.risk_prompt_shown_at = utcnow()
    session().flush()
    record_event(
        "assessment.risk_prompt_shown",
        by=by,
        target_type="assessment",
        target_id=assessment.id,
        participant_id=participant.participant_id,
        details={"instrument": assessment.instrument},
    )


def describe_trial(trial: TreatmentTrial, participant: Participant) -> dict[str, Any]:
    """A trial as the API shows it: its fields, its drug's BNF class and whether it counts
    as a failed adequate treatment under the current definition."""
    drug = drug_named(trial.drug) if trial.drug else None
    return {
        "id": trial.id,
        "modality": trial.modality,
        "drug": trial.drug,
        "drug_code": trial.drug_code,
        "drug_class": f"BNF {drug.drug_class.bnf} {drug.drug_class.label}" if drug else None,
        "dose": trial.dose,
        "dose_unit": trial.dose_unit,
        "started_on": trial.started_on,
        "ended_on": trial.ended_on,
        "adequate_dose": trial.adequate_dose,
        "weeks": trial.weeks,
        "adherence": trial.adherence,
        "outcome": trial.outcome,
        "response_percent": trial.response_percent,
        "stop_reason": trial.stop_reason,
        "not_recovered": trial.not_recovered,
        "counts_as_failed": current_definition().counts_as_failed(trial, participant.episode_start),
        "voided_at": trial.voided_at,
        "void_reason": trial.void_reason,
    }


def describe_recorded_trial(trial: TreatmentTrial, participant: Participant) -> dict[str, Any]:
    """``describe_trial`` and the participant's counts now."""
    facts = treatment_facts(participant)
    return describe_trial(trial, participant) | {
        "failed_adequate_trials": facts.failed_adequate_trials,
        "failed_trials_definition": current_definition().label,
        "maudsley_staging_score": facts.staging.score,
        "maudsley_staging_note": facts.staging.note,
    }
