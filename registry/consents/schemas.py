"""Consent-form output."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from registry.participants.models import COHORTS


class ConsentFormSchema(Schema):
    cohort = fields.String(required=True)
    version = fields.String(required=True)
    effective_on = fields.Date(required=True)
    file_name = fields.String(required=True)
    media_type = fields.String(required=True)
    sha256 = fields.String(required=True)
    current = fields.Boolean(required=True, metadata={"description": "in force today"})


class ConsentFormArgs(Schema):
    cohort = fields.String(validate=validate.OneOf(COHORTS))
