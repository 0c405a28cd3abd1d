"""Response and remission over time (TRD) on worked series. Pure: no app, no database.

Thresholds are written out from the sources cited in outcomes.toml, not read from it.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from importlib.resources import files
from typing import Any

import pytest

from registry.assessments.outcomes import (
    DEFINITIONS,
    Outcome,
    OutcomeDefinitions,
    Rating,
    _parse,
    outcome_of,
)

EPISODE = dt.date(2026, 1, 1)


def on(month: int, day: int = 1) -> dt.date:
    return dt.date(2026, month, day)


def rating(code: str, when: dt.date, total: int, *, itemised: bool = True) -> Rating:
    return Rating(code, when, total, itemised)


def trd(*ratings: Rating, episode_start: dt.date | None = EPISODE) -> Outcome:
    return outcome_of(ratings, cohort="TRD", episode_start=episode_start)


def test_definitions_are_versioned_and_sourced() -> None:
    assert DEFINITIONS.version == "2026-12"
    assert DEFINITIONS.reduction_percent == 50
    assert [scale.code for scale in DEFINITIONS.scales] == ["MADRS", "HAMD17", "QIDS_SR16", "PHQ9"]
    assert all(scale.source for scale in DEFINITIONS.scales) and DEFINITIONS.response_source


def test_no_assessment_gives_unknown_response_and_remission() -> None:
    assert trd() == Outcome(definitions="2026-12")


def test_a_baseline_without_a_later_assessment_is_unknown() -> None:
    assert trd(rating("MADRS", on(2), 30)) == Outcome(definitions="2026-12")


def test_assessments_before_the_episode_are_no_baseline() -> None:
    outcome = trd(rating("MADRS", on(2), 30), rating("MADRS", on(3), 10), episode_start=on(4))

    assert (outcome.response, outcome.remission, outcome.scale) == (None, None, None)


def test_baseline_is_the_first_on_or_after_the_episode_start() -> None:
    outcome = trd(
        rating("MADRS", dt.date(2025, 12, 1), 40),
        rating("MADRS", on(1), 30),
        rating("MADRS", on(2), 20),
        rating("MADRS", on(3), 15),
    )

    assert (outcome.baseline_on, outcome.baseline_total) == (on(1), 30)
    assert (outcome.latest_on, outcome.latest_total) == (on(3), 15)


def test_without_an_episode_start_the_first_assessment_is_the_baseline() -> None:
    outcome = trd(rating("MADRS", on(1), 30), rating("MADRS", on(3), 15), episode_start=None)

    assert (outcome.baseline_total, outcome.response) == (30, True)


def test_exactly_half_the_baseline_is_a_response() -> None:
    outcome = trd(rating("MADRS", on(1), 30), rating("MADRS", on(3), 15))

    assert (outcome.scale, outcome.response, outcome.remission) == ("MADRS", True, False)


def test_one_point_short_of_half_is_no_response() -> None:
    assert trd(rating("MADRS", on(1), 30), rating("MADRS", on(3), 16)).response is False


def test_an_odd_baseline_needs_the_full_half() -> None:
    # 25 to 13 is a 48% fall; 25 to 12 is 52%.
    assert trd(rating("HAMD17", on(1), 25), rating("HAMD17", on(3), 13)).response is False
    assert trd(rating("HAMD17", on(1), 25), rating("HAMD17", on(3), 12)).response is True


@pytest.mark.parametrize(
    ("code", "baseline", "remitted", "not_remitted"),
    [
        ("MADRS", 30, 10, 11),  # <= 10, Hawley 2002
        ("HAMD17", 24, 7, 8),  # <= 7, Frank 1991
        ("QIDS_SR16", 18, 5, 6),  # <= 5, Rush 2006 (STAR*D)
        ("PHQ9", 20, 4, 5),  # < 5
    ],
)
def test_remission_thresholds_at_their_edges(
    code: str, baseline: int, remitted: int, not_remitted: int
) -> None:
    assert trd(rating(code, on(1), baseline), rating(code, on(3), remitted)).remission is True
    assert trd(rating(code, on(1), baseline), rating(code, on(3), not_remitted)).remission is False


def test_a_later_assessment_of_another_scale_is_not_compared_with_the_baseline() -> None:
    outcome = trd(rating("MADRS", on(1), 30), rating("PHQ9", on(3), 2))

    assert (outcome.scale, outcome.response, outcome.remission) == (None, None, None)


def test_the_first_scale_in_order_with_a_series_is_used() -> None:
    outcome = trd(
        rating("PHQ9", on(1), 20),
        rating("MADRS", on(1), 30),
        rating("PHQ9", on(3), 4),
        rating("MADRS", on(3), 25),
    )

    assert (outcome.scale, outcome.response, outcome.remission) == ("MADRS", False, False)


def test_a_scale_without_a_series_gives_way_to_the_next() -> None:
    outcome = trd(rating("MADRS", on(1), 30), rating("PHQ9", on(1), 20), rating("PHQ9", on(3), 4))

    assert (outcome.scale, outcome.response, outcome.remission) == ("PHQ9", True, True)


def test_a_same_day_repeat_is_no_series() -> None:
    assert trd(rating("MADRS", on(1), 30), rating("MADRS", on(1), 10)).scale is None


def test_a_baseline_at_zero_cannot_fall_so_response_is_unknown() -> None:
    outcome = trd(rating("PHQ9", on(1), 0), rating("PHQ9", on(3), 0))

    assert (outcome.response, outcome.remission) == (None, True)


def test_totals_recorded_alone_count_by_default() -> None:
    outcome = trd(
        rating("MADRS", on(1), 30, itemised=False), rating("MADRS", on(3), 10, itemised=False)
    )

    assert (outcome.response, outcome.remission) == (True, True)


def test_totals_alone_can_be_left_out_by_the_definitions() -> None:
    items_only = _definitions(totals_alone_count=False)

    outcome = outcome_of(
        [rating("MADRS", on(1), 30, itemised=False), rating("MADRS", on(3), 10)],
        cohort="TRD",
        episode_start=EPISODE,
        definitions=items_only,
    )

    assert outcome.scale is None


def test_early_psychosis_has_no_outcome_derived() -> None:
    outcome = outcome_of(
        [rating("MADRS", on(1), 30), rating("MADRS", on(3), 10)], cohort="EP", episode_start=None
    )

    assert outcome == Outcome(definitions=None)


def test_definitions_naming_an_unknown_scale_stop_the_import() -> None:
    data = _data()
    data["scales"][0]["code"] = "MADRS10"

    with pytest.raises(ValueError, match=r"MADRS10 is not in instruments\.toml"):
        _parse(data)


def test_definitions_with_a_threshold_outside_the_totals_stop_the_import() -> None:
    data = _data()
    data["scales"][3]["remission_at_most"] = 27

    with pytest.raises(ValueError, match="PHQ9's remission threshold is outside its totals"):
        _parse(data)


def _data() -> dict[str, Any]:
    text = files("registry.assessments").joinpath("data/outcomes.toml").read_text("utf-8")
    return tomllib.loads(text)


def _definitions(**changes: object) -> OutcomeDefinitions:
    data = _data()
    data.update(changes)
    return _parse(data)
