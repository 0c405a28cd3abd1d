"""Follow-up in the facts row and the site worklist, both from the schedule's progress
(``registry.assessments.schedule``) over the ratings ``ratings_of`` reads, so the columns,
the worklist and the report cannot disagree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select

from registry.assessments.outcomes import Rating
from registry.assessments.schedule import (
    LEAVES_SCHEDULE,
    SCHEDULE,
    VISIT_KEYS,
    WORKLIST_STATUSES,
    VisitProgress,
    visit_progress,
)
from registry.audit.actions import Actor
from registry.auth.models import Site, User
from registry.auth.permissions import Permission
from registry.db import session
from registry.errors import Forbidden, ValidationFailed
from registry.facts.outcomes import ratings_of
from registry.participants.identity import Identity, read_identities
from registry.participants.models import STATUS_SHREDDED, Participant, ParticipantFacts
from registry.participants.queries import format_nhs_number, identifiable_to
from registry.participants.schemas import age_on

FOLLOWUP_COLUMNS = {key: f"followup_{key}" for key in VISIT_KEYS}
# The schedule names its visits from VISIT_KEYS; each needs its column (migration 0016).
_missing = [c for c in FOLLOWUP_COLUMNS.values() if c not in ParticipantFacts.__table__.c]
if _missing:  # pragma: no cover - a schema and code out of step, caught at start-up
    raise RuntimeError(f"participant_facts lacks {', '.join(_missing)}")


def followup_columns(participant: Mapping[str, Any], ratings: Sequence[Rating]) -> dict[str, Any]:
    """The facts row's follow-up columns for a participant given as their column values:
    each of their cohort's visits complete, partial or none; other visits null."""
    values: dict[str, Any] = dict.fromkeys(FOLLOWUP_COLUMNS.values())
    values["followup_schedule"] = None
    cohort, enrolled_on = str(participant.get("cohort")), participant.get("enrolled_on")
    if cohort not in SCHEDULE.protocols or not isinstance(enrolled_on, dt.date):
        return values
    for progress in visit_progress(
        cohort, enrolled_on, ((r.instrument, r.administered_on) for r in ratings)
    ):
        values[FOLLOWUP_COLUMNS[progress.visit.visit]] = progress.state
    values["followup_schedule"] = SCHEDULE.version
    return values


# -- the site worklist --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DueVisit:
    """One visit on the worklist: whose, where it stands today, and what is left to do."""

    participant: Participant
    progress: VisitProgress
    status: str  # one of WORKLIST_STATUSES


@dataclass(frozen=True, slots=True)
class DueFilter:
    site: str | None = None  # a site code; admins only
    cohort: str | None = None
    visit: str | None = None
    status: str | None = None


def due_visits(user: User, *, today: dt.date, only: DueFilter = DueFilter()) -> list[DueVisit]:
    """The visits due, in window or lately overdue on ``today``, most urgent (earliest
    closing) first: a clinician's own site's, or for an admin every site's (or one's).

    Everyone still on the schedule is read (a site's enrolments of the last few years), with
    their assessments in one query; the worklist's statuses depend on the day, so they are
    worked out here rather than stored."""
    if not user.can(Permission.VIEW_FOLLOW_UP):
        raise Forbidden()
    statement = select(Participant).where(
        Participant.status != STATUS_SHREDDED,
        or_(
            Participant.withdrawal_level.is_(None),
            Participant.withdrawal_level.not_in(LEAVES_SCHEDULE),
        ),
        Participant.enrolled_on >= _still_listed_since(today),
    )
    if identifiable_to(user):
        if only.site is not None and (user.site is None or only.site != user.site.code):
            raise ValidationFailed({"site": ["Clinicians see their own site's follow-up."]})
        statement = statement.where(Participant.site_id == user.site_id)
    elif only.site is not None:
        statement = statement.where(
            Participant.site_id.in_(select(Site.id).where(Site.code == only.site))
        )
    if only.cohort is not None:
        statement = statement.where(Participant.cohort == only.cohort)
    participants = list(session().scalars(statement))
    ratings = ratings_of([p.id for p in participants])
    listed = []
    for participant in participants:
        assert participant.enrolled_on is not None  # compared above
        for progress in visit_progress(
            participant.cohort,
            participant.enrolled_on,
            ((r.instrument, r.administered_on) for r in ratings[participant.id]),
        ):
            if only.visit is not None and progress.visit.visit != only.visit:
                continue
            status = progress.status_on(today, SCHEDULE.overdue_listed_for)
            if status in WORKLIST_STATUSES and only.status in (None, status):
                listed.append(DueVisit(participant, progress, status))
    listed.sort(key=lambda due: (due.progress.closes_on, due.participant.participant_id))
    return listed


def _still_listed_since(today: dt.date) -> dt.date:
    """The earliest enrolment date whose last visit may still be on the worklist today; a
    week's margin for months that end short."""
    earliest = today
    for protocol in SCHEDULE.protocols.values():
        last = protocol.visits[-1]
        closed = SCHEDULE.overdue_listed_for.before(today)
        earliest = min(earliest, last.due.before(last.after.before(closed)))
    return earliest - dt.timedelta(weeks=1)


def due_visit_views(
    visits: Sequence[DueVisit], *, user: User, by: Actor, purpose: str, today: dt.date
) -> list[dict[str, Any]]:
    """A page of the worklist as ``user`` may see it: for a clinician with the patient
    banner's fields, every identity decrypted in one audited read (as the participant
    list does); for an admin, by registry id alone."""
    people = list({due.participant.id: due.participant for due in visits}.values())
    identities: dict[int, Identity] = {}
    if identifiable_to(user) and people:
        read = read_identities(people, by=by, purpose=purpose)
        identities = {p.id: identity for p, identity in zip(people, read, strict=True)}
    sites = {
        site.id: site.code
        for site in session().scalars(select(Site).where(Site.id.in_({p.site_id for p in people})))
    }
    views = []
    for due in visits:
        participant, progress = due.participant, due.progress
        view: dict[str, Any] = {
            "participant_id": participant.participant_id,
            "cohort": participant.cohort,
            "site": sites.get(participant.site_id),
            "visit": progress.visit.visit,
            "visit_label": progress.visit.label,
            "status": due.status,
            "opens_on": progress.opens_on,
            "due_on": progress.due_on,
            "closes_on": progress.closes_on,
            "scales_due": list(progress.remaining),
            "scales_done": list(progress.done),
        }
        identity = identities.get(participant.id)
        if identity is not None:
            view |= {
                "nhs_number": format_nhs_number(identity.nhs_number),
                "given_name": identity.given_name,
                "family_name": identity.family_name,
                "date_of_birth": identity.date_of_birth,
                "age": age_on(identity.date_of_birth, today),
            }
        views.append(view)
    return views
