"""Schemas shared by every endpoint: the error envelope and the one shape of a page."""

from __future__ import annotations

from typing import Any

from flask_smorest.pagination import PaginationParameters
from marshmallow import EXCLUDE, Schema, fields, post_load

from registry.exports.schemas import GrantParticipantSchema
from registry.fields import PageArgs


class ErrorBodySchema(Schema):
    status = fields.Integer(required=True, metadata={"description": "HTTP status"})
    code = fields.String(required=True, metadata={"description": "machine-readable error code"})
    message = fields.String(required=True, metadata={"description": "what went wrong, in words"})
    field_errors = fields.Dict(
        data_key="fields",
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "field name -> messages, for validation errors"},
    )


class ErrorSchema(Schema):
    error = fields.Nested(ErrorBodySchema, required=True)


# -- pages ------------------------------------------------------------------------------------


PAGE_PARAMETERS = frozenset({"page", "per_page"})


class PageQueryArgs(PageArgs):
    """``@blp.paginate``'s query arguments, loaded into flask-smorest's own parameters; the
    endpoint's other query arguments are its own schema's."""

    class Meta:
        unknown = EXCLUDE

    @post_load
    def _parameters(self, data: dict[str, int], **kwargs: Any) -> PaginationParameters:
        return PaginationParameters(page=data["page"], page_size=data["per_page"])


def page_body(parameters: PaginationParameters, items: Any, **extra: Any) -> dict[str, Any]:
    """A page in the shape every paginated endpoint answers (``PageSchema``)."""
    return {
        **extra,
        "page": parameters.page,
        "per_page": parameters.page_size,
        "total": parameters.item_count,
        "items": items,
    }


class PageSchema(Schema):
    """The one shape of every paginated answer; a subclass declares its ``items``."""

    page = fields.Integer(required=True)
    per_page = fields.Integer(required=True)
    total = fields.Integer(required=True, metadata={"description": "on every page"})


class GrantParticipantPageSchema(PageSchema):
    """A page of a data-access grant's rows (the participant list and eligibility)."""

    grant = fields.String(required=True, metadata={"description": "the grant's public id"})
    total = fields.Integer(
        required=True, metadata={"description": "participants the grant holds, on every page"}
    )
    items = fields.List(
        fields.Nested(GrantParticipantSchema),
        required=True,
        metadata={"description": "in pseudonym order; never a registry id"},
    )
