"""The audit log, for admins."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select

from registry.api.audit_schemas import AuditArgs, AuditPageSchema
from registry.api.blueprint import RegistryBlueprint, SelectPage
from registry.audit.queries import audit_events
from registry.auth.permissions import Permission
from registry.auth.session import requires

blp = RegistryBlueprint("audit", __name__, description="The append-only audit log")


@blp.route("/audit")
@requires(Permission.READ_AUDIT)
@blp.arguments(AuditArgs, location="query")
@blp.response(200, AuditPageSchema)
@blp.paginate(SelectPage)
def list_events(args: dict[str, Any]) -> Select[Any]:
    """Audit events, newest first, filterable by actor (``user:<id>`` or ``command line``),
    action, participant, outcome and a range of days."""
    return audit_events(**args)
