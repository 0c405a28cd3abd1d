"""A partner's figures of a recruitment request, released through the privacy budget of the
request's organisation (issue #18) on a schedule rather than on every view.

A request's figures change slowly and are looked at often, so they are released once a
week: the first partner view of the request in an ISO week (page or API, request or funnel)
makes the week's release, charged once; every later view that week, by any partner, gets
the stored release at no cost. A closed request's figures no longer move, so one last
release after closing stands for good. The week-by-week history a partner sees is the
stored releases, as published: never recomputed.

One release is one vector of disjoint counts, the people on the lists in each status and
those held back (no one is both), so it costs what one count costs; the total on the lists
is the sum of the noisy statuses. A person on a list for many weeks is in many releases:
each is its own charge on the organisation's budget and zCDP costs add up (sequential
composition), so following a request costs the organisation one question a week of it.

Made lazily at a view rather than by a scheduled job: a week no one looks at is neither
released nor charged, and there is no job to forget to run. With the budget used up, the
partner sees the last release with its date and a plain notice, not a refusal: the figures
are old, not withheld.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from registry.audit.actions import Actor, record_event
from registry.db import utcnow
from registry.eligibility.disclosure import noisy_breakdown
from registry.errors import PrivacyBudgetExhausted
from registry.privacy.actions import (
    BudgetState,
    budget_state,
    holder_of,
    published_answers,
    release_once,
)
from registry.privacy.mechanism import published
from registry.recruitment.models import CLOSED, CONTACT_STATUSES, RecruitmentRequest

PURPOSE = "recruitment"
_FINAL = "closed"  # the period of the one release after a request closed


@dataclass(frozen=True, slots=True)
class Released:
    """What a partner is shown: ``latest``, this period's release (or, with the budget used
    up, the last one; None if there never was one), the ``history`` of every release, the
    ``budget`` after this view, and a ``notice`` when the figures are not this period's."""

    latest: dict[str, Any] | None
    history: list[dict[str, Any]]
    budget: BudgetState
    notice: str | None


def partner_figures(
    request: RecruitmentRequest, current: Mapping[str, int], held_back: int, *, by: Actor
) -> Released:
    """This period's release of the request's exact figures (``current``: people on the
    lists by status; ``held_back``), made now if it is the first view of the period."""
    holder = holder_of(request.organisation, request.partner_id)
    period = _period(request, utcnow())
    true_counts = [current[status] for status in CONTACT_STATUSES] + [held_back]
    notice = None
    try:
        _, budget = release_once(
            holder,
            _question(request, period),
            true_counts,
            _present,
            purpose=PURPOSE,
            by=by,
        )
    except PrivacyBudgetExhausted as refused:
        budget = budget_state(holder)
        notice = _out_of_budget(refused)
    else:
        if budget.cost:
            record_event(
                "recruitment.release",
                by=by,
                purpose="partner",
                target_type="recruitment_request",
                target_id=request.request_id,
                details={"period": period, "true_counts": true_counts, "privacy_cost": budget.cost},
            )
    history = [
        _read(answer)
        for answer in published_answers(
            holder, [_question(request, p) for p in _periods_so_far(request)]
        )
    ]
    # The newest release is this period's, or with the budget used up the last one made.
    return Released(history[-1] if history else None, history, budget, notice)


def _present(noisy: Sequence[int]) -> dict[str, Any]:
    """The stored release: each figure published, the total from the noisy statuses."""
    *statuses, held_back = noisy
    payload = noisy_breakdown(
        statuses, fields=("status",), categories=[CONTACT_STATUSES], noisy_unknown=0
    )
    now = utcnow()
    return {
        "released_at": now.isoformat(),
        "week_ending": _week_ending(now).isoformat(),
        "count": payload["count"],
        "current": {str(cell["status"]): cell["count"] for cell in payload["breakdown"]["cells"]},
        "held_back": published(held_back),
    }


def _read(answer: Mapping[str, Any]) -> dict[str, Any]:
    """A stored release with its dates as dates again (stored as JSON text)."""
    return {
        **answer,
        "released_at": dt.datetime.fromisoformat(answer["released_at"]),
        "week_ending": dt.date.fromisoformat(answer["week_ending"]),
    }


def _out_of_budget(refused: PrivacyBudgetExhausted) -> str:
    back = utcnow() + dt.timedelta(seconds=refused.retry_after_seconds)
    return (
        "Your organisation has used its privacy budget for now, so this week's figures have "
        "not been released: what you see are the last figures released, of the date shown. "
        f"New figures can be released from {back:%d %B %Y at %H:%M} UTC."
    )


def _period(request: RecruitmentRequest, now: dt.datetime) -> str:
    return _FINAL if request.status == CLOSED else _week_of(now.date())


def _periods_so_far(request: RecruitmentRequest) -> list[str]:
    """Every period a release of the request could have been made in: the ISO weeks since
    its decision, and the one after closing."""
    start = (request.decided_at or request.submitted_at).date()
    today = utcnow().date()
    days = range(0, (today - start).days + 7, 7)
    weeks = {_week_of(start + dt.timedelta(days=n)) for n in days} | {_week_of(today)}
    return [*sorted(weeks), _FINAL]


def _week_of(day: dt.date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def _question(request: RecruitmentRequest, period: str) -> str:
    """The ledger's name for one release: readable, so a budget's spending explains itself."""
    return f"{PURPOSE}:{request.request_id}:{period}"


def _week_ending(now: dt.datetime) -> dt.date:
    """The Sunday ending the ISO week of ``now``."""
    return now.date() + dt.timedelta(days=7 - now.isoweekday())
