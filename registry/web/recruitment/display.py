"""How a recruitment request reads on its pages: statuses and reasons in words, and the
funnel as a chart and tables drawn from the same figures.

Pure functions over what ``queries.funnel`` returns, so a page shows exactly what the API
would: a partner's ``"<10"`` stays words, never a bar. The chart is the
eligibility page's (``registry.web.bar_chart``), so both pages draw figures alike.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry.recruitment.models import (
    APPROACHED_TOO_OFTEN,
    APPROVED,
    CLOSED,
    CONTACT_STATUSES,
    HOLD_BACK_REASONS,
    ON_TOO_MANY_LISTS,
    OPEN,
    REJECTED,
    REQUEST_STATUSES,
    SUBMITTED,
    TO_CONTACT,
)
from registry.web.bar_chart import BarChart, bar_chart, figure

# (words, NHS.UK tag colour) for each of a request's statuses.
REQUEST_STATUS_TAGS = {
    SUBMITTED: ("Waiting for a decision", "nhsuk-tag--blue"),
    APPROVED: ("Approved: waiting for a second admin", "nhsuk-tag--yellow"),
    REJECTED: ("Rejected", "nhsuk-tag--red"),
    OPEN: ("Open", "nhsuk-tag--green"),
    CLOSED: ("Closed", "nhsuk-tag--grey"),
}
# Short, so that they label a bar of the chart without being cut.
CONTACT_STATUS_LABELS = {
    TO_CONTACT: "To contact",
    "approached": "Approached",
    "declined": "Declined",
    "interested": "Interested",
    "referred": "Referred",
    "enrolled_in_study": "In the study",
    "unreachable": "Unreachable",
    "not_appropriate": "Not appropriate to approach",
}
# The outcome as a clinician chooses it, where there is room to say what it means.
OUTCOME_CHOICE_LABELS = {
    **CONTACT_STATUS_LABELS,
    "not_appropriate": "Not appropriate to approach (clinical judgement)",
}
HOLD_BACK_REASON_LABELS = {
    ON_TOO_MANY_LISTS: "Already on as many open lists as allowed",
    APPROACHED_TOO_OFTEN: "Already approached as often as allowed this year",
}
assert set(REQUEST_STATUS_TAGS) == set(REQUEST_STATUSES)
assert set(CONTACT_STATUS_LABELS) == set(CONTACT_STATUSES)
assert set(HOLD_BACK_REASON_LABELS) == set(HOLD_BACK_REASONS)


@dataclass(frozen=True, slots=True)
class Week:
    ending: dt.date
    figures: tuple[str, ...]  # one per status, in ``FunnelView.statuses`` order


@dataclass(frozen=True, slots=True)
class FunnelView:
    count: str
    held_back: str
    statuses: tuple[str, ...]  # in words
    # (status in words, figure) now; empty when no partner's figures were ever released.
    current: tuple[tuple[str, str], ...]
    chart: BarChart | None
    weeks: tuple[Week, ...]
    by_site: tuple[tuple[str, tuple[str, ...]], ...]  # admins: (site, a figure per status)
    released_at: dt.datetime | None  # partners: when the figures shown were released


def funnel_view(funnel: Mapping[str, Any]) -> FunnelView:
    """The page's view of what ``queries.funnel`` returned, for an admin or a partner."""
    statuses = tuple(funnel["statuses"])
    current = funnel["current"]
    cells = [(CONTACT_STATUS_LABELS[s], current[s]) for s in statuses if s in current]
    return FunnelView(
        count=_figure(funnel["count"]),
        held_back=_figure(funnel["held_back"]),
        statuses=tuple(CONTACT_STATUS_LABELS[s] for s in statuses),
        current=tuple((label, figure(value)) for label, value in cells),
        chart=bar_chart(cells) if cells else None,
        weeks=tuple(
            Week(week["week_ending"], _figures(week, statuses)) for week in funnel["by_week"]
        ),
        by_site=tuple(
            (site, _figures(counts, statuses))
            for site, counts in sorted(funnel.get("by_site", {}).items())
        ),
        released_at=funnel.get("released_at"),
    )


def _figures(counts: Mapping[str, Any], statuses: tuple[str, ...]) -> tuple[str, ...]:
    # A release made before a status existed has no figure for it.
    return tuple(figure(counts[s]) if s in counts else "not counted then" for s in statuses)


def _figure(value: Any) -> str:
    # None: a partner's figures were never released (the budget ran out before the first).
    return "not released" if value is None else figure(value)
