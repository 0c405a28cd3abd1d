"""Imports every model module so that Base.metadata knows every table (for Alembic)."""

from registry.audit.models import AuditChainHead, AuditEvent
from registry.auth.models import ApiToken, Site, User
from registry.consents.models import ConsentForm
from registry.participants.models import NhsNumberIndex, Participant, ParticipantKey

__all__ = [
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "ConsentForm",
    "NhsNumberIndex",
    "Participant",
    "ParticipantKey",
    "Site",
    "User",
]
