"""Consent-form versions: which sheet is in force for each cohort."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from registry.auth.permissions import Permission
from registry.auth.session import acting_as, requires, signed_in_user
from registry.consents.actions import record_consent, withdraw_participant
from registry.consents.queries import consent_forms, current_form_ids
from registry.consents.schemas import (
    ConsentChangeArgs,
    ConsentFormArgs,
    ConsentFormSchema,
    ConsentRecordSchema,
    WithdrawalArgs,
    WithdrawalSchema,
)
from registry.db import session
from registry.participants.facts import current_consent
from registry.participants.queries import participant_for_admin, visible_participant

blp = Blueprint("consent_forms", __name__, description="Consent-form versions")


@blp.route("/consent-forms")
@requires(Permission.VIEW_CONSENT_FORMS)
@blp.arguments(ConsentFormArgs, location="query")
@blp.response(200, ConsentFormSchema(many=True))
def list_consent_forms(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Every version, newest first per cohort, with the one in force today marked."""
    forms = session().scalars(consent_forms(args.get("cohort"))).all()
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
@blp.arguments(WithdrawalArgs)
@blp.response(201, WithdrawalSchema)
@blp.alt_response(200, schema=WithdrawalSchema, description="already withdrawn at this level")
@blp.alt_response(409, schema="Error", description="withdrawal_cannot_relax")
def withdraw(args: dict[str, Any], participant_id: str) -> tuple[dict[str, Any], int]:
    """Record a withdrawal at a level; effective everywhere when this returns. Only ever
    stricter; the same level again answers 200 with the record already made."""
    participant = participant_for_admin(participant_id)
    outcome = withdraw_participant(participant, by=acting_as(), **args)
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
def add_consent(args: dict[str, Any], participant_id: str) -> dict[str, Any]:
    """New consent on a newer form version, or a change to some items (e.g. revoking
    commercial_partners) on the version already signed. Appended to the history."""
    user = signed_in_user()
    assert user is not None  # @requires
    participant = visible_participant(user, participant_id)
    record = record_consent(participant, by=acting_as(), **args)
    return {
        "id": record.id,
        "kind": record.kind,
        "form_version": args["form_version"],
        "signed_on": record.signed_on,
        "capacity": record.capacity,
        "items": args["items"],
        "consent": current_consent(participant.id),
    }
