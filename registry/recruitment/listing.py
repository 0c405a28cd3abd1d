"""Who a request's list would hold: the one definition that approval freezes
(``actions.decide_request``) and the admin's decision page previews (``queries``).

Matching, contactable participants who agreed to commercial partners, each either listed or
held back by the contact-fatigue limits; and the size below which a list is not approved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import Select, String, case, func, literal, null, select

from registry import clock
from registry.db import session, utcnow
from registry.eligibility.compiler import eligibility_condition
from registry.eligibility.criteria import parse_criteria
from registry.participants.models import ParticipantFacts
from registry.recruitment.models import (
    APPROACHED_TOO_OFTEN,
    HELD_BACK,
    HOLDING_STATUSES,
    ON_TOO_MANY_LISTS,
    RecruitmentContact,
    RecruitmentRequest,
)

FATIGUE_WINDOW = dt.timedelta(days=365)


@dataclass(frozen=True, slots=True)
class ListSize:
    listed: int
    held_back: int
    minimum: int

    @property
    def too_small(self) -> bool:
        """Too few people to approve: a partner follows the list's funnel, and its figures
        would describe the people themselves."""
        return self.listed < self.minimum


def list_size(listed: int, held_back: int) -> ListSize:
    return ListSize(listed, held_back, current_app.config["SETTINGS"].recruitment_min_list_size)


def list_rows(request: RecruitmentRequest, now: dt.datetime) -> Select[Any]:
    """(participant_pk, site_id, reason) for everyone the request matches now: ``reason`` is
    why the fatigue limits hold them back, or null for someone who would be listed."""
    settings = current_app.config["SETTINGS"]
    criteria = parse_criteria(request.criteria, role="partner")
    facts = ParticipantFacts.__table__.c
    contact = RecruitmentContact.__table__.c
    holding = RecruitmentRequest.__table__.c

    lists_now = (
        select(func.count())
        .select_from(RecruitmentContact)
        .join(RecruitmentRequest, RecruitmentRequest.id == contact.request_pk)
        .where(
            contact.participant_pk == facts.participant_pk,
            contact.removed_at.is_(None),
            contact.status != HELD_BACK,
            holding.status.in_(HOLDING_STATUSES),
            holding.contact_until >= clock.today(),
        )
        .scalar_subquery()
    )
    recent_approaches = (
        select(func.count())
        .select_from(RecruitmentContact)
        .where(
            contact.participant_pk == facts.participant_pk,
            contact.approached_at >= now - FATIGUE_WINDOW,
        )
        .scalar_subquery()
    )
    reason = case(
        (lists_now >= settings.contact_max_open_lists, literal(ON_TOO_MANY_LISTS, String)),
        (
            recent_approaches >= settings.contact_max_approaches_per_year,
            literal(APPROACHED_TOO_OFTEN, String),
        ),
        else_=null(),
    )
    return select(facts.participant_pk, facts.site_id, reason.label("reason")).where(
        eligibility_condition(criteria, audience="partner")
    )


def list_if_approved_now(request: RecruitmentRequest) -> ListSize:
    """What approving now would freeze, counted from the same rows. A preview: approval
    counts again what it froze, under its lock, and that count decides."""
    rows = list_rows(request, utcnow()).subquery()
    listed, held_back = (
        session()
        .execute(
            select(
                func.count().filter(rows.c.reason.is_(None)),
                func.count().filter(rows.c.reason.is_not(None)),
            )
        )
        .one()
    )
    return list_size(int(listed), int(held_back))
