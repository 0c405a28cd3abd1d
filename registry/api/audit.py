"""The audit log, for admins."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from sqlalchemy import func, select

from registry.api.audit_schemas import AuditArgs, AuditPageSchema
from registry.audit.queries import audit_events
from registry.auth.permissions import Permission
from registry.auth.session import requires
from registry.db import session

blp = Blueprint("audit", __name__, description="The append-only audit log")


@blp.route("/audit")
@requires(Permission.READ_AUDIT)
@blp.arguments(AuditArgs, location="query")
@blp.response(200, AuditPageSchema)
def list_events(args: dict[str, Any]) -> dict[str, Any]:
    """Audit events, newest first, filterable by actor, action and participant."""
    page, per_page = args.pop("page"), args.pop("per_page")
    statement = audit_events(**args)
    db = session()
    total = db.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    events = db.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return {"meta": {"page": page, "per_page": per_page, "total": total}, "events": events}
