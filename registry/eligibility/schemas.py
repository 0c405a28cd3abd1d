"""Eligibility request and response shapes. The criteria document itself is checked by
``criteria.parse_criteria``, which names the exact path of each problem."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

CRITERIA_DESCRIPTION = (
    "A criteria document: optional cohort, and nested all / any / none groups of "
    "{field, op, value}; see GET /eligibility/fields for the fields and operators."
)


class CountArgs(Schema):
    criteria = fields.Raw(required=True, metadata={"description": CRITERIA_DESCRIPTION})
    breakdown = fields.List(
        fields.String(),
        load_default=list,
        metadata={"description": 'up to two coded fields, e.g. ["site", "ethnicity_group"]'},
    )


class CountSchema(Schema):
    count = fields.Raw(
        required=True,
        metadata={"description": 'exact for researchers; for partners "<10" or a multiple of 5'},
    )
    breakdown = fields.Dict(metadata={"description": "fields, cells (and totals in 2-D)"})


class ParticipantsArgs(Schema):
    criteria = fields.Raw(required=True, metadata={"description": CRITERIA_DESCRIPTION})
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))


class CatalogueSchema(Schema):
    version = fields.String(required=True)
    operators = fields.List(fields.String(), required=True)
    fields_ = fields.List(fields.Dict(), required=True, data_key="fields")
