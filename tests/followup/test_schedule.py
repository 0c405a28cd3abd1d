"""The follow-up schedule on worked dates. Pure: no app, no database.

Windows are written out from the protocol the data file models, not read from it.
"""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from collections.abc import Sequence
from importlib.resources import files
from typing import Any

import pytest

from registry.assessments.schedule import (
    COMPLETE,
    DUE,
    IN_WINDOW,
    MISSED,
    NONE,
    OVERDUE,
    PARTIAL,
    SCHEDULE,
    UPCOMING,
    VisitProgress,
    _parse,
    in_schedule,
    visit_progress,
)

ENROLLED = dt.date(2026, 1, 15)


def _data() -> dict[str, Any]:
    text = files("registry.assessments").joinpath("data/schedule.toml").read_text("utf-8")
    return tomllib.loads(text)


def _visit(cohort: str, key: str, assessments: Sequence[tuple[str, dt.date]] = ()) -> VisitProgress:
    return next(p for p in visit_progress(cohort, ENROLLED, assessments) if p.visit.visit == key)


def test_each_cohort_has_its_protocol_in_time_order() -> None:
    assert [v.visit for v in SCHEDULE.protocol("EP").visits] == [
        "baseline", "month_3", "month_6", "month_12", "month_24"
    ]  # fmt: skip
    assert [v.visit for v in SCHEDULE.protocol("TRD").visits] == [
        "baseline", "week_8", "month_6", "month_12"
    ]  # fmt: skip


def test_every_visit_is_sourced_and_flagged_for_confirmation() -> None:
    for protocol in SCHEDULE.protocols.values():
        assert protocol.source
        for visit in protocol.visits:
            assert visit.source and visit.confirm


def test_three_month_visit_window_is_a_month_either_side() -> None:
    visit = _visit("EP", "month_3")

    assert (visit.opens_on, visit.due_on, visit.closes_on) == (
        dt.date(2026, 3, 15), dt.date(2026, 4, 15), dt.date(2026, 5, 15)
    )  # fmt: skip


def test_eight_week_visit_window_is_two_weeks_either_side() -> None:
    visit = _visit("TRD", "week_8")

    assert (visit.opens_on, visit.due_on, visit.closes_on) == (
        dt.date(2026, 2, 26), dt.date(2026, 3, 12), dt.date(2026, 3, 26)
    )  # fmt: skip


def test_twelve_month_visit_window_is_two_months_either_side() -> None:
    visit = _visit("EP", "month_12")

    assert (visit.opens_on, visit.closes_on) == (dt.date(2026, 11, 15), dt.date(2027, 3, 15))


def test_month_end_enrolment_falls_due_on_the_shorter_months_last_day() -> None:
    (visit,) = [
        p for p in visit_progress("EP", dt.date(2026, 8, 31), []) if p.visit.visit == "month_6"
    ]

    assert visit.due_on == dt.date(2027, 2, 28)


def test_visit_with_every_scale_in_window_is_complete() -> None:
    visit = _visit(
        "EP", "month_3", [("CGI_S", dt.date(2026, 3, 15)), ("SOFAS", dt.date(2026, 5, 15))]
    )

    assert visit.state == COMPLETE and visit.remaining == ()


def test_visit_with_some_scales_is_partial_and_names_the_rest() -> None:
    visit = _visit("EP", "month_3", [("SOFAS", dt.date(2026, 4, 10))])

    assert (visit.state, visit.done, visit.remaining) == (PARTIAL, ("SOFAS",), ("CGI_S",))


def test_assessment_outside_the_window_completes_nothing() -> None:
    visit = _visit(
        "EP", "month_3", [("CGI_S", dt.date(2026, 3, 14)), ("SOFAS", dt.date(2026, 5, 16))]
    )

    assert visit.state == NONE


def test_scale_the_visit_does_not_list_completes_nothing() -> None:
    visit = _visit("EP", "month_3", [("PHQ9", dt.date(2026, 4, 15))])

    assert visit.state == NONE


@pytest.mark.parametrize(
    ("today", "status"),
    [
        (dt.date(2026, 3, 14), UPCOMING),
        (dt.date(2026, 3, 15), DUE),
        (dt.date(2026, 4, 14), DUE),
        (dt.date(2026, 4, 15), IN_WINDOW),
        (dt.date(2026, 5, 15), IN_WINDOW),
        (dt.date(2026, 5, 16), OVERDUE),
        (dt.date(2026, 8, 15), OVERDUE),
        (dt.date(2026, 8, 16), MISSED),
    ],
)
def test_incomplete_visit_status_follows_its_window(today: dt.date, status: str) -> None:
    visit = _visit("EP", "month_3", [("SOFAS", dt.date(2026, 4, 1))])

    assert visit.status_on(today, SCHEDULE.overdue_listed_for) == status


def test_complete_visit_is_complete_whatever_the_day() -> None:
    visit = _visit(
        "TRD", "week_8", [("PHQ9", dt.date(2026, 3, 12)), ("GAD7", dt.date(2026, 3, 12))]
    )

    assert visit.status_on(dt.date(2030, 1, 1), SCHEDULE.overdue_listed_for) == COMPLETE


@pytest.mark.parametrize(
    ("status", "level", "scheduled"),
    [
        ("active", None, True),
        ("active", "no_further_contact", True),
        ("active", "no_further_data", False),
        ("shredded", "full", False),
    ],
)
def test_withdrawal_levels_two_and_three_leave_the_schedule(
    status: str, level: str | None, scheduled: bool
) -> None:
    assert in_schedule(status, level) is scheduled


def test_shipped_data_parses_to_the_loaded_schedule() -> None:
    assert _parse(_data()) == SCHEDULE


def _broken(change: Any) -> dict[str, Any]:
    data = copy.deepcopy(_data())
    change(data)
    return data


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["EP"]["visits"][1].update(scales=["NOPE"]), "NOPE is not in instruments"),
        (lambda d: d["EP"]["visits"][1].update(visit="month_4"), "month_4 is not one of"),
        (lambda d: d["EP"]["visits"][1].update(after={"months": 3}), "windows overlap"),
        (lambda d: d["TRD"]["visits"][1].update(visit="baseline"), "lists a visit twice"),
        (lambda d: d["EP"]["visits"][2].update(due={"months": 2}), "not in time order"),
        (lambda d: d.pop("TRD"), "no protocol for the TRD cohort"),
        (lambda d: d["EP"]["visits"][1].update(scales=[]), "lists no scales"),
        (lambda d: d["EP"]["visits"][1].update(due={"days": 90}), "weeks or months"),
    ],
)
def test_bad_schedule_data_fails_at_load(change: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _parse(_broken(change))
