"""Roles and what each may do. Checked at the edge (decorators) and again in queries."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    CLINICIAN = "clinician"
    RESEARCHER = "researcher"
    ADMIN = "admin"
    PARTNER = "partner"


class Permission(StrEnum):
    VIEW_OWN_ACCOUNT = "view_own_account"
    ENROL_PARTICIPANTS = "enrol_participants"
    VIEW_IDENTIFIABLE_OWN_SITE = "view_identifiable_own_site"
    VIEW_PARTICIPANTS = "view_participants"
    RECORD_CLINICAL_DATA = "record_clinical_data"
    QUERY_ELIGIBILITY = "query_eligibility"
    QUERY_EXACT_COUNTS = "query_exact_counts"
    QUERY_CONTROLLED_COUNTS = "query_controlled_counts"
    VIEW_REPRESENTATIVENESS = "view_representativeness"
    MANAGE_REPORTS = "manage_reports"
    SUBMIT_RECRUITMENT_REQUESTS = "submit_recruitment_requests"
    DECIDE_RECRUITMENT_REQUESTS = "decide_recruitment_requests"
    WORK_CONTACT_LISTS = "work_contact_lists"
    VIEW_RECRUITMENT_REQUESTS = "view_recruitment_requests"
    FOLLOW_RECRUITMENT_FUNNELS = "follow_recruitment_funnels"
    CLOSE_RECRUITMENT_REQUESTS = "close_recruitment_requests"
    MANAGE_USERS = "manage_users"
    MANAGE_CONSENT_FORMS = "manage_consent_forms"
    VIEW_CONSENT_FORMS = "view_consent_forms"
    RECORD_WITHDRAWALS = "record_withdrawals"
    READ_AUDIT = "read_audit"
    VIEW_GRANTS = "view_grants"
    MANAGE_GRANTS = "manage_grants"
    EXPORT_DATA = "export_data"
    MANAGE_PRIVACY_BUDGETS = "manage_privacy_budgets"
    VIEW_FOLLOW_UP = "view_follow_up"  # the follow-up worklist: own site, or all for admins


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.CLINICIAN: frozenset(
        {
            Permission.VIEW_OWN_ACCOUNT,
            Permission.ENROL_PARTICIPANTS,
            Permission.VIEW_PARTICIPANTS,
            Permission.VIEW_IDENTIFIABLE_OWN_SITE,
            Permission.RECORD_CLINICAL_DATA,
            Permission.VIEW_CONSENT_FORMS,
            Permission.WORK_CONTACT_LISTS,
            Permission.VIEW_RECRUITMENT_REQUESTS,
            Permission.VIEW_FOLLOW_UP,
        }
    ),
    Role.RESEARCHER: frozenset(
        {
            Permission.VIEW_OWN_ACCOUNT,
            Permission.VIEW_PARTICIPANTS,
            Permission.QUERY_ELIGIBILITY,
            Permission.QUERY_EXACT_COUNTS,
            Permission.VIEW_REPRESENTATIVENESS,
            Permission.VIEW_GRANTS,
            Permission.EXPORT_DATA,
        }
    ),
    Role.ADMIN: frozenset(
        {
            Permission.VIEW_OWN_ACCOUNT,
            Permission.MANAGE_USERS,
            Permission.MANAGE_CONSENT_FORMS,
            Permission.VIEW_CONSENT_FORMS,
            Permission.RECORD_WITHDRAWALS,
            Permission.DECIDE_RECRUITMENT_REQUESTS,
            Permission.VIEW_RECRUITMENT_REQUESTS,
            Permission.FOLLOW_RECRUITMENT_FUNNELS,
            Permission.CLOSE_RECRUITMENT_REQUESTS,
            Permission.VIEW_REPRESENTATIVENESS,
            Permission.MANAGE_REPORTS,
            Permission.READ_AUDIT,
            Permission.VIEW_FOLLOW_UP,
            Permission.VIEW_GRANTS,
            Permission.MANAGE_GRANTS,
            Permission.MANAGE_PRIVACY_BUDGETS,
        }
    ),
    Role.PARTNER: frozenset(
        {
            Permission.VIEW_OWN_ACCOUNT,
            Permission.QUERY_ELIGIBILITY,
            Permission.QUERY_CONTROLLED_COUNTS,
            Permission.SUBMIT_RECRUITMENT_REQUESTS,
            Permission.VIEW_RECRUITMENT_REQUESTS,
            Permission.FOLLOW_RECRUITMENT_FUNNELS,
            Permission.CLOSE_RECRUITMENT_REQUESTS,
        }
    ),
}

# Roles whose accounts reach identifiable data or govern it: a second factor is required.
SECOND_FACTOR_ROLES = frozenset({Role.CLINICIAN, Role.ADMIN})

# What each role is told it can do on its home page (plain words, not permission names).
ROLE_SUMMARIES: dict[Role, list[str]] = {
    Role.CLINICIAN: [
        "Enrol consenting patients into the early psychosis and treatment-resistant "
        "depression cohorts at your site",
        "View and correct your own site's participants, record assessments and treatment "
        "trials, and take re-consent",
        "Work the contact lists of approved recruitment requests for your site",
    ],
    Role.RESEARCHER: [
        "Query the cohorts and see exact counts",
        "See participant rows under a data-access grant that names you, keyed by the "
        "study's pseudonym (never names, NHS numbers or contact details)",
        "Read the representativeness report for each cohort",
        "Download pseudonymised extracts (CSV, Parquet or FHIR) of the studies whose "
        "data-access grants name you",
    ],
    Role.ADMIN: [
        "Manage users, sites and consent-form versions",
        "Record withdrawals and decide on recruitment requests",
        "Read and verify the audit log",
        "Record data-access grants for approved studies and the researchers on them",
    ],
    Role.PARTNER: [
        "Run eligibility counts (small numbers are shown as \u201c<10\u201d, others rounded to 5)",
        "Submit recruitment requests and follow them through disclosure-controlled counts",
    ],
}


def has_permission(role: Role, permission: Permission) -> bool:
    return permission in ROLE_PERMISSIONS[role]
