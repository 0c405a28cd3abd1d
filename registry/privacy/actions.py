"""Releasing partners' figures against their organisation's privacy budget.

``release`` is the way in for questions (eligibility), ``release_once`` for figures
released on a schedule (recruitment's, once a week). In the caller's transaction, under a
lock on the organisation's budget row (PostgreSQL: FOR UPDATE, so two questions racing for
the last of a budget are answered one after the other, and the second sees the first's
charge; SQLite: BEGIN IMMEDIATE already serialises writers):

1. the same question from the same organisation within the consistency window (for
   ``release_once``: ever) gets the answer it was given, at no cost: never new noise
   (averaging would undo it), and never the same noise on changed data (the difference
   would be exact);
2. otherwise the cost is checked against what the rolling period has left, the charge is
   appended to the ledger, fresh noise is drawn and the published answer is stored.

Actions only flush; the request boundary commits. A refusal charges nothing.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy import func, select, union
from sqlalchemy.dialects import postgresql, sqlite

from registry.audit.actions import Actor, record_event
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.config import Settings
from registry.db import session, table_of, utcnow
from registry.errors import PrivacyBudgetExhausted, ValidationFailed
from registry.privacy.mechanism import noisy_counts
from registry.privacy.models import PrivacyBudget, PrivacyCharge, PublishedAnswer

# Costs are floats: 25 charges of 0.01 add up to a hair over 0.25, which must still fit.
_SLACK = 1e-9


@dataclass(frozen=True, slots=True)
class BudgetState:
    """An organisation's budget as a partner is shown it, in zCDP rho: ``cost`` of this
    answer (0 when it was given before), ``spent`` in the rolling period up to now (this
    answer included), ``remaining`` of the allowance, and ``period_ends``, when the oldest
    charge still counted leaves the period and budget starts to return (None: nothing
    spent)."""

    cost: float
    spent: float
    remaining: float
    period_ends: dt.datetime | None
    allowance: float
    price: float  # what a question not answered in the window costs now

    @property
    def questions_left(self) -> int:
        """How many new questions the remaining budget pays for."""
        return questions_paid_for(self.remaining, self.price)

    @property
    def questions_per_period(self) -> int:
        """How many new questions the whole allowance pays for in a period."""
        return questions_paid_for(self.allowance, self.price)

    def as_block(self) -> dict[str, Any]:
        """The ``privacy`` block of an answer."""
        return {
            "cost": self.cost,
            "spent": self.spent,
            "remaining": self.remaining,
            "period_ends": self.period_ends.isoformat() if self.period_ends else None,
        }


def questions_paid_for(rho: float, price: float) -> int:
    """How many new questions at ``price`` a budget of ``rho`` pays for."""
    return int((rho + _SLACK) // price)


def budget_holder(user: User) -> str:
    """Whose budget a partner's question spends: their organisation's, shared by all its
    partners; a partner with no organisation has one of their own."""
    return holder_of(user.organisation, user.id)


def holder_of(organisation: str | None, account_id: int) -> str:
    """The budget of ``organisation``, or of the one account when there is none."""
    return organisation or f"account:{account_id}"


def release(
    organisation: str,
    question: str,
    true_counts: Sequence[int],
    present: Callable[[Sequence[int]], dict[str, Any]],
    *,
    purpose: str,
    by: Actor,
) -> tuple[dict[str, Any], BudgetState]:
    """The published answer to ``question`` (a digest of its normalised form) and the
    budget after it. ``true_counts`` are disjoint counts (one person is in at most one);
    ``present`` turns their noisy values into the published answer, which is stored."""
    window = dt.timedelta(hours=_settings().privacy_consistency_hours)
    return _release(organisation, question, true_counts, present, purpose, by, window=window)


def release_once(
    organisation: str,
    question: str,
    true_counts: Sequence[int],
    present: Callable[[Sequence[int]], dict[str, Any]],
    *,
    purpose: str,
    by: Actor,
) -> tuple[dict[str, Any], BudgetState]:
    """Like ``release``, but the answer stands for good: a scheduled release (``question``
    names its period, e.g. a request's funnel in one week) is charged once, and every later
    asking gets the stored answer at no cost, however long after."""
    return _release(organisation, question, true_counts, present, purpose, by, window=None)


def published_answers(organisation: str, questions: Sequence[str]) -> list[dict[str, Any]]:
    """The answers stored for any of ``questions``, oldest first: a schedule's history, as
    it was published (never recomputed)."""
    answers = session().scalars(
        select(PublishedAnswer.answer)
        .where(
            PublishedAnswer.organisation == organisation,
            PublishedAnswer.question.in_(questions),
        )
        .order_by(PublishedAnswer.published_at, PublishedAnswer.id)
    )
    return [dict(answer) for answer in answers]


def _release(
    organisation: str,
    question: str,
    true_counts: Sequence[int],
    present: Callable[[Sequence[int]], dict[str, Any]],
    purpose: str,
    by: Actor,
    *,
    window: dt.timedelta | None,
) -> tuple[dict[str, Any], BudgetState]:
    """The stored answer if there is one (within ``window``; None: ever), else a charged,
    freshly drawn and stored one."""
    settings = _settings()
    now = utcnow()
    budget = _locked_budget(organisation)
    allowance = _allowance(budget, settings)
    stored = select(PublishedAnswer.answer).where(
        PublishedAnswer.organisation == organisation, PublishedAnswer.question == question
    )
    if window is not None:
        stored = stored.where(PublishedAnswer.published_at > now - window)
    given = session().scalar(stored.order_by(PublishedAnswer.published_at.desc()).limit(1))
    if given is not None:
        return dict(given), _state(organisation, allowance, cost=0.0, now=now)

    cost = settings.privacy_query_cost
    charges = _charges_in_period(organisation, now, settings)
    spent = sum(charge_cost for _, charge_cost in charges)
    if spent + cost > allowance + _SLACK:
        raise _exhausted(charges, spent, cost, allowance, now, settings)
    db = session()
    db.add(
        PrivacyCharge(
            organisation=organisation,
            question=question,
            purpose=purpose,
            cost=cost,
            charged_by=by.label,
            charged_at=now,
        )
    )
    answer = present(noisy_counts(true_counts, cost))
    db.add(
        PublishedAnswer(
            organisation=organisation, question=question, answer=answer, published_at=now
        )
    )
    db.flush()
    return answer, _state(organisation, allowance, cost=cost, now=now)


def budget_state(organisation: str, *, allowance: float | None = None) -> BudgetState:
    """The budget as it stands, for showing before a question is asked (cost 0); with an
    ``allowance``, as it would stand under that allowance instead (an admin's check page)."""
    if allowance is None:
        allowance = _allowance(stored_budget(organisation), _settings())
    return _state(organisation, allowance, cost=0.0, now=utcnow())


def stored_budget(organisation: str) -> PrivacyBudget | None:
    """The organisation's budget row, if it has one (made on its first question, or when an
    admin first set its allowance)."""
    return session().scalar(select(PrivacyBudget).where(PrivacyBudget.organisation == organisation))


def set_allowance(organisation: str, allowance: float | None, *, by: Actor) -> PrivacyBudget:
    """Admins: the organisation's allowance per rolling period in zCDP rho, None for the
    setting's default. Under the same row lock as ``release``, so a question being charged
    sees the old allowance or the new one, never half of each. Checked by
    ``AllowanceArgs`` first; here only that the organisation is one the registry knows
    (a mistyped name would otherwise get a budget nobody spends)."""
    if organisation not in partner_organisations():
        raise ValidationFailed(
            {"organisation": ["No partner organisation has this name: check its spelling."]}
        )
    budget = _locked_budget(organisation)
    old = budget.allowance
    budget.allowance = allowance
    session().flush()
    record_event(
        "privacy.allowance_set",
        by=by,
        target_type="privacy_budget",
        target_id=budget.id,
        details={
            "organisation": organisation,
            "old_allowance": old,  # null: the default
            "new_allowance": allowance,
            "default_allowance": _settings().privacy_allowance,
        },
    )
    return budget


def partner_organisations() -> list[str]:
    """Every organisation with a budget: each with a partner account, and each that has a
    budget row (it asked, or an admin set its allowance), in name order."""
    with_partners = select(User.organisation).where(
        User.role == Role.PARTNER, User.organisation.is_not(None)
    )
    with_budgets = select(PrivacyBudget.organisation)
    names = session().scalars(union(with_partners, with_budgets))
    return sorted({name for name in names if name is not None})


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def _allowance(budget: PrivacyBudget | None, settings: Settings) -> float:
    if budget is None or budget.allowance is None:
        return settings.privacy_allowance
    return budget.allowance


def _locked_budget(organisation: str) -> PrivacyBudget:
    """The organisation's budget row, made on its first question, locked until the caller's
    transaction ends."""
    db = session()
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    db.execute(
        dialect.insert(table_of(PrivacyBudget))
        .values(organisation=organisation, allowance=None, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["organisation"])
    )
    return db.scalars(
        select(PrivacyBudget)
        .where(PrivacyBudget.organisation == organisation)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def _charges_in_period(
    organisation: str, now: dt.datetime, settings: Settings
) -> list[tuple[dt.datetime, float]]:
    """(when, cost) of each charge still in the rolling period, oldest first."""
    since = now - dt.timedelta(days=settings.privacy_period_days)
    rows = session().execute(
        select(PrivacyCharge.charged_at, PrivacyCharge.cost)
        .where(PrivacyCharge.organisation == organisation, PrivacyCharge.charged_at > since)
        .order_by(PrivacyCharge.charged_at, PrivacyCharge.id)
    )
    return [(at, cost) for at, cost in rows]


def _state(organisation: str, allowance: float, *, cost: float, now: dt.datetime) -> BudgetState:
    settings = _settings()
    since = now - dt.timedelta(days=settings.privacy_period_days)
    spent, oldest = (
        session()
        .execute(
            select(
                func.coalesce(func.sum(PrivacyCharge.cost), 0.0), func.min(PrivacyCharge.charged_at)
            ).where(PrivacyCharge.organisation == organisation, PrivacyCharge.charged_at > since)
        )
        .one()
    )
    period = dt.timedelta(days=settings.privacy_period_days)
    return BudgetState(
        cost=cost,
        spent=_tidy(float(spent)),
        remaining=_tidy(max(0.0, allowance - float(spent))),
        period_ends=oldest + period if oldest is not None else None,
        allowance=allowance,
        price=settings.privacy_query_cost,
    )


def _exhausted(
    charges: Sequence[tuple[dt.datetime, float]],
    spent: float,
    cost: float,
    allowance: float,
    now: dt.datetime,
    settings: Settings,
) -> PrivacyBudgetExhausted:
    """The refusal, with the moment enough of the oldest charges have left the period."""
    period = dt.timedelta(days=settings.privacy_period_days)
    free_at = now + period  # a question dearer than the whole allowance: a period at least
    left = spent
    for at, charge_cost in charges:
        left -= charge_cost
        if left + cost <= allowance + _SLACK:
            free_at = at + period
            break
    wait = max(1, math.ceil((free_at - now).total_seconds()))
    return PrivacyBudgetExhausted(
        "Your organisation has used its privacy budget for figures about participants: "
        f"each new question uses some, and questions in any {settings.privacy_period_days} "
        "days may use only so much, so that together the answers cannot single anyone out. "
        f"You can ask a new question again from {free_at:%d %B %Y at %H:%M} UTC. A question "
        f"already answered in the last {settings.privacy_consistency_hours} hours can still "
        "be asked again, at no cost.",
        retry_after_seconds=wait,
    )


def _tidy(rho: float) -> float:
    """Costs are small decimals; show 0.25, not 0.25000000000000006."""
    return round(rho, 9)
