"""Assessment and treatment-trial input and output."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from registry.assessments.commands import RecordAssessment, RecordTreatmentTrial, VoidRecord
from registry.assessments.instruments import INSTRUMENT_CODES
from registry.assessments.models import VOID_REASONS
from registry.assessments.treatment import (
    adherence_levels,
    dose_units,
    modalities,
    stop_reasons,
    trial_outcomes,
)
from registry.fields import Month, PastDate, StrictBoolean, WholeNumber
from registry.input_rules import CommandSchema


class AssessmentArgs(CommandSchema[RecordAssessment]):
    command = RecordAssessment
    instrument = fields.String(
        required=True,
        validate=validate.OneOf(INSTRUMENT_CODES, error="Choose one of: {choices}."),
    )
    administered_on = PastDate(required=True)
    # Ranges are checked per instrument by the scoring rules, which name each bad item.
    items = fields.List(fields.Raw(), metadata={"description": "item ratings, in order"})
    total = fields.Raw(metadata={"description": "instead of items, when only a total is known"})

    @validates_schema
    def _items_or_total(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("items" in data) == ("total" in data):
            raise ValidationError("Give either the items or the total, not both.", "items")


class AssessmentSchema(Schema):
    id = fields.Integer(required=True)
    instrument = fields.String(required=True)
    scale_version = fields.String(required=True)
    administered_on = fields.Date(required=True)
    items = fields.List(fields.Integer(), allow_none=True)
    total = fields.Integer(required=True)
    subscales = fields.Dict(keys=fields.String(), values=fields.Integer(), allow_none=True)
    band = fields.String(required=True)
    voided_at = fields.DateTime(allow_none=True, metadata={"description": "null unless voided"})
    void_reason = fields.String(allow_none=True)


class VoidArgs(CommandSchema[VoidRecord]):
    """Why a record entered in error is void: a code, never free text (it could name
    someone, and the audit log keeps it)."""

    command = VoidRecord
    reason = fields.String(
        required=True,
        validate=validate.OneOf(tuple(VOID_REASONS), error="Choose one of: {choices}."),
        metadata={
            "description": ", ".join(f"{code}: {words}" for code, words in VOID_REASONS.items())
        },
    )


def _one_of(choices: tuple[str, ...]) -> validate.OneOf:
    return validate.OneOf(choices, error="Choose one of: {choices}.")


class TreatmentTrialArgs(CommandSchema[RecordTreatmentTrial]):
    command = RecordTreatmentTrial
    drug = fields.String(
        validate=validate.Length(min=2, max=80),
        metadata={
            "description": "generic name, brand name or dm+d VTM code; required for the "
            "antidepressant, augmentation and combination modalities, absent otherwise"
        },
    )
    started_on = Month(required=True)
    adequate_dose = StrictBoolean(required=True)
    weeks = WholeNumber(0, 520, "a number of weeks", required=True)
    outcome = fields.String(required=True, validate=_one_of(trial_outcomes()))
    modality = fields.String(load_default="antidepressant", validate=_one_of(modalities()))
    dose = fields.Float(
        allow_nan=False,
        validate=validate.Range(0, 100_000, min_inclusive=False, error="Give a dose above 0."),
        metadata={"description": "daily dose of a drug, or the number of sessions"},
    )
    dose_unit = fields.String(validate=_one_of(dose_units()))
    ended_on = Month(metadata={"description": "YYYY-MM; absent while still taken"})
    adherence = fields.String(load_default="unknown", validate=_one_of(adherence_levels()))
    response_percent = WholeNumber(
        -100, 100, "a percentage from -100", metadata={"description": "improvement, %"}
    )
    stop_reason = fields.String(validate=_one_of(stop_reasons()))

    @validates_schema
    def _dose_with_unit(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("dose" in data) != ("dose_unit" in data):
            field = "dose_unit" if "dose" in data else "dose"
            raise ValidationError("Give the dose and its unit together.", field)


class TreatmentTrialSchema(Schema):
    id = fields.Integer(required=True)
    modality = fields.String(required=True)
    drug = fields.String(allow_none=True)
    drug_code = fields.String(allow_none=True, metadata={"description": "dm+d VTM"})
    drug_class = fields.String(allow_none=True, metadata={"description": "BNF section"})
    dose = fields.Float(allow_none=True)
    dose_unit = fields.String(allow_none=True)
    started_on = Month(required=True)
    ended_on = Month(allow_none=True)
    adequate_dose = fields.Boolean(required=True)
    weeks = fields.Integer(required=True)
    adherence = fields.String(required=True)
    outcome = fields.String(required=True)
    response_percent = fields.Integer(allow_none=True)
    stop_reason = fields.String(allow_none=True)
    not_recovered = fields.List(
        fields.String(),
        allow_none=True,
        metadata={"description": "recorded before 0015: the fields the old record lacked"},
    )
    counts_as_failed = fields.Boolean(required=True)
    voided_at = fields.DateTime(allow_none=True, metadata={"description": "null unless voided"})
    void_reason = fields.String(allow_none=True)


class RecordedTrialSchema(TreatmentTrialSchema):
    failed_adequate_trials = fields.Integer(
        required=True, metadata={"description": "distinct failed treatments, now"}
    )
    failed_trials_definition = fields.String(
        required=True, metadata={"description": "the definition and its version"}
    )
    maudsley_staging_score = fields.Integer(allow_none=True)
    maudsley_staging_note = fields.String(required=True)
