"""Audit log input and output."""

from __future__ import annotations

import json

from marshmallow import Schema, fields, validate

from registry.api.schemas import PageSchema
from registry.input_rules import InputSchema


class AuditEventSchema(Schema):
    seq = fields.Integer(required=True)
    at = fields.String(required=True)
    actor = fields.String(required=True)
    role = fields.String(allow_none=True)
    action = fields.String(required=True)
    target_type = fields.String(allow_none=True)
    target_id = fields.String(allow_none=True)
    participant_id = fields.String(allow_none=True)
    purpose = fields.String(allow_none=True)
    outcome = fields.String(required=True)
    request_id = fields.String(allow_none=True)
    details = fields.Function(lambda event: json.loads(event.details), required=True)


class AuditPageSchema(PageSchema):
    items = fields.List(fields.Nested(AuditEventSchema), required=True)


class AuditArgs(InputSchema):
    actor = fields.String(validate=validate.Length(max=64))
    action = fields.String(validate=validate.Length(max=64))
    participant_id = fields.String(validate=validate.Length(max=40))
    outcome = fields.String(validate=validate.Length(max=16))
    since = fields.Date(metadata={"description": "From this UTC day, included"})
    until = fields.Date(metadata={"description": "To this UTC day, included"})
