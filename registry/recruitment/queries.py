"""Recruitment's reads, scoped to the user: who may see which request, and what of it.

Admins see exact figures; partners see their own organisation's requests, with figures
released through its privacy budget once a week (``released``), and nothing about anyone;
clinicians see open requests that have people at their site, and only their site's list,
identifiable and audited.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true

from registry.audit.actions import Actor
from registry.auth.models import Site, User
from registry.auth.permissions import Role
from registry.db import session, utcnow
from registry.eligibility.compiler import eligibility_condition
from registry.eligibility.criteria import parse_criteria
from registry.errors import NotFound
from registry.participants.identity import read_identity
from registry.participants.models import Participant, ParticipantFacts
from registry.participants.queries import format_nhs_number
from registry.recruitment.listing import list_if_approved_now, list_rows
from registry.recruitment.models import (
    APPROVED,
    CONTACT_STATUSES,
    HELD_BACK,
    OPEN,
    REJECTED,
    SUBMITTED,
    TO_CONTACT,
    ContactEvent,
    ContactListVisit,
    RecruitmentContact,
    RecruitmentRequest,
)
from registry.recruitment.released import Released, partner_figures

# The funnel's history goes back this many weeks: enough for a study's recruitment.
FUNNEL_WEEKS = 52

_contact = RecruitmentContact.__table__.c


def on_list() -> ColumnElement[bool]:
    """A contact who is on the list and counted: not held back, never removed, and still
    contactable with commercial consent (the removal is written by the withdrawal and
    consent actions; the facts check is defence in depth)."""
    facts = ParticipantFacts.__table__.c
    still = (
        select(facts.participant_pk)
        .where(
            facts.participant_pk == _contact.participant_pk,
            facts.contactable == true(),
            facts.consent_commercial_partners == true(),
        )
        .exists()
    )
    return and_(_contact.removed_at.is_(None), _contact.status != HELD_BACK, still)


def visible_requests(user: User, *, status: str | None = None) -> list[RecruitmentRequest]:
    statement = select(RecruitmentRequest).order_by(RecruitmentRequest.submitted_at.desc())
    if status is not None:
        statement = statement.where(RecruitmentRequest.status == status)
    return list(session().scalars(statement.where(_visible_to(user))))


def visible_request(user: User, request_id: str) -> RecruitmentRequest:
    """The request if the user may see it; otherwise 404, so no one learns it exists."""
    found = session().scalar(
        select(RecruitmentRequest).where(
            RecruitmentRequest.request_id == request_id, _visible_to(user)
        )
    )
    if found is None:
        raise NotFound("There is no recruitment request with this id that you can see.")
    return found


def _visible_to(user: User) -> ColumnElement[bool]:
    request = RecruitmentRequest.__table__.c
    if user.role is Role.ADMIN:
        return true()
    if user.role is Role.PARTNER:
        own = request.partner_id == user.id
        if user.organisation is None:
            return own
        return or_(own, request.organisation == user.organisation)
    if user.role is Role.CLINICIAN and user.site_id is not None:
        at_site = (
            select(_contact.id)
            .where(_contact.request_pk == request.id, _contact.site_id == user.site_id, on_list())
            .exists()
        )
        return and_(request.status == OPEN, at_site)
    return request.id.is_(None)  # no one else sees any request


def request_view(request: RecruitmentRequest, user: User, *, by: Actor) -> dict[str, Any]:
    """The request as the user's role may see it. A partner's figures are this week's
    release (made now if this is the week's first view, charged to the request's
    organisation), with the ``privacy`` block."""
    view: dict[str, Any] = {
        "id": request.request_id,
        "status": request.status,
        "study_title": request.study_title,
        "sponsor": request.sponsor,
        "ethics_reference": request.ethics_reference,
        "criteria": request.criteria,
        "catalogue_version": request.catalogue_version,
        "target": request.target,
        "contact_from": request.contact_from,
        "contact_until": request.contact_until,
        "lay_summary": request.lay_summary,
        "submitted_at": request.submitted_at,
        "decided_at": request.decided_at,
        "decision_note": request.decision_note,
        "list_cap": request.list_cap,
        "opened_at": request.opened_at,
        "closed_at": request.closed_at,
        "awaiting_confirmation": request.status == APPROVED,
    }
    if user.role is Role.CLINICIAN:
        view["site_contacts"] = _count(_listed(request).where(_contact.site_id == user.site_id))
        return view
    if request.status == SUBMITTED:
        if user.role is Role.ADMIN:
            view["matches_by_site"] = matches_by_site(request)
            size = list_if_approved_now(request)
            view["list_if_approved"] = {**asdict(size), "too_small": size.too_small}
        return view
    if user.role is Role.ADMIN:
        view.update(
            listed=_count(_listed(request)),
            held_back=_count(_held_back(request)),
            held_back_participants=held_back_people(request),
        )
    elif request.status != REJECTED:  # a rejected request has no lists: nothing to release
        released = _released(request, by=by)
        latest = released.latest or {}
        view.update(
            listed=latest.get("count"),
            held_back=latest.get("held_back"),
            figures_released_at=latest.get("released_at"),
            figures_notice=released.notice,
            privacy=released.budget.as_block(),
        )
    return view


def _released(request: RecruitmentRequest, *, by: Actor) -> Released:
    """The partner's release of the request's figures this week (``released``)."""
    current = dict.fromkeys(CONTACT_STATUSES, 0)
    for status, n in session().execute(
        select(_contact.status, func.count())
        .where(_contact.request_pk == request.id, on_list())
        .group_by(_contact.status)
    ):
        current[status] = int(n)
    return partner_figures(request, current, _count(_held_back(request)), by=by)


def matches_by_site(request: RecruitmentRequest) -> dict[str, int]:
    """Admins deciding: the exact number of contactable matches at each site, today."""
    criteria = parse_criteria(request.criteria, role="partner")
    rows = session().execute(
        select(Site.code, func.count())
        .select_from(ParticipantFacts)
        .join(Site, Site.id == ParticipantFacts.site_id)
        .where(eligibility_condition(criteria, audience="partner"))
        .group_by(Site.code)
        .order_by(Site.code)
    )
    return {code: int(n) for code, n in rows}


@dataclass(frozen=True, slots=True)
class ApprovalPreview:
    """What approving now would do: who would be listed at each site ((site name, people), by name),
    how many held back, against the number the study needs and the minimum list size."""

    by_site: list[tuple[str, int]]
    listed: int
    held_back: int
    target: int
    minimum: int

    @property
    def too_small(self) -> bool:
        return self.listed < self.minimum


def approval_preview(request: RecruitmentRequest) -> ApprovalPreview:
    """Counted from ``listing.list_rows``, the rows approval freezes: a preview, since
    approval counts again, under its lock, what it froze."""
    rows = list_rows(request, utcnow()).subquery()
    db = session()
    by_site = [
        (name, int(n))
        for _, name, n in db.execute(
            select(Site.id, Site.name, func.count())
            .select_from(rows)
            .join(Site, Site.id == rows.c.site_id)
            .where(rows.c.reason.is_(None))
            .group_by(Site.id, Site.name)
            .order_by(Site.name, Site.id)
        )
    ]
    size = list_if_approved_now(request)
    return ApprovalPreview(by_site, size.listed, size.held_back, request.target, size.minimum)


@dataclass(frozen=True, slots=True)
class ClosurePreview:
    """What closing would do: people still on the lists, and at how many sites (admins);
    a partner gets the figure last released to them, never an exact count."""

    people: int | str | None
    sites: int | None
    to_contact: int | None
    released_at: dt.datetime | None = None


def closure_preview(request: RecruitmentRequest, user: User, *, by: Actor) -> ClosurePreview:
    if user.role is not Role.ADMIN:
        latest = _released(request, by=by).latest or {}
        return ClosurePreview(latest.get("count"), None, None, latest.get("released_at"))
    people, sites, to_contact = (
        session()
        .execute(
            select(
                func.count(),
                func.count(func.distinct(_contact.site_id)),
                func.count().filter(_contact.status == TO_CONTACT),
            ).where(_contact.request_pk == request.id, on_list())
        )
        .one()
    )
    return ClosurePreview(int(people), int(sites), int(to_contact))


def held_back_people(request: RecruitmentRequest) -> list[dict[str, str]]:
    """Admins: who the contact-fatigue limits held back, by registry id, and why."""
    rows = session().execute(
        select(Participant.participant_id, Site.code, _contact.held_back_reason)
        .select_from(RecruitmentContact)
        .join(Participant, Participant.id == _contact.participant_pk)
        .join(Site, Site.id == _contact.site_id)
        .where(_contact.request_pk == request.id, _contact.status == HELD_BACK)
        .order_by(Site.code, Participant.participant_id)
    )
    return [{"participant_id": pid, "site": site, "reason": why} for pid, site, why in rows]


def _listed(request: RecruitmentRequest) -> Select[Any]:
    return select(RecruitmentContact).where(_contact.request_pk == request.id, on_list())


def _held_back(request: RecruitmentRequest) -> Select[Any]:
    return select(RecruitmentContact).where(
        _contact.request_pk == request.id,
        _contact.status == HELD_BACK,
        _contact.removed_at.is_(None),
    )


def _count(statement: Select[Any]) -> int:
    return int(session().scalar(select(func.count()).select_from(statement.subquery())) or 0)


# -- clinicians' lists -------------------------------------------------------------------------


CONTACTS_PER_PAGE = 25


@dataclass(frozen=True, slots=True)
class ListView:
    """Which of a site's list to show. The API shows every row; the page one page of 25,
    perhaps only one status or what is new. ``since``: the baseline of "new" for a visit
    that is going on (turning a page, filtering, saving a row), carried by the page's
    links: None to start a visit, measured from the end of the last one."""

    status: str | None = None
    new_only: bool = False
    page: int | None = None  # None: every row
    since: Baseline | None = None


@dataclass(frozen=True, slots=True)
class Baseline:
    at: dt.datetime | None  # None: the user had never looked before this visit


def contact_list(
    request: RecruitmentRequest, user: User, *, by: Actor, view: ListView | None = None
) -> dict[str, Any]:
    """The user's site's people on an open request's list, identifiable (each read is
    audited), marked new if listed or changed by someone else since the user's last visit;
    how many remain to contact; and, for a page, which page and how many pages."""
    if request.status != OPEN or user.site_id is None:
        raise NotFound("This request has no open list for your site.")
    view = view or ListView()
    db = session()
    visit = db.scalar(
        select(ContactListVisit).where(
            ContactListVisit.request_pk == request.id, ContactListVisit.user_id == user.id
        )
    )
    last = view.since.at if view.since else (visit.seen_at if visit else None)
    new = _new_since(last, user)
    at_site = _listed(request).where(_contact.site_id == user.site_id)
    shown = at_site
    if view.status is not None:
        shown = shown.where(_contact.status == view.status)
    if view.new_only:
        shown = shown.where(new)
    matching = _count(shown)
    pages = max(1, -(-matching // CONTACTS_PER_PAGE))
    ordered = shown.add_columns(new.label("new")).order_by(_contact.id)
    if view.page is not None:
        page = min(view.page, pages)
        ordered = ordered.offset((page - 1) * CONTACTS_PER_PAGE).limit(CONTACTS_PER_PAGE)
    items = []
    for contact, is_new in db.execute(ordered).all():
        participant = db.get(Participant, contact.participant_pk)
        assert participant is not None
        identity = read_identity(participant, by=by, purpose="recruitment_contact")
        items.append(
            {
                "participant_id": participant.participant_id,
                "nhs_number": format_nhs_number(identity.nhs_number),
                "given_name": identity.given_name,
                "family_name": identity.family_name,
                "date_of_birth": identity.date_of_birth,
                "phone": identity.phone,
                "email": identity.email,
                "postcode": identity.postcode,
                "status": contact.status,
                "status_at": contact.status_at,
                "new": bool(is_new),
            }
        )
    removed = 0
    if last is not None:
        removed = _count(
            select(RecruitmentContact).where(
                _contact.request_pk == request.id,
                _contact.site_id == user.site_id,
                _contact.removed_at > last,
            )
        )
    # Looking is recorded like the audited reads above: the end of this visit is what the
    # next visit's "new" is measured from.
    now = utcnow()
    if visit is None:
        db.add(ContactListVisit(request_pk=request.id, user_id=user.id, seen_at=now))
    else:
        visit.seen_at = now
    site = db.get(Site, user.site_id)
    return {
        "request": request_view(request, user, by=by),
        "site": site.code if site else "",
        "last_looked_at": last,
        "removed_since_last_look": removed,
        "remaining": _count(at_site.where(_contact.status == TO_CONTACT)),
        "matching": matching,
        "page": min(view.page or 1, pages),
        "pages": pages if view.page is not None else 1,
        "items": items,
    }


def _new_since(last: dt.datetime | None, user: User) -> ColumnElement[bool]:
    """Listed, or changed by someone else, since ``last``; everyone, if never looked."""
    if last is None:
        return true()
    by_someone_else = or_(_contact.status_by_id.is_(None), _contact.status_by_id != user.id)
    return or_(_contact.listed_at > last, and_(_contact.status_at > last, by_someone_else))


def listed_contact(
    request: RecruitmentRequest, user: User, participant_id: str
) -> RecruitmentContact:
    """One person on the user's site's open list, or 404."""
    contact = session().scalar(
        _listed(request)
        .join(Participant, Participant.id == _contact.participant_pk)
        .where(
            Participant.participant_id == participant_id,
            _contact.site_id == user.site_id,
        )
    )
    if request.status != OPEN or not isinstance(contact, RecruitmentContact):
        raise NotFound("This person is not on your site's list for this request.")
    return contact


# -- the funnel --------------------------------------------------------------------------------


def funnel(request: RecruitmentRequest, user: User, *, by: Actor) -> dict[str, Any]:
    """People on the lists by current status, week by week: exact for admins (by site too);
    for partners the request's weekly releases, this week's (or, with the budget used up,
    the last) as now, and every release so far as the history."""
    result: dict[str, Any] = {"request": request.request_id, "statuses": list(CONTACT_STATUSES)}
    if user.role is not Role.ADMIN:
        released = _released(request, by=by)
        latest = released.latest or {}
        result.update(
            count=latest.get("count"),
            current=latest.get("current", {}),
            held_back=latest.get("held_back"),
            by_week=[
                {"week_ending": each["week_ending"], "released_at": each["released_at"]}
                | each["current"]
                for each in released.history
            ],
            released_at=latest.get("released_at"),
            notice=released.notice,
            privacy=released.budget.as_block(),
        )
        return result
    db = session()
    contacts = db.execute(
        select(_contact.id, _contact.listed_at, _contact.status, Site.code)
        .join(Site, Site.id == _contact.site_id)
        .where(_contact.request_pk == request.id, on_list())
    ).all()
    current: dict[str, int] = dict.fromkeys(CONTACT_STATUSES, 0)
    for _, _, status, _ in contacts:
        current[status] += 1
    by_site: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(CONTACT_STATUSES, 0))
    for _, _, status, site in contacts:
        by_site[site][status] += 1
    result.update(
        count=len(contacts),
        current=current,
        held_back=_count(_held_back(request)),
        by_site=dict(by_site),
        by_week=[
            {"week_ending": week, **counts} for week, counts in _status_by_week(request, contacts)
        ],
    )
    return result


def _status_by_week(
    request: RecruitmentRequest, contacts: Sequence[Any]
) -> list[tuple[dt.date, dict[str, int]]]:
    """Each week since the lists opened: how many people were in each status at its end."""
    if request.opened_at is None:
        return []
    ids = [row[0] for row in contacts]
    events: dict[int, list[tuple[dt.datetime, str]]] = defaultdict(list)
    if ids:
        for contact_id, at, status in session().execute(
            select(ContactEvent.contact_id, ContactEvent.at, ContactEvent.status)
            .where(ContactEvent.contact_id.in_(ids))
            .order_by(ContactEvent.at, ContactEvent.id)
        ):
            events[contact_id].append((at, status))
    end = request.closed_at or utcnow()
    week_ends = []
    day = request.opened_at.date() + dt.timedelta(days=6)
    while day < end.date() + dt.timedelta(days=7):
        week_ends.append(day)
        day += dt.timedelta(days=7)
    history = []
    for week_end in week_ends[-FUNNEL_WEEKS:]:
        cutoff = dt.datetime.combine(week_end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
        counts = dict.fromkeys(CONTACT_STATUSES, 0)
        for contact_id, listed_at, _, _ in contacts:
            if listed_at >= cutoff:
                continue
            status = CONTACT_STATUSES[0]
            for at, later in events.get(contact_id, ()):
                if at >= cutoff:
                    break
                status = later
            counts[status] += 1
        history.append((week_end, counts))
    return history
