"""Liveness and readiness for load balancers and monitoring."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from registry.api.blueprint import RegistryBlueprint
from registry.db import session

blp = RegistryBlueprint("health", __name__, description="Service health")


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"example": "ok"})
    database = fields.String(required=True, metadata={"example": "ok"})


@blp.route("/health")
@blp.response(200, HealthSchema)
@blp.alt_response(503, schema=HealthSchema, description="The database is unreachable")
@blp.doc(security=[])
def health() -> Any:
    """Whether the service and its database answer. Needs no authentication."""
    try:
        session().execute(text("SELECT 1"))
    except SQLAlchemyError:
        # The 503 makes the request boundary roll back what the failed probe left.
        return {"status": "unavailable", "database": "unreachable"}, 503
    return {"status": "ok", "database": "ok"}
