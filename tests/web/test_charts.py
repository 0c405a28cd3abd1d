"""The comparison chart's geometry: bars and whiskers where the figures put them, on an axis
that fits them, with the marks a reader needs."""

from __future__ import annotations

import pytest

from registry.web.charts import (
    BAR_HEIGHT,
    CHART_WIDTH,
    FIGURE_WIDTH,
    LABEL_WIDTH,
    NO_REFERENCE,
    Comparison,
    axis_end,
    comparison_chart,
    percent,
)

PLOT_WIDTH = CHART_WIDTH - LABEL_WIDTH - FIGURE_WIDTH


def group(name: str = "white", **overrides: object) -> Comparison:
    values: dict[str, object] = {
        "group": name,
        "label": name.capitalize(),
        "share": 0.25,
        "ci_low": 0.1,
        "ci_high": 0.4,
        "reference_share": 0.5,
    }
    values.update(overrides)
    return Comparison(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("largest", "end", "step"),
    [
        (0.0, 0.05, 0.05),
        (0.3, 0.3, 0.05),  # exactly on a step: no extra interval from rounding error
        (0.31, 0.4, 0.1),
        (0.62, 0.8, 0.2),
        (0.75, 0.8, 0.2),
        (1.0, 1.0, 0.2),
        (1.3, 1.0, 0.2),  # never beyond 100%
    ],
)
def test_the_axis_ends_at_the_first_step_past_the_largest_figure(
    largest: float, end: float, step: float
) -> None:
    assert axis_end(largest) == pytest.approx((end, step))


def test_bars_and_whiskers_are_drawn_to_the_axis_scale() -> None:
    chart = comparison_chart([group()])

    (row,) = chart.rows
    assert chart.domain_max == pytest.approx(0.5)  # the reference share is the largest figure
    per_unit = PLOT_WIDTH / 0.5
    assert row.cohort_bar.x == LABEL_WIDTH
    assert row.cohort_bar.width == pytest.approx(0.25 * per_unit, abs=0.1)
    assert row.reference_bar.width == pytest.approx(0.5 * per_unit, abs=0.1)
    assert row.whisker.x1 == pytest.approx(LABEL_WIDTH + 0.1 * per_unit, abs=0.1)
    assert row.whisker.x2 == pytest.approx(LABEL_WIDTH + 0.4 * per_unit, abs=0.1)
    assert row.whisker.y == row.cohort_bar.y + BAR_HEIGHT / 2
    assert row.reference_bar.y > row.cohort_bar.y + BAR_HEIGHT  # below it, not over it
    # The figure clears the whisker, which reaches past the bar.
    assert row.cohort_figure == "25.0%" and row.cohort_figure_x > row.whisker.x2
    assert [tick.label for tick in chart.ticks] == ["0%", "10%", "20%", "30%", "40%", "50%"]
    assert chart.ticks[-1].x == pytest.approx(LABEL_WIDTH + PLOT_WIDTH)


def test_each_group_gets_its_own_row_and_the_chart_grows_to_hold_them() -> None:
    one = comparison_chart([group()])
    three = comparison_chart([group("white"), group("asian"), group("black")])

    tops = [row.cohort_bar.y for row in three.rows]
    assert tops == sorted(tops)
    for upper, lower in zip(three.rows, three.rows[1:], strict=False):
        assert upper.reference_bar.y + BAR_HEIGHT < lower.cohort_bar.y
    assert three.height > one.height
    assert three.plot_bottom > three.rows[-1].reference_bar.y + BAR_HEIGHT


def test_a_group_without_a_reference_figure_gets_words_not_a_bar() -> None:
    (row,) = comparison_chart([group(reference_share=None)]).rows

    assert row.reference_bar.width == 0
    assert row.reference_figure == NO_REFERENCE


def test_a_figure_to_confirm_is_marked_and_a_flagged_group_is_labelled() -> None:
    (row,) = comparison_chart([group(reference_to_confirm=True, flagged=True)]).rows

    assert row.reference_figure == "50.0% \N{DAGGER}"
    assert row.comparison.flagged
    assert row.label_y < row.flag_y  # the "Under-represented" line goes under the name


def test_a_long_label_is_shortened_for_the_chart_only() -> None:
    long_name = "Any other ethnic group, described at length"

    (row,) = comparison_chart([group(label=long_name)]).rows

    assert row.label.endswith("\N{HORIZONTAL ELLIPSIS}") and len(row.label) < len(long_name)
    assert row.comparison.label == long_name


def test_no_groups_make_an_empty_chart_not_an_error() -> None:
    chart = comparison_chart([])

    assert chart.rows == ()
    assert chart.domain_max == pytest.approx(0.05)


@pytest.mark.parametrize(("share", "text"), [(0.0, "0.0%"), (0.25, "25.0%"), (2 / 3, "66.7%")])
def test_a_share_reads_to_one_decimal_place(share: float, text: str) -> None:
    assert percent(share) == text
