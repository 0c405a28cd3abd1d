"""The follow-up schedule: which visits each cohort's participants are due, when, and which
rating scales complete them, by ``data/schedule.toml`` (whose rules are explained at its
head).

Pure: an enrolment date and a series of assessments in, each visit's progress out. The
facts row stores completeness (``registry.facts.followup``) and the site worklist reads the
same progress, so the two cannot disagree. A file with an unknown scale, a visit key the
facts table has no column for, or overlapping windows stops the import.
"""

from __future__ import annotations

import calendar
import datetime as dt
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from itertools import pairwise
from typing import Any

from registry.assessments.instruments import INSTRUMENT_CODES
from registry.participants.models import COHORTS, FULL, NO_FURTHER_DATA, STATUS_SHREDDED

# Every visit a protocol may name, in time order: each has its participant_facts column
# (``followup_<key>``), so a new one needs a migration as well as a line in the data.
VISIT_KEYS = ("baseline", "week_8", "month_3", "month_6", "month_12", "month_24")

# A visit's state, from the assessments alone (stored in the facts row).
COMPLETE = "complete"
PARTIAL = "partial"
NONE = "none"
VISIT_STATES = (COMPLETE, PARTIAL, NONE)

# Where an incomplete visit stands on a given day (the worklist's statuses and the rest).
UPCOMING = "upcoming"  # its window has not opened
DUE = "due"  # the window is open, the due date still ahead
IN_WINDOW = "in_window"  # the due date reached, the window still open
OVERDUE = "overdue"  # the window closed lately: still worth chasing
MISSED = "missed"  # closed longer ago than the schedule keeps chasing
WORKLIST_STATUSES = (DUE, IN_WINDOW, OVERDUE)

# Withdrawal levels that take a participant off the schedule at once: no new data.
LEAVES_SCHEDULE = (NO_FURTHER_DATA, FULL)


@dataclass(frozen=True, slots=True)
class Span:
    """A length of time as a protocol states it: whole weeks or calendar months."""

    weeks: int = 0
    months: int = 0

    def after(self, day: dt.date) -> dt.date:
        return _add_months(day, self.months) + dt.timedelta(weeks=self.weeks)

    def before(self, day: dt.date) -> dt.date:
        return _add_months(day, -self.months) - dt.timedelta(weeks=self.weeks)

    def in_words(self) -> str:
        """The span as pages say it: 3 months, 1 month and 2 weeks; nothing if empty."""
        parts = [(self.months, "month"), (self.weeks, "week")]
        return " and ".join(f"{n} {unit}{'' if n == 1 else 's'}" for n, unit in parts if n)


def _add_months(day: dt.date, months: int) -> dt.date:
    year, index = divmod(day.year * 12 + day.month - 1 + months, 12)
    month = index + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True, slots=True)
class Visit:
    visit: str  # one of VISIT_KEYS
    label: str
    due: Span
    before: Span
    after: Span
    scales: tuple[str, ...]
    source: str
    confirm: bool = False

    def due_on(self, enrolled_on: dt.date) -> dt.date:
        return self.due.after(enrolled_on)

    def opens_on(self, enrolled_on: dt.date) -> dt.date:
        return self.before.before(self.due_on(enrolled_on))

    def closes_on(self, enrolled_on: dt.date) -> dt.date:
        return self.after.after(self.due_on(enrolled_on))


@dataclass(frozen=True, slots=True)
class Protocol:
    cohort: str
    source: str
    visits: tuple[Visit, ...]  # in time order


@dataclass(frozen=True, slots=True)
class Schedule:
    version: str
    overdue_listed_for: Span
    protocols: Mapping[str, Protocol]

    def protocol(self, cohort: str) -> Protocol:
        return self.protocols[cohort]

    def visit_keys(self) -> tuple[str, ...]:
        """The visits any cohort has, in time order (the worklist's visit filter)."""
        named = {v.visit for p in self.protocols.values() for v in p.visits}
        return tuple(key for key in VISIT_KEYS if key in named)

    def label(self, key: str) -> str:
        for protocol in self.protocols.values():
            for visit in protocol.visits:
                if visit.visit == key:
                    return visit.label
        raise KeyError(key)


