"""Imports every model module so that Base.metadata knows every table (for Alembic)."""

from registry.audit.models import AuditChainHead, AuditEvent
from registry.auth.models import ApiToken, Site, User

__all__ = ["ApiToken", "AuditChainHead", "AuditEvent", "Site", "User"]
