"""Each role's sections in the header's navigation, as data: label, where it goes, who sees
it, and which pages belong to it (for the "current section" mark)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import request, url_for

from registry.auth.permissions import Role


@dataclass(frozen=True)
class Section:
    label: str
    endpoint: str
    roles: frozenset[Role]
    # Blueprints (``name.``) or endpoints whose pages are part of this section.
    covers: tuple[str, ...]
    values: dict[str, Any] = field(default_factory=dict)  # url_for's arguments

    def is_current(self, endpoint: str | None) -> bool:
        if not endpoint:
            return False
        return any(
            endpoint == part or (part.endswith(".") and endpoint.startswith(part))
            for part in self.covers
        )


def current_section(sections: list[Section], endpoint: str | None) -> Section | None:
    """The section a page belongs to: one naming its endpoint, else one covering its area."""
    exact = [s for s in sections if endpoint in s.covers]
    covering = exact or [s for s in sections if s.is_current(endpoint)]
    return covering[0] if covering else None


def _for(*roles: Role) -> frozenset[Role]:
    return frozenset(roles)


CLINICIAN, RESEARCHER, PARTNER, ADMIN = Role.CLINICIAN, Role.RESEARCHER, Role.PARTNER, Role.ADMIN

# In the order the header shows them.
SECTIONS: tuple[Section, ...] = (
    Section("Dashboard", "home.index", _for(ADMIN), ("home.index", "admin_dashboard.")),
    Section(
        "Participants",
        "participants_web.index",
        _for(CLINICIAN),
        ("participants_web.",),
    ),
    Section("Follow-up due", "followup_web.due", _for(CLINICIAN), ("followup_web.",)),
    Section(
        "Enrol",
        "participants_web.enrol",
        _for(CLINICIAN),
        ("participants_web.enrol",),
        {"cohort": "TRD"},
    ),
    Section(
        "Participants",
        "consents.find_participant",
        _for(ADMIN),
        ("consents.find_participant", "consents.participant", "consents.withdraw"),
    ),
    Section("Queries", "eligibility_web.query", _for(RESEARCHER, PARTNER), ("eligibility_web.",)),
    # A clinician's contact lists are on the recruitment requests' pages.
    Section("Contact lists", "recruitment_web.index", _for(CLINICIAN), ("recruitment_web.",)),
    Section("Requests", "recruitment_web.index", _for(PARTNER, ADMIN), ("recruitment_web.",)),
    Section("Users", "admin_users.index", _for(ADMIN), ("admin_users.",)),
    Section("Sites", "admin_sites.index", _for(ADMIN), ("admin_sites.",)),
    Section("Grants", "admin_grants.index", _for(ADMIN), ("admin_grants.", "exports_web.")),
    Section("Grants", "exports_web.index", _for(RESEARCHER), ("exports_web.",)),
    Section(
        "Consent forms", "consents.manage", _for(ADMIN), ("consents.manage", "consents.reconsent")
    ),
    Section("Reports", "reports_web.index", _for(RESEARCHER, ADMIN), ("reports_web.",)),
    Section("Audit", "admin_audit.index", _for(ADMIN), ("admin_audit.",)),
)


def sections_for(role: Role) -> list[Section]:
    return [section for section in SECTIONS if role in section.roles]


def nav_items(user: Any) -> list[dict[str, Any]]:
    """The header's navigation items for this user, the current section marked."""
    sections = sections_for(user.role)
    current = current_section(sections, request.endpoint)
    return [
        {
            "href": url_for(section.endpoint, **section.values),
            "text": section.label,
            "current": section is current,
        }
        for section in sections
    ]
