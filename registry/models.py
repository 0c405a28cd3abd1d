"""Imports every model module so that Base.metadata knows every table (for Alembic)."""

from registry.assessments.models import Assessment, TreatmentTrial
from registry.audit.models import AuditChainHead, AuditEvent, AuditVerification
from registry.auth.models import ApiToken, OneTimeSecret, Site, User
from registry.consents.models import ConsentForm, ConsentItemEvent, ConsentRecord, Withdrawal
from registry.eligibility.models import SavedQuery, SavedQueryVersion
from registry.exports.models import DataAccessGrant, DataExport, GrantResearcher
from registry.participants.models import (
    DekCacheGeneration,
    NhsNumberIndex,
    Participant,
    ParticipantCorrection,
    ParticipantFacts,
    ParticipantKey,
)
from registry.privacy.models import PrivacyBudget, PrivacyCharge, PublishedAnswer
from registry.recruitment.models import (
    ContactEvent,
    ContactListVisit,
    RecruitmentContact,
    RecruitmentRequest,
)
from registry.reports.models import DatasheetSection, LoadedReference

__all__ = [
    "ApiToken",
    "Assessment",
    "AuditChainHead",
    "AuditEvent",
    "AuditVerification",
    "ConsentForm",
    "ConsentItemEvent",
    "ConsentRecord",
    "ContactEvent",
    "ContactListVisit",
    "DataAccessGrant",
    "DataExport",
    "DatasheetSection",
    "DekCacheGeneration",
    "GrantResearcher",
    "LoadedReference",
    "NhsNumberIndex",
    "OneTimeSecret",
    "Participant",
    "ParticipantCorrection",
    "ParticipantFacts",
    "ParticipantKey",
    "PrivacyBudget",
    "PrivacyCharge",
    "PublishedAnswer",
    "RecruitmentContact",
    "RecruitmentRequest",
    "SavedQuery",
    "SavedQueryVersion",
    "Site",
    "TreatmentTrial",
    "User",
    "Withdrawal",
]
