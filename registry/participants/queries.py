"""Reads of participants, limited by who is asking, and the views of one participant.

Clinicians see their own site's participants, identifiable (each read audited through
``read_identity``). A participant another site's clinician asks for is "not found", never
"forbidden": the answer must not confirm that someone is enrolled elsewhere. Nobody else
reads participants by registry id: researchers see rows only under a data-access grant,
keyed by the study's pseudonym (``registry.exports.rows``). What a participant's row shows
beside their identity (scores, consent, facts) is ``registry.facts.participant_views``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Select, func, select

from registry import clock
from registry.audit.actions import Actor, record_event
from registry.auth.models import Site, User
from registry.auth.permissions import Permission, Role
from registry.db import session
from registry.errors import Forbidden, NoParticipantWithThisNumber, NotFound
from registry.participants.age_bands import band_for_age
from registry.participants.identity import find_by_nhs_number
from registry.participants.models import STATUS_SHREDDED, Participant
from registry.participants.schemas import age_on


def age_band(participant: Participant, today: dt.date | None = None) -> str:
    if not participant.birth_year or not participant.birth_month:
        return "unknown"
    birth = dt.date(participant.birth_year, participant.birth_month, 1)
    return age_band_on(birth, today or clock.today())


def age_band_on(birth_month_start: dt.date | None, day: dt.date | None) -> str:
    """The census age band on ``day`` of someone born in the month starting on that date."""
    if birth_month_start is None or day is None:
        return "unknown"
    return band_for_age(age_on(birth_month_start, day)).participant_label


def identifiable_to(user: User) -> bool:
    return user.can(Permission.VIEW_IDENTIFIABLE_OWN_SITE)


def visible_participants(user: User) -> Select[Participant]:
    """Every participant of the clinician's own site (tombstones excluded), newest first."""
    if not identifiable_to(user):
        # A row keyed by the registry id links every study's pseudonyms back to one person.
        raise Forbidden()
    return (
        select(Participant)
        .where(Participant.status != STATUS_SHREDDED, Participant.site_id == user.site_id)
        .order_by(Participant.id.desc())
    )


def visible_participant(user: User, participant_id: str) -> Participant:
    participant = session().scalar(
        visible_participants(user).where(Participant.participant_id == participant_id)
    )
    if participant is None:
        raise NotFound("There is no participant with this id that you can see.")
    return participant


def fully_withdrawn_participant(user: User, participant_id: str) -> Participant | None:
    """The tombstone of one of the clinician's own site's participants who withdrew fully, so
    an old link can say they left; None for any other site's (no existence oracle)."""
    if not identifiable_to(user):
        raise Forbidden()
    return session().scalar(
        select(Participant).where(
            Participant.participant_id == participant_id,
            Participant.site_id == user.site_id,
            Participant.status == STATUS_SHREDDED,
        )
    )


def participant_for_admin(participant_id: str) -> Participant:
    """Any site's participant, tombstones included: admins record withdrawals by id."""
    participant = session().scalar(
        select(Participant).where(Participant.participant_id == participant_id)
    )
    if participant is None:
        raise NotFound("There is no participant with this id.")
    return participant


def find_visible_by_nhs_number(user: User, nhs_number: str, *, by: Actor) -> Participant:
    """Clinicians' search by NHS number (through the blind index), own site only.

    A hit is audited here; a miss raises NoParticipantWithThisNumber, which is audited as a
    refusal (the request's own transaction is rolled back).
    """
    if not identifiable_to(user):
        raise Forbidden("Only clinicians can search by NHS number.")
    found = find_by_nhs_number(nhs_number)
    if found is None or found.site_id != user.site_id or found.status == STATUS_SHREDDED:
        raise NoParticipantWithThisNumber()
    record_event(
        "participant.search_by_nhs_number",
        by=by,
        outcome="found",
        target_type="participant",
        target_id=found.participant_id,
        participant_id=found.participant_id,
    )
    return found


def format_nhs_number(digits: str) -> str:
    """NHS numbers are shown 3-3-4."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"


# -- sites, as their administrators see them ------------------------------------------------


@dataclass(frozen=True)
class SiteOverview:
    site: Site
    participants: int  # tombstones of full withdrawals excluded
    users: int  # every account of the site, active or not
    enrolling_clinicians: int  # active clinicians, who enrol at the site while it is active


def sites_overview(site_id: int | None = None) -> list[SiteOverview]:
    """Every site (or one) by code, with how many participants and users it holds."""
    participants = (
        select(func.count(Participant.id))
        .where(Participant.site_id == Site.id, Participant.status != STATUS_SHREDDED)
        .scalar_subquery()
    )
    users = select(func.count(User.id)).where(User.site_id == Site.id).scalar_subquery()
    clinicians = (
        select(func.count(User.id))
        .where(User.site_id == Site.id, User.role == Role.CLINICIAN, User.is_active.is_(True))
        .scalar_subquery()
    )
    statement = select(Site, participants, users, clinicians).order_by(Site.code)
    if site_id is not None:
        statement = statement.where(Site.id == site_id)
    return [SiteOverview(*row) for row in session().execute(statement)]
