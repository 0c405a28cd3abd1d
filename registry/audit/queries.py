"""Reads of the audit log (admins only; the permission is checked at the edge too)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, select

from registry.audit.models import AuditEvent, AuditVerification
from registry.db import session

# What the audit-log page and the API call events recorded by the command line (whoever
# ran it is in the event, as cli:<os user>).
COMMAND_LINE = "command line"


def audit_events(
    *,
    actor: str | None = None,
    action: str | None = None,
    participant_id: str | None = None,
    outcome: str | None = None,
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> Select[AuditEvent]:
    """Events, newest first. ``actor`` is an actor label (``user:7``) or "command line";
    ``since`` and ``until`` are whole UTC days, both included."""
    statement = select(AuditEvent).order_by(AuditEvent.seq.desc())
    if actor and actor.strip().lower() == COMMAND_LINE:
        statement = statement.where(AuditEvent.actor.like("cli:%"))
    elif actor:
        statement = statement.where(AuditEvent.actor == actor)
    if action:
        statement = statement.where(AuditEvent.action == action)
    if participant_id:
        statement = statement.where(AuditEvent.participant_id == participant_id)
    if outcome:
        statement = statement.where(AuditEvent.outcome == outcome)
    # ``at`` is ISO 8601 UTC text, so whole days compare as text.
    if since:
        statement = statement.where(AuditEvent.at >= since.isoformat())
    if until:
        statement = statement.where(AuditEvent.at < (until + dt.timedelta(days=1)).isoformat())
    return statement


def latest_event(action: str) -> AuditEvent | None:
    """The newest event of this action (the latest chain check, the latest anchor)."""
    return session().scalar(
        select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq.desc())
    )


def latest_verification() -> AuditVerification | None:
    """The newest recorded check of the chain, from the page or the command line."""
    return session().scalar(
        select(AuditVerification)
        .order_by(AuditVerification.verified_at.desc(), AuditVerification.id.desc())
        .limit(1)
    )
