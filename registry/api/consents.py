"""Consent-form versions: which sheet is in force for each cohort."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from registry.api.audit_schemas import AuditEventSchema
from registry.api.blueprint import RegistryBlueprint
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires, signed_in_user
from registry.consents.actions import (
    confirm_withdrawal_level,
    record_consent,
    withdraw_participant,
)
from registry.consents.commands import ConsentFormFilter, RecordConsent, WithdrawWithStepUp
from registry.consents.queries import Timeline, consent_forms, current_form_ids, timeline
from registry.consents.schemas import (
    ConsentChangeArgs,
    ConsentFormArgs,
    ConsentFormSchema,
    ConsentRecordSchema,
    WithdrawalRequestArgs,
    WithdrawalSchema,
)
from registry.db import session
from registry.facts.derive import current_consent
from registry.fields import Month
from registry.participants.queries import participant_for_admin, visible_participant

blp = RegistryBlueprint("consent_forms", __name__, description="Consent-form versions")


@blp.route("/consent-forms")
@requires(Permission.VIEW_CONSENT_FORMS)
@blp.arguments(ConsentFormArgs, location="query")
@blp.response(200, ConsentFormSchema(many=True))
def list_consent_forms(args: ConsentFormFilter) -> list[dict[str, Any]]:
    """Every version, newest first per cohort, with the one in force today marked."""
    forms = session().scalars(consent_forms(args.cohort)).all()
    current_ids = current_form_ids()
    return [
        {
            "cohort": form.cohort,
            "version": form.version,
            "effective_on": form.effective_on,
            "file_name": form.file_name,
            "media_type": form.media_type,
            "sha256": form.sha256,
            "current": form.id in current_ids,
        }
        for form in forms
    ]


@blp.route("/participants/<participant_id>/withdrawal", methods=["POST"])
@requires(Permission.RECORD_WITHDRAWALS)
@blp.arguments(WithdrawalRequestArgs)
@blp.response(201, WithdrawalSchema)
@blp.alt_response(200, schema=WithdrawalSchema, description="already withdrawn at this level")
@blp.alt_response(409, schema="Error", description="withdrawal_cannot_relax")
@blp.alt_response(
    422, schema="Error", description="step_up_failed: full needs security_code or password"
)
def withdraw(args: WithdrawWithStepUp, participant_id: str) -> tuple[dict[str, Any], int]:
    """Record a withdrawal at a level; effective everywhere when this returns. Only ever
    stricter; the same level again answers 200 with the record already made."""
    participant = participant_for_admin(participant_id)
    confirm_withdrawal_level(
        args.level, required_user(), password=args.password, code=args.security_code
    )
    outcome = withdraw_participant(participant, args, by=acting_as())
    withdrawal = outcome.withdrawal
    body = {
        "participant_id": participant.participant_id,
        "level": withdrawal.level,
        "reason_code": withdrawal.reason_code,
        "requested_by": withdrawal.requested_by,
        "consultee_type": withdrawal.consultee_type,
        "recorded_at": withdrawal.recorded_at,
        "created": outcome.created,
    }
    return body, 201 if outcome.created else 200


@blp.route("/participants/<participant_id>/consents", methods=["POST"])
@requires(Permission.RECORD_CLINICAL_DATA)
@blp.arguments(ConsentChangeArgs)
@blp.response(201, ConsentRecordSchema)
def add_consent(args: RecordConsent, participant_id: str) -> dict[str, Any]:
    """New consent on a newer form version, or a change to some items (e.g. revoking
    commercial_partners) on the version already signed. Appended to the history."""
    user = signed_in_user()
    assert user is not None  # @requires
    participant = visible_participant(user, participant_id)
    record = record_consent(participant, args, by=acting_as())
    return {
        "id": record.id,
        "kind": record.kind,
        "form_version": args.form_version,
        "signed_on": record.signed_on,
        "capacity": record.capacity,
        "items": args.items,
        "consent": current_consent(participant.id),
    }


# -- a participant's timeline (admins) ------------------------------------------------------

TIMELINE_PURPOSE = "download participant timeline"


class TimelineStaffSchema(Schema):
    name = fields.String(required=True)
    role = fields.String(required=True)


class TimelineItemChangeSchema(Schema):
    item = fields.String(required=True)
    before = fields.Boolean(allow_none=True, metadata={"description": "null: not answered"})
    after = fields.Boolean(required=True)


class TimelineConsentSchema(Schema):
    kind = fields.String(required=True, metadata={"description": "enrolment, reconsent, change"})
    form_version = fields.String(required=True)
    signed_on = fields.Date(required=True)
    recorded_at = fields.DateTime(required=True)
    taken_by = fields.Nested(
        TimelineStaffSchema, allow_none=True, metadata={"description": "null: import"}
    )
    capacity = fields.String(required=True)
    consultee_type = fields.String(allow_none=True)
    items = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)
    changes = fields.List(fields.Nested(TimelineItemChangeSchema), required=True)


class TimelineWithdrawalSchema(Schema):
    recorded_at = fields.DateTime(required=True)
    level = fields.String(required=True)
    reason_code = fields.String(required=True)
    reason_recorded = fields.Boolean(
        required=True, metadata={"description": "free text was given; it stays sealed"}
    )
    requested_by = fields.String(required=True)
    consultee_type = fields.String(allow_none=True)
    recorded_by = fields.Nested(TimelineStaffSchema, allow_none=True)


class TimelineAssessmentSchema(Schema):
    instrument = fields.String(required=True)
    administered_on = fields.Date(required=True)
    total = fields.Integer(required=True)
    band = fields.String(required=True)


class TimelineTrialSchema(Schema):
    modality = fields.String(required=True)
    drug = fields.String(allow_none=True, metadata={"description": "none for ECT, therapy"})
    started_on = Month(required=True)
    adequate_dose = fields.Boolean(required=True)
    weeks = fields.Integer(required=True)
    outcome = fields.String(required=True)


class TimelineEventSchema(AuditEventSchema):
    """An audit event about the participant, as the audit log shows it, with who acted."""

    class Meta:
        fields = ("seq", "at", "actor", "staff", "action", "purpose", "outcome")

    staff = fields.Nested(TimelineStaffSchema, allow_none=True)


class TimelineSchema(Schema):
    participant_id = fields.String(required=True)
    cohort = fields.String(required=True)
    site_code = fields.String(required=True)
    site_name = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "active or shredded"})
    enrolled_on = fields.Date(allow_none=True)
    withdrawal_level = fields.String(allow_none=True)
    withdrawn_at = fields.DateTime(allow_none=True)
    consent_form_version = fields.String(allow_none=True)
    current_form_version = fields.String(allow_none=True)
    requires_reconsent = fields.Boolean(required=True)
    consent = fields.Dict(
        keys=fields.String(), values=fields.Boolean(), metadata={"description": "now, per item"}
    )
    consents = fields.List(fields.Nested(TimelineConsentSchema), required=True)
    withdrawals = fields.List(fields.Nested(TimelineWithdrawalSchema), required=True)
    assessments = fields.List(fields.Nested(TimelineAssessmentSchema), required=True)
    treatment_trials = fields.List(fields.Nested(TimelineTrialSchema), required=True)
    events = fields.List(fields.Nested(TimelineEventSchema), required=True)


@blp.route("/participants/<participant_id>/timeline")
@requires(Permission.READ_AUDIT)
@blp.response(200, TimelineSchema)
def participant_timeline(participant_id: str) -> Timeline:
    """Everything held and done about one participant, for a subject-access request: consent
    and withdrawal history, clinical records, and every audit event about them. No identifier
    is decrypted; tombstones included. Audited as participant.timeline."""
    participant = participant_for_admin(participant_id)
    return timeline(participant, by=acting_as(), purpose=TIMELINE_PURPOSE)
