"""Admins' view of partners' privacy budgets, and the one input: an organisation's allowance."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from registry.input_rules import InputSchema
from registry.privacy.models import ORGANISATION_MAX

# Far above any sensible allowance (10 rho is epsilon of about 30 at delta 1e-6, no
# guarantee at all), so a slip of the decimal point (25 for 0.25) is refused, not obeyed.
MAX_ALLOWANCE = 10.0
ALLOWANCE_MESSAGE = (
    f"Give an allowance from 0 to {MAX_ALLOWANCE:g} (zCDP rho per period), or null for the default."
)


class AllowanceArgs(InputSchema):
    organisation = fields.String(
        required=True,
        validate=validate.Length(min=1, max=ORGANISATION_MAX),
        metadata={"description": "the partner organisation, as its accounts name it"},
    )
    allowance = fields.Float(
        required=True,
        allow_none=True,
        validate=validate.Range(min=0, max=MAX_ALLOWANCE, error=ALLOWANCE_MESSAGE),
        error_messages={"invalid": ALLOWANCE_MESSAGE},
        metadata={
            "description": "zCDP rho per rolling period; null restores the registry's default"
        },
    )


class OrganisationBudgetSchema(Schema):
    organisation = fields.String(required=True)
    allowance = fields.Float(required=True, metadata={"description": "zCDP rho per period"})
    allowance_is_default = fields.Boolean(
        required=True, metadata={"description": "the registry's default, not one of its own"}
    )
    spent = fields.Float(required=True, metadata={"description": "rho spent in the period"})
    remaining = fields.Float(required=True, metadata={"description": "rho left of it"})
    questions_per_period = fields.Integer(
        required=True, metadata={"description": "new questions the allowance pays for"}
    )
    questions_left = fields.Integer(
        required=True, metadata={"description": "new questions the remaining budget pays for"}
    )
    period_ends = fields.DateTime(
        required=True,
        allow_none=True,
        metadata={"description": "when the oldest charge leaves the period and budget returns"},
    )
    epsilon_spent = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "the spent rho as epsilon at delta"},
    )
    epsilon_allowance = fields.Float(
        required=True,
        allow_none=True,
        metadata={"description": "the allowance as epsilon at delta; null: beyond stating"},
    )


class BudgetListSchema(Schema):
    items = fields.List(fields.Nested(OrganisationBudgetSchema), required=True)
    default_allowance = fields.Float(required=True, metadata={"description": "zCDP rho"})
    question_cost = fields.Float(
        required=True, metadata={"description": "zCDP rho a new question costs"}
    )
    period_days = fields.Integer(required=True)
    delta = fields.Float(required=True, metadata={"description": "the delta of each epsilon"})
