"""Output schemas for accounts."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from registry.auth.commands import AddSite
from registry.auth.permissions import ROLE_PERMISSIONS
from registry.input_rules import CommandSchema


class CurrentUserSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    role = fields.Function(lambda user: user.role.value, required=True)
    site = fields.Function(lambda user: user.site.code if user.site else None, allow_none=True)
    organisation = fields.String(allow_none=True)
    permissions = fields.Function(
        lambda user: sorted(p.value for p in ROLE_PERMISSIONS[user.role]), required=True
    )


class SiteSchema(Schema):
    code = fields.String(required=True, metadata={"example": "RXT"})
    name = fields.String(required=True)


class SiteArgs(CommandSchema[AddSite]):
    command = AddSite

    code = fields.String(
        required=True,
        validate=[
            validate.Length(min=2, max=16),
            validate.Regexp(r"^[A-Za-z0-9]+$", error="Use letters and digits only, e.g. RXT."),
        ],
    )
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
