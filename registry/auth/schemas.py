"""Output schemas for accounts."""

from __future__ import annotations

from marshmallow import Schema, fields

from registry.auth.permissions import ROLE_PERMISSIONS


class CurrentUserSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.Function(lambda user: user.role.value, required=True)
    site = fields.Function(lambda user: user.site.code if user.site else None, allow_none=True)
    organisation = fields.String(allow_none=True)
    permissions = fields.Function(
        lambda user: sorted(p.value for p in ROLE_PERMISSIONS[user.role]), required=True
    )