@dataclass(frozen=True, slots=True)
class VisitProgress:
    """One visit of one participant: when it falls and which scales are done."""

    visit: Visit
    due_on: dt.date
    opens_on: dt.date
    closes_on: dt.date
    done: tuple[str, ...]  # scales completed within the window, in the visit's order
    remaining: tuple[str, ...]

    @property
    def state(self) -> str:
        if not self.remaining:
            return COMPLETE
        return PARTIAL if self.done else NONE

    def status_on(self, today: dt.date, overdue_listed_for: Span) -> str:
        if not self.remaining:
            return COMPLETE
        if today < self.opens_on:
            return UPCOMING
        if today < self.due_on:
            return DUE
        if today <= self.closes_on:
            return IN_WINDOW
        if today <= overdue_listed_for.after(self.closes_on):
            return OVERDUE
        return MISSED


def _span(table: Mapping[str, int]) -> Span:
    unknown = set(table) - {"weeks", "months"}
    if unknown:
        raise ValueError(f"a span takes weeks or months, not {', '.join(sorted(unknown))}")
    return Span(weeks=table.get("weeks", 0), months=table.get("months", 0))


def _parse(table: Mapping[str, Any]) -> Schedule:
    problems: list[str] = []
    protocols: dict[str, Protocol] = {}
    for cohort in COHORTS:
        if cohort not in table:
            problems.append(f"no protocol for the {cohort} cohort")
            continue
        visits = tuple(
            Visit(
                visit=v["visit"],
                label=v["label"],
                due=_span(v["due"]),
                before=_span(v["before"]),
                after=_span(v["after"]),
                scales=tuple(v["scales"]),
                source=v["source"],
                confirm=v.get("confirm", False),
            )
            for v in table[cohort]["visits"]
        )
        protocols[cohort] = Protocol(cohort, table[cohort]["source"], visits)
        problems += _problems_of(cohort, visits)
    unknown = set(table) - {*COHORTS, "version", "overdue_listed_for"}
    if unknown:
        problems.append(f"unknown cohort {', '.join(sorted(unknown))}")
    if problems:
        raise ValueError("schedule.toml: " + "; ".join(problems))
    return Schedule(table["version"], _span(table["overdue_listed_for"]), protocols)


def _problems_of(cohort: str, visits: tuple[Visit, ...]) -> list[str]:
    problems = []
    keys = [v.visit for v in visits]
    if len(set(keys)) != len(keys):
        problems.append(f"{cohort} lists a visit twice")
    # Any enrolment date shows the order and overlaps: spans are fixed lengths.
    start = dt.date(2001, 1, 31)  # a 31st, so month ends are exercised
    for visit in visits:
        if visit.visit not in VISIT_KEYS:
            problems.append(f"{cohort} visit {visit.visit} is not one of {', '.join(VISIT_KEYS)}")
        if not visit.scales:
            problems.append(f"{cohort} {visit.visit} lists no scales")
        for code in visit.scales:
            if code not in INSTRUMENT_CODES:
                problems.append(f"{cohort} {visit.visit}: {code} is not in instruments.toml")
    for earlier, later in pairwise(visits):
        if later.due_on(start) <= earlier.due_on(start):
            problems.append(f"{cohort} visits are not in time order at {later.visit}")
        elif later.opens_on(start) <= earlier.closes_on(start):
            problems.append(f"{cohort} {earlier.visit} and {later.visit} windows overlap")
    return problems


def _load() -> Schedule:
    text = files("registry.assessments").joinpath("data/schedule.toml").read_text("utf-8")
    return _parse(tomllib.loads(text))


SCHEDULE = _load()


def in_schedule(status: str, withdrawal_level: str | None) -> bool:
    """Whether follow-up is still due for someone: not withdrawn from further data (W2),
    not fully withdrawn (W3, shredded)."""
    return status != STATUS_SHREDDED and withdrawal_level not in LEAVES_SCHEDULE


def visit_progress(
    cohort: str,
    enrolled_on: dt.date,
    assessments: Iterable[tuple[str, dt.date]],
    *,
    schedule: Schedule = SCHEDULE,
) -> list[VisitProgress]:
    """Each visit of the cohort's protocol for someone enrolled on ``enrolled_on``, given
    their assessments as (instrument, administered_on) pairs."""
    given = list(assessments)
    progress = []
    for visit in schedule.protocol(cohort).visits:
        opens, closes = visit.opens_on(enrolled_on), visit.closes_on(enrolled_on)
        inside = {code for code, on in given if opens <= on <= closes}
        progress.append(
            VisitProgress(
                visit=visit,
                due_on=visit.due_on(enrolled_on),
                opens_on=opens,
                closes_on=closes,
                done=tuple(code for code in visit.scales if code in inside),
                remaining=tuple(code for code in visit.scales if code not in inside),
            )
        )
    return progress
