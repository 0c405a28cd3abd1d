"""The admin's home: what is waiting and how the registry stands, each block linking to the
page where it is dealt with. Counts only: no participant or user is named here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select

from registry.auth.models import User
from registry.consents.models import Withdrawal
from registry.consents.queries import participants_requiring_reconsent
from registry.dates_in_words import long_month
from registry.db import session, utcnow
from registry.participants.identity import KeyEpochs, key_epochs
from registry.recruitment.models import APPROVED, SUBMITTED, RecruitmentRequest
from registry.web.admin.audit import ChainStatus, chain_status
from registry.web.bar_chart import BarChart, bar_chart
from registry.web.labels import LEVELS, level_label


@dataclass(frozen=True)
class SiteCount:
    name: str
    code: str
    count: int


@dataclass(frozen=True)
class Dashboard:
    awaiting_decision: int  # submitted, not yet approved or rejected
    awaiting_confirmation: int  # approved, waiting for a second admin to open the lists
    reconsent: list[SiteCount]
    withdrawals: list[tuple[str, int]]  # (level in words, count) in the levels' order
    withdrawals_chart: BarChart
    month: str  # "December 2026"
    month_began: dt.date
    first_sign_in: int
    keys: KeyEpochs
    chain: ChainStatus | None

    @property
    def since_month_began(self) -> dict[str, int]:
        """The audit log's start-date boxes at this month's first day: the withdrawals link
        lists the same withdrawals as the count."""
        day = self.month_began
        return {"since-day": day.day, "since-month": day.month, "since-year": day.year}

    @property
    def reconsent_total(self) -> int:
        return sum(site.count for site in self.reconsent)

    @property
    def withdrawals_total(self) -> int:
        return sum(count for _, count in self.withdrawals)


def _requests_in(status: str) -> int:
    return int(
        session().scalar(
            select(func.count())
            .select_from(RecruitmentRequest)
            .where(RecruitmentRequest.status == status)
        )
        or 0
    )


def month_start(now: dt.datetime) -> dt.datetime:
    """Midnight UTC on the first of this month (withdrawals are recorded in UTC)."""
    return now.astimezone(dt.UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def withdrawals_since(start: dt.datetime) -> list[tuple[str, int]]:
    """Withdrawals recorded since ``start`` by level, every level named even at 0. A step to
    a stricter level is a withdrawal of its own, so it counts at its new level."""
    rows = session().execute(
        select(Withdrawal.level, func.count())
        .where(Withdrawal.recorded_at >= start)
        .group_by(Withdrawal.level)
    )
    counts = {level: int(count) for level, count in rows}
    return [(level_label(level), counts.get(level, 0)) for level in LEVELS]


def users_waiting_for_first_sign_in() -> int:
    return int(
        session().scalar(
            select(func.count())
            .select_from(User)
            .where(User.is_active.is_(True), User.last_sign_in_at.is_(None))
        )
        or 0
    )


def dashboard(now: dt.datetime | None = None) -> Dashboard:
    start = month_start(now or utcnow())
    withdrawals = withdrawals_since(start)
    return Dashboard(
        awaiting_decision=_requests_in(SUBMITTED),
        awaiting_confirmation=_requests_in(APPROVED),
        # The re-consent page's own query, so the numbers match that page.
        reconsent=[
            SiteCount(site.name, site.code, len(site.participants))
            for site in participants_requiring_reconsent()
        ],
        withdrawals=withdrawals,
        withdrawals_chart=bar_chart(withdrawals),
        month=long_month(start),
        month_began=start.date(),
        first_sign_in=users_waiting_for_first_sign_in(),
        keys=key_epochs(),
        chain=chain_status(),
    )
