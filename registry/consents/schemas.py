"""Consent input (a signing, a change of items, a withdrawal) and consent-form output."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from registry.consents.actions import withdrawal_problems
from registry.consents.commands import (
    ConsentAnswers,
    ConsentFormFilter,
    EnrolmentConsent,
    NamedConsultee,
    RecordConsent,
    Withdraw,
    WithdrawWithStepUp,
)
from registry.consents.items import CONSENT_ITEMS, REQUIRED_ITEMS
from registry.consents.models import (
    CAPACITY_CONFIRMED,
    CAPACITY_CONSULTEE,
    CONSULTEE_TYPES,
    REQUESTED_BY,
    WITHDRAWAL_REASONS,
)
from registry.fields import PastDate, StrictBoolean
from registry.input_rules import CommandSchema, Prose, nested_part
from registry.participants.models import COHORTS, WITHDRAWAL_LEVELS
from registry.participants.schemas import person_name


class ConsentFormSchema(Schema):
    cohort = fields.String(required=True)
    version = fields.String(required=True)
    effective_on = fields.Date(required=True)
    file_name = fields.String(required=True)
    media_type = fields.String(required=True)
    sha256 = fields.String(required=True)
    current = fields.Boolean(required=True, metadata={"description": "in force today"})


class ConsentFormArgs(CommandSchema[ConsentFormFilter]):
    command = ConsentFormFilter

    cohort = fields.String(validate=validate.OneOf(COHORTS))


class Consultee(CommandSchema[NamedConsultee]):
    command = NamedConsultee

    type = fields.String(
        required=True,
        validate=validate.OneOf(CONSULTEE_TYPES, error="Choose a personal or nominated consultee."),
    )
    name = person_name("name")


class ConsentItems(CommandSchema[ConsentAnswers]):
    """Every item answered explicitly: each is agreed separately, none is assumed."""

    command = ConsentAnswers

    registry_storage = StrictBoolean(required=True)
    contact_for_research = StrictBoolean(required=True)
    record_access = StrictBoolean(required=True)
    record_linkage = StrictBoolean(required=True)
    commercial_partners = StrictBoolean(required=True)
    samples = StrictBoolean(required=True)
    future_research = StrictBoolean(required=True)
    inform_gp = StrictBoolean(required=True)


class ConsentArgs(CommandSchema[EnrolmentConsent]):
    command = EnrolmentConsent

    form_version = fields.String(required=True, validate=validate.Length(min=1, max=32))
    signed_on = PastDate(required=True)
    items = fields.Nested(ConsentItems, required=True)
    capacity = fields.String(
        load_default=CAPACITY_CONFIRMED,
        validate=validate.OneOf((CAPACITY_CONFIRMED, CAPACITY_CONSULTEE)),
        metadata={"description": "the clinician confirms capacity, or a consultee declares"},
    )
    consultee = fields.Nested(Consultee, load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        problems: dict[str, list[str]] = {}
        for item in REQUIRED_ITEMS:
            if nested_part(data.get("items"), item) is False:
                problems[f"items.{item}"] = ["Joining the registry needs this consent."]
        if data.get("capacity") == CAPACITY_CONSULTEE and not data.get("consultee"):
            problems["consultee"] = ["Give the consultee's type and name."]
        if data.get("capacity") == CAPACITY_CONFIRMED and data.get("consultee"):
            problems["consultee"] = ["A consultee is only recorded when capacity is lacking."]
        if problems:
            raise ValidationError(problems)


class WithdrawalArgs(CommandSchema[Withdraw]):
    command: type[Withdraw] = Withdraw  # WithdrawalRequestArgs loads a subclass

    level = fields.String(
        required=True,
        validate=validate.OneOf(WITHDRAWAL_LEVELS, error="Choose one of: {choices}."),
        metadata={
            "description": "no_further_contact (W1): never approached again, data kept and "
            "used; no_further_data (W2): also nothing new recorded; full (W3): identifiers "
            "destroyed, clinical data deleted, a tombstone kept"
        },
    )
    reason_code = fields.String(
        load_default="participant_request",
        validate=validate.OneOf(WITHDRAWAL_REASONS, error="Choose one of: {choices}."),
    )
    reason = Prose(
        load_default=None,
        allow_none=True,
        metadata={"description": "optional; no identifiers; sealed, and dropped for full"},
    )
    requested_by = fields.String(
        load_default="participant",
        validate=validate.OneOf(REQUESTED_BY, error="Choose one of: {choices}."),
        metadata={"description": "consultee: a consultee advised the person would want this"},
    )
    consultee_type = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(CONSULTEE_TYPES)
    )

    @validates_schema
    def _rules(self, data: dict[str, Any], **kwargs: Any) -> None:
        # The action's own checks, run here too so that a form can show them at once.
        problems = withdrawal_problems(
            data["level"],
            data["reason_code"],
            data.get("reason"),
            data["requested_by"],
            data.get("consultee_type"),
        )
        if problems:
            raise ValidationError(problems)


class WithdrawalRequestArgs(WithdrawalArgs):
    """Through the API, a full withdrawal needs the same step-up as the page."""

    command = WithdrawWithStepUp

    security_code = fields.String(
        load_default=None,
        load_only=True,
        validate=validate.Length(max=16),
        metadata={
            "description": "full only: a current code from the admin's authenticator app, "
            "not used before (or send password instead)"
        },
    )
    password = fields.String(
        load_default=None,
        load_only=True,
        validate=validate.Length(max=128),
        metadata={"description": "full only: the admin's password, if no security_code"},
    )


class WithdrawalSchema(Schema):
    participant_id = fields.String(required=True)
    level = fields.String(required=True)
    reason_code = fields.String(required=True)
    requested_by = fields.String(required=True)
    consultee_type = fields.String(allow_none=True)
    recorded_at = fields.DateTime(required=True)
    created = fields.Boolean(
        required=True, metadata={"description": "false: already withdrawn at this level"}
    )


class ConsentChangeArgs(CommandSchema[RecordConsent]):
    command = RecordConsent

    form_version = fields.String(required=True, validate=validate.Length(min=1, max=32))
    signed_on = PastDate(required=True)
    items = fields.Dict(
        keys=fields.String(validate=validate.OneOf(CONSENT_ITEMS)),
        values=StrictBoolean(),
        required=True,
        metadata={"description": "every item for a new form version; some, for a change"},
    )
    capacity = fields.String(
        load_default=CAPACITY_CONFIRMED,
        validate=validate.OneOf((CAPACITY_CONFIRMED, CAPACITY_CONSULTEE)),
    )
    consultee = fields.Nested(Consultee, load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _consultee_fits_capacity(self, data: dict[str, Any], **kwargs: Any) -> None:
        # As at enrolment: a consultee's declaration names them, and only then is one kept.
        if data.get("capacity") == CAPACITY_CONSULTEE and not data.get("consultee"):
            raise ValidationError("Give the consultee's type and name.", "consultee")
        if data.get("capacity") == CAPACITY_CONFIRMED and data.get("consultee"):
            raise ValidationError(
                "A consultee is only recorded when capacity is lacking.", "consultee"
            )


class ConsentRecordSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True, metadata={"description": "enrolment, reconsent, change"})
    form_version = fields.String(required=True)
    signed_on = fields.Date(required=True)
    capacity = fields.String(required=True)
    items = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)
    consent = fields.Dict(
        keys=fields.String(), values=fields.Boolean(), metadata={"description": "now, per item"}
    )
