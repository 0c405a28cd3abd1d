"""Eligibility request and response shapes. The criteria document itself is checked by
``criteria.parse_criteria``, which names the exact path of each problem."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, pre_dump, validate

from registry.eligibility.commands import (
    CountEligible,
    MatchParticipants,
    SaveQuery,
    SaveQueryVersion,
)
from registry.exports.rows import GRANT_REQUIRED
from registry.fields import StrictBoolean
from registry.input_rules import CommandSchema

CRITERIA_DESCRIPTION = (
    "A criteria document: optional cohort, and nested all / any / none groups of "
    "{field, op, value}; see GET /eligibility/fields for the fields and operators."
)


class CountArgs(CommandSchema[CountEligible]):
    command = CountEligible

    criteria = fields.Raw(required=True, metadata={"description": CRITERIA_DESCRIPTION})
    breakdown = fields.List(
        fields.String(),
        load_default=list,
        metadata={"description": 'up to two coded fields, e.g. ["site", "ethnicity_group"]'},
    )


class PrivacySchema(Schema):
    """A partner organisation's privacy budget after an answer, in zCDP rho."""

    cost = fields.Float(
        required=True, metadata={"description": "what this answer cost; 0 if given before"}
    )
    spent = fields.Float(
        required=True, metadata={"description": "spent in the rolling period, this included"}
    )
    remaining = fields.Float(
        required=True, metadata={"description": "left of the allowance for the period"}
    )
    period_ends = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "when the oldest charge leaves the period and budget returns"},
    )


class CountSchema(Schema):
    count = fields.Raw(
        required=True,
        metadata={
            "description": 'exact for researchers; for partners, after noise, "<10" or a '
            "multiple of 5"
        },
    )
    breakdown = fields.Dict(metadata={"description": "fields, cells (and totals in 2-D)"})
    privacy = fields.Nested(
        PrivacySchema,
        metadata={"description": "partners only: their organisation's privacy budget"},
    )


class ParticipantsArgs(CommandSchema[MatchParticipants]):
    """The page is asked for beside these (``registry.fields.PageArgs``)."""

    command: type[MatchParticipants] = MatchParticipants  # the API's loads a subclass

    criteria = fields.Raw(
        required=True,
        metadata={
            "description": CRITERIA_DESCRIPTION + " Only fields the grant's variables "
            "already show may be used."
        },
    )
    grant = fields.String(
        required=True,
        validate=validate.Length(min=1, max=24),
        error_messages={"required": GRANT_REQUIRED},
        metadata={
            "description": "the id of a data-access grant naming you: rows come keyed by "
            "its study pseudonym, with its variables alone"
        },
    )


class ChoiceSchema(Schema):
    value = fields.String(required=True, metadata={"description": "the code criteria send"})
    label = fields.String(required=True, metadata={"description": 'in words, e.g. "Female"'})


class CatalogueFieldSchema(Schema):
    name = fields.String(required=True)
    label = fields.String(required=True, metadata={"description": "the field in words"})
    group = fields.String(
        required=True, metadata={"description": "demographics, diagnosis, scores, ..."}
    )
    type = fields.String(required=True)
    operators = fields.List(fields.String(), required=True)
    description = fields.String(required=True, metadata={"description": "help text"})
    # Read from "values_": on a dict, a missing "values" would be read as dict.values.
    values_ = fields.List(
        fields.String(),
        data_key="values",
        metadata={
            "description": "a coded field's codes; criteria may also give a value by its "
            "label, case-insensitively"
        },
    )
    choices = fields.List(
        fields.Nested(ChoiceSchema), metadata={"description": "each code with its label"}
    )
    range = fields.Dict(metadata={"description": "min and max of a number"})
    max_length = fields.Integer()

    @pre_dump
    def _values(self, field: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        return {**field, "values_": field["values"]} if "values" in field else field


class CatalogueSchema(Schema):
    version = fields.String(required=True)
    operators = fields.List(fields.String(), required=True)
    fields_ = fields.List(fields.Nested(CatalogueFieldSchema), required=True, data_key="fields")


BREAKDOWN_DESCRIPTION = 'up to two coded fields to break the count down by, e.g. ["site"]'


class SavedQueryArgs(CommandSchema[SaveQuery]):
    command = SaveQuery

    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    criteria = fields.Raw(required=True, metadata={"description": CRITERIA_DESCRIPTION})
    breakdown = fields.List(
        fields.String(), load_default=list, metadata={"description": BREAKDOWN_DESCRIPTION}
    )
    shared = StrictBoolean(
        load_default=False,
        metadata={
            "description": "visible to, and versioned by, the others of your role in your "
            "organisation"
        },
    )


class SavedQueryVersionArgs(CommandSchema[SaveQueryVersion]):
    command = SaveQueryVersion

    criteria = fields.Raw(required=True, metadata={"description": CRITERIA_DESCRIPTION})
    breakdown = fields.List(
        fields.String(), load_default=list, metadata={"description": BREAKDOWN_DESCRIPTION}
    )


class PersonSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class SavedQueryVersionSchema(Schema):
    version = fields.Integer(required=True)
    criteria = fields.Raw(required=True, metadata={"description": "the document as saved"})
    normalised = fields.String(required=True, metadata={"description": "its canonical form"})
    breakdown = fields.List(fields.String(), required=True)
    catalogue_version = fields.String(
        required=True, metadata={"description": "the field catalogue it was written against"}
    )
    author = fields.Nested(PersonSchema, required=True)
    created_at = fields.DateTime(required=True)


class SavedQuerySchema(Schema):
    query_id = fields.String(required=True)
    name = fields.String(required=True)
    owner = fields.Nested(PersonSchema, required=True)
    organisation = fields.String(allow_none=True)
    role = fields.String(
        required=True,
        metadata={"description": "the owner's; a shared query is shared with this role alone"},
    )
    shared = fields.Boolean(required=True)
    created_at = fields.DateTime(required=True)
    latest = fields.Nested(SavedQueryVersionSchema, required=True)
    versions = fields.List(
        fields.Nested(SavedQueryVersionSchema), metadata={"description": "oldest first"}
    )


class SavedQueryListSchema(Schema):
    items = fields.List(fields.Nested(SavedQuerySchema), required=True)
