"""Recruitment request and contact shapes: the one set of field rules for the API and the
web forms. The criteria document is checked by ``eligibility.criteria.parse_criteria``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from registry import clock
from registry.eligibility.schemas import CRITERIA_DESCRIPTION, PrivacySchema
from registry.ethics import EthicsReference
from registry.fields import WholeNumber
from registry.input_rules import CommandSchema, Prose
from registry.recruitment.commands import DecideRequest, RecordOutcome, RequestFilter, SubmitRequest
from registry.recruitment.models import (
    LAY_SUMMARY_MAX,
    NOTE_MAX,
    OUTCOMES,
    SPONSOR_MAX,
    TITLE_MAX,
)

MAX_TARGET = 100_000
# A contact window longer than this is a standing licence to approach, not a study.
MAX_WINDOW = dt.timedelta(days=2 * 366)
DEFAULT_WINDOW = dt.timedelta(days=182)


def _text(maximum: int, what: str, **kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Length(1, maximum, error=f"Give {what} of 1 to {maximum} characters."),
        **kwargs,
    )


class RequestArgs(CommandSchema[SubmitRequest]):
    command = SubmitRequest

    study_title = _text(TITLE_MAX, "the study's title", required=True)
    sponsor = _text(SPONSOR_MAX, "the sponsor's name", required=True)
    ethics_reference = EthicsReference(
        required=True,
        metadata={
            "description": "IRAS ID (6 or 7 digits, e.g. IRAS 1004567) or REC reference "
            "(e.g. 22/WM/0123); stored as IRAS 1004567 or 22/WM/0123"
        },
    )
    criteria = fields.Raw(required=True, metadata={"description": CRITERIA_DESCRIPTION})
    target = WholeNumber(1, MAX_TARGET, "the number of participants the study needs", required=True)
    contact_from = fields.Date(
        metadata={"description": "first day clinicians may approach people; default today"}
    )
    contact_until = fields.Date(
        metadata={"description": "last day of the contact window; default six months on"}
    )
    lay_summary = Prose(
        validate=validate.Length(max=LAY_SUMMARY_MAX),
        load_default=None,
        allow_none=True,
        metadata={"description": "plain words clinicians can read to the patient"},
    )

    @validates_schema(skip_on_field_errors=False)
    def _window(self, data: dict[str, Any], **kwargs: Any) -> None:
        start = data.get("contact_from") or clock.today()
        end = data.get("contact_until") or start + DEFAULT_WINDOW
        if start < clock.today():
            raise ValidationError("The contact window cannot start in the past.", "contact_from")
        if end < start:
            raise ValidationError("The window must end on or after its first day.", "contact_until")
        if end - start > MAX_WINDOW:
            raise ValidationError("A contact window can be at most two years.", "contact_until")


class DecisionArgs(CommandSchema[DecideRequest]):
    command = DecideRequest

    decision = fields.String(
        required=True,
        validate=validate.OneOf(("approve", "reject"), error="Choose approve or reject."),
    )
    note = Prose(validate=validate.Length(max=NOTE_MAX), load_default=None, allow_none=True)
    cap = WholeNumber(
        1,
        MAX_TARGET,
        "the most people to list",
        load_default=None,
        allow_none=True,
        metadata={
            "description": "approving: list at most this many people, chosen at random among "
            "everyone who would be listed; not given: list everyone"
        },
    )

    @validates_schema
    def _reasons(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("decision") == "reject" and not (data.get("note") or "").strip():
            # The partner is owed a reason, and governance a record of it.
            raise ValidationError("Say why the request is rejected.", "note")


class OutcomeArgs(CommandSchema[RecordOutcome]):
    command = RecordOutcome

    status = fields.String(
        required=True,
        validate=validate.OneOf(OUTCOMES, error=f"Choose one of {', '.join(OUTCOMES)}."),
    )


class RequestListArgs(CommandSchema[RequestFilter]):
    command = RequestFilter

    status = fields.String(
        validate=validate.OneOf(("submitted", "approved", "rejected", "open", "closed"))
    )


# -- responses -------------------------------------------------------------------------------


class RequestSchema(Schema):
    id = fields.String(required=True, metadata={"description": "the request's public id"})
    status = fields.String(required=True)
    study_title = fields.String(required=True)
    sponsor = fields.String(required=True)
    ethics_reference = fields.String(required=True)
    criteria = fields.Dict(required=True)
    catalogue_version = fields.String(required=True)
    target = fields.Integer(required=True)
    contact_from = fields.Date(required=True)
    contact_until = fields.Date(required=True)
    lay_summary = fields.String(allow_none=True)
    submitted_at = fields.DateTime(required=True)
    decided_at = fields.DateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    list_cap = fields.Integer(
        allow_none=True,
        metadata={"description": "the approval's cap: at most this many listed, at random"},
    )
    opened_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    awaiting_confirmation = fields.Boolean(
        metadata={"description": "approved; lists open when a second admin confirms"}
    )
    listed = fields.Raw(
        metadata={
            "description": "people on the lists: exact for admins; for partners this week's "
            "release (null if none could be released)"
        }
    )
    held_back = fields.Raw(metadata={"description": "held back by contact-fatigue limits"})
    figures_released_at = fields.DateTime(
        allow_none=True, metadata={"description": "partners: when the figures were released"}
    )
    figures_notice = fields.String(
        allow_none=True,
        metadata={"description": "partners: why the figures are not this week's (budget used up)"},
    )
    privacy = fields.Nested(
        PrivacySchema, metadata={"description": "partners: their organisation's privacy budget"}
    )
    matches_by_site = fields.Dict(
        metadata={"description": "admins, before a decision: contactable matches per site"}
    )
    list_if_approved = fields.Dict(
        metadata={
            "description": "admins, before a decision: listed and held back if approved now, "
            "the minimum list size, and whether the list is too small to approve"
        }
    )
    held_back_participants = fields.List(
        fields.Dict(), metadata={"description": "admins: who was held back, and why"}
    )
    site_contacts = fields.Integer(
        metadata={"description": "clinicians: people on their own site's list"}
    )


class RequestListSchema(Schema):
    items = fields.List(fields.Nested(RequestSchema), required=True)


class ContactSchema(Schema):
    participant_id = fields.String(required=True)
    nhs_number = fields.String(required=True)
    given_name = fields.String(required=True)
    family_name = fields.String(required=True)
    date_of_birth = fields.Date(required=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    postcode = fields.String(allow_none=True)
    status = fields.String(required=True)
    status_at = fields.DateTime(required=True)
    new = fields.Boolean(
        required=True,
        metadata={"description": "listed or changed by someone else since you last looked"},
    )


class OutcomeSchema(Schema):
    participant_id = fields.String(required=True)
    status = fields.String(required=True)
    status_at = fields.DateTime(required=True)


class ContactListSchema(Schema):
    request = fields.Nested(RequestSchema, required=True)
    site = fields.String(required=True)
    last_looked_at = fields.DateTime(allow_none=True)
    removed_since_last_look = fields.Integer(required=True)
    remaining = fields.Integer(
        required=True, metadata={"description": "people on your site's list not yet contacted"}
    )
    items = fields.List(fields.Nested(ContactSchema), required=True)


class FunnelSchema(Schema):
    request = fields.String(required=True)
    statuses = fields.List(fields.String(), required=True)
    count = fields.Raw(required=True, metadata={"description": "people on the lists"})
    current = fields.Dict(
        required=True,
        metadata={"description": "status -> count now; partners: this week's release"},
    )
    by_week = fields.List(
        fields.Dict(),
        required=True,
        metadata={
            "description": "week ending -> status counts; partners: each weekly release, as "
            "published, with when it was released"
        },
    )
    by_site = fields.Dict(metadata={"description": "admins only: site -> status -> count"})
    held_back = fields.Raw(required=True)
    released_at = fields.DateTime(
        allow_none=True, metadata={"description": "partners: when these figures were released"}
    )
    notice = fields.String(
        allow_none=True,
        metadata={"description": "partners: why the figures are not this week's (budget used up)"},
    )
    privacy = fields.Nested(
        PrivacySchema, metadata={"description": "partners: their organisation's privacy budget"}
    )
