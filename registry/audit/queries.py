"""Reads of the audit log (admins only; the permission is checked at the edge too)."""

from __future__ import annotations

from sqlalchemy import Select, select

from registry.audit.models import AuditEvent


def audit_events(
    *, actor: str | None = None, action: str | None = None, participant_id: str | None = None
) -> Select[AuditEvent]:
    statement = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if actor:
        statement = statement.where(AuditEvent.actor == actor)
    if action:
        statement = statement.where(AuditEvent.action == action)
    if participant_id:
        statement = statement.where(AuditEvent.participant_id == participant_id)
    return statement
