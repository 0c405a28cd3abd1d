"""Assessment and treatment-trial input and output."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from registry.assessments.commands import RecordAssessment, RecordTreatmentTrial
from registry.assessments.instruments import INSTRUMENT_CODES
from registry.assessments.treatment import trial_outcomes
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


class TreatmentTrialArgs(CommandSchema[RecordTreatmentTrial]):
    command = RecordTreatmentTrial
    drug = fields.String(required=True, validate=validate.Length(min=2, max=80))
    started_on = Month(required=True)
    adequate_dose = StrictBoolean(required=True)
    weeks = WholeNumber(0, 520, "a number of weeks", required=True)
    outcome = fields.String(
        required=True, validate=validate.OneOf(trial_outcomes(), error="Choose one of: {choices}.")
    )


class TreatmentTrialSchema(Schema):
    id = fields.Integer(required=True)
    drug = fields.String(required=True)
    started_on = Month(required=True)
    adequate_dose = fields.Boolean(required=True)
    weeks = fields.Integer(required=True)
    outcome = fields.String(required=True)
    counts_as_failed = fields.Boolean(required=True)
    failed_adequate_trials = fields.Integer(required=True, metadata={"description": "now"})
    failed_trials_definition = fields.String(required=True)
