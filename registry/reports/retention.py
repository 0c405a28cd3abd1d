"""Retention at each follow-up visit, by group: of the people whose visit window has
closed by the report date, how many completed it (every scale recorded within the window)
and how many partly. Differential loss to follow-up is an equity finding, so each group's
retention carries its 95% Wilson interval, and a group whose interval lies wholly below the
cohort's retention at that visit is flagged.

Counted in SQL over ``participant_facts`` (one GROUP BY per attribute, a column per visit),
from the follow-up columns the facts keep (``registry.facts.followup``). Everyone still in
the facts table counts, withdrawals from further data included: leaving is attrition. Full
withdrawals leave no facts row; the report counts them apart (``withdrawn_fully``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, select

from registry.assessments.schedule import COMPLETE, PARTIAL, SCHEDULE, Visit
from registry.db import session
from registry.facts.followup import FOLLOWUP_COLUMNS
from registry.participants.models import ParticipantFacts
from registry.reports.stats import wilson_interval


def closed_for_enrolled_by(visit: Visit, today: dt.date) -> dt.date:
    """The latest enrolment date whose window for ``visit`` closed before ``today``."""
    day = visit.due.before(visit.after.before(today))
    # Calendar months do not invert exactly (month ends): settle on the exact day.
    while visit.closes_on(day) >= today:
        day -= dt.timedelta(days=1)
    while visit.closes_on(day + dt.timedelta(days=1)) < today:
        day += dt.timedelta(days=1)
    return day


def retention_counts(
    cohort: str,
    group_value: ColumnElement[str],
    conditions: tuple[ColumnElement[bool], ...],
    today: dt.date,
) -> dict[str, dict[str, dict[str, int]]]:
    """group -> visit -> {"eligible", "complete", "partial"}, in one GROUP BY."""
    facts = ParticipantFacts.__table__.c
    visits = SCHEDULE.protocol(cohort).visits

    def flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
        return case((condition, 1), else_=0)

    columns = []
    for visit in visits:
        closed = facts.enrolled_on <= closed_for_enrolled_by(visit, today)
        state = facts[FOLLOWUP_COLUMNS[visit.visit]]
        columns += [
            flag(closed).label(f"{visit.visit}_eligible"),
            flag(closed & (state == COMPLETE)).label(f"{visit.visit}_complete"),
            flag(closed & (state == PARTIAL)).label(f"{visit.visit}_partial"),
        ]
    # Grouped in an outer query, as the report's counts are (PostgreSQL and bound literals).
    per_person = (
        select(group_value.label("grp"), *columns)
        .where(facts.cohort == cohort, *conditions)
        .subquery()
    )
    c = per_person.c
    names = [column.name for column in columns]
    rows = session().execute(select(c.grp, *(func.sum(c[name]) for name in names)).group_by(c.grp))
    counts: dict[str, dict[str, dict[str, int]]] = {}
    for group, *numbers in rows:
        by_name = dict(zip(names, (int(n or 0) for n in numbers), strict=True))
        counts[str(group)] = {
            visit.visit: {
                kind: by_name[f"{visit.visit}_{kind}"]
                for kind in ("eligible", "complete", "partial")
            }
            for visit in visits
        }
    return counts


def retention_figures(counts: dict[str, int], overall_rate: float | None) -> dict[str, Any]:
    """One group's retention at one visit: the counts, the rate with its interval, and
    whether the interval lies wholly below the cohort's rate."""
    eligible, complete = counts["eligible"], counts["complete"]
    if not eligible:
        return {**counts, "rate": None, "rate_ci": None, "lower": False}
    low, high = wilson_interval(complete, eligible)
    return {
        **counts,
        "rate": complete / eligible,
        "rate_ci": [low, high],
        "lower": overall_rate is not None and high < overall_rate,
    }


def retention_summary(cohort: str, today: dt.date) -> dict[str, Any]:
    """The cohort's retention at each visit, for the report's head."""
    counts = retention_counts(cohort, literal("all"), (), today)
    overall = counts.get("all", {})
    visits = []
    for visit in SCHEDULE.protocol(cohort).visits:
        figures = overall.get(visit.visit, {"eligible": 0, "complete": 0, "partial": 0})
        visits.append(
            {
                "visit": visit.visit,
                "label": visit.label,
                "scales": list(visit.scales),
                "closed_for_enrolled_by": closed_for_enrolled_by(visit, today),
                **retention_figures(figures, None),
            }
        )
    return {"schedule": SCHEDULE.version, "visits": visits}
