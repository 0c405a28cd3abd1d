"""The follow-up worklist's filters (pages and API alike) and its rows as the API gives them."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from registry.assessments.schedule import SCHEDULE, WORKLIST_STATUSES
from registry.facts.followup import DueFilter
from registry.input_rules import CommandSchema
from registry.participants.models import COHORTS


class DueListArgs(CommandSchema[DueFilter]):
    """Which of the worklist's visits; which page, the pager's own arguments say."""

    command = DueFilter

    site = fields.String(
        validate=validate.Length(min=1, max=16),
        metadata={"description": "admins: one site's code; clinicians see their own site"},
    )
    cohort = fields.String(validate=validate.OneOf(COHORTS))
    visit = fields.String(validate=validate.OneOf(SCHEDULE.visit_keys()))
    status = fields.String(
        validate=validate.OneOf(WORKLIST_STATUSES),
        metadata={
            "description": "due: window open, due date ahead; in_window: due date reached, "
            "window open; overdue: window closed lately, visit incomplete"
        },
    )


class DueVisitSchema(Schema):
    participant_id = fields.String(required=True)
    cohort = fields.String(required=True)
    site = fields.String(required=True)
    visit = fields.String(required=True, metadata={"description": "schedule.toml visit key"})
    visit_label = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(WORKLIST_STATUSES))
    opens_on = fields.Date(required=True, metadata={"description": "the window's first day"})
    due_on = fields.Date(required=True)
    closes_on = fields.Date(required=True, metadata={"description": "the window's last day"})
    scales_due = fields.List(fields.String(), required=True)
    scales_done = fields.List(fields.String(), required=True)
    # Clinicians only (their own site's participants), each read audited:
    nhs_number = fields.String(metadata={"description": "clinicians only; 3 3 4"})
    given_name = fields.String(metadata={"description": "clinicians only"})
    family_name = fields.String(metadata={"description": "clinicians only"})
    date_of_birth = fields.Date(metadata={"description": "clinicians only"})
    age = fields.Integer(metadata={"description": "clinicians only; whole years today"})
