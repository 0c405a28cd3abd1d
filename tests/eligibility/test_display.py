"""How a count's answer is laid out: the bar chart's geometry and the breakdown table."""

from __future__ import annotations

import pytest
from flask import Flask, render_template_string

from registry.web.bar_chart import CHART_WIDTH, FIGURE_WIDTH, LINE_LENGTH, TEXT_GAP, bar_chart
from registry.web.eligibility.display import count_answer

PLOT_WIDTH = CHART_WIDTH - FIGURE_WIDTH


def test_bars_are_in_proportion_and_the_longest_fills_the_plot() -> None:
    chart = bar_chart([("female", 30), ("male", 15), ("not_stated", 0)])

    widths = [bar.width for bar in chart.bars]

    assert widths == [PLOT_WIDTH, PLOT_WIDTH / 2, 0]
    assert all(bar.x == 0 for bar in chart.bars)
    assert [bar.figure_x for bar in chart.bars] == [w + TEXT_GAP for w in widths]


def test_bars_do_not_overlap_and_fit_the_chart() -> None:
    chart = bar_chart([(str(n), n) for n in range(1, 8)])

    tops = [bar.y for bar in chart.bars]

    assert all(b.y >= a.y + a.height for a, b in zip(chart.bars, chart.bars[1:], strict=False))
    assert tops[0] > 0 and chart.bars[-1].y + chart.bars[-1].height < chart.height


def test_figures_that_are_not_numbers_get_no_bar_and_do_not_set_the_scale() -> None:
    chart = bar_chart([("female", 20), ("male", "<10"), ("not_stated", "suppressed")])

    assert [(bar.figure, bar.width) for bar in chart.bars] == [
        ("20", PLOT_WIDTH),
        ("<10", 0),
        ("suppressed", 0),
    ]


def test_nothing_to_draw_is_not_a_division_by_zero() -> None:
    assert [bar.width for bar in bar_chart([("a", 0), ("b", "<10")]).bars] == [0, 0]


LONG = "Asian or Asian British \u2013 Any other Asian background (L), Not stated (asked, declined)"


def test_long_labels_are_wrapped_above_their_bar_never_cut_off() -> None:
    first, second = bar_chart([(LONG, 5), ("Male", 3)]).bars

    assert " ".join(text for text, _ in first.lines) == LONG
    assert all(len(text) <= LINE_LENGTH for text, _ in first.lines) and len(first.lines) > 1
    assert all(y < first.y for _, y in first.lines)  # above the bar
    assert first.y + first.height < min(y for _, y in second.lines) - 15  # and not on the next


def test_the_svg_text_holds_every_label_in_full(app: Flask) -> None:
    chart = bar_chart([(LONG, 5)])
    with app.test_request_context():
        svg = render_template_string(
            '{% from "macros.html" import bar_chart %}{{ bar_chart(chart, "t") }}', chart=chart
        )

    label = svg.split('class="registry-chart__label"')[1].split("</text>")[0]
    words = " ".join(part.split(">")[-1] for part in label.split("</tspan>"))
    assert " ".join(words.split()) == LONG
    assert "\u2026" not in svg


@pytest.mark.parametrize(
    ("result", "withheld"),
    [
        ({"count": 12}, False),
        ({"count": "<10", "breakdown": {"fields": ["sex"], "cells": [], "withheld": True}}, True),
    ],
)
def test_an_answer_without_cells_has_no_table_or_chart(
    result: dict[str, object], withheld: bool
) -> None:
    answer = count_answer(result)

    assert (answer.table, answer.chart, answer.withheld) == (None, None, withheld)


def test_a_two_field_breakdown_reads_down_then_across_with_totals() -> None:
    cells = [
        {"sex": sex, "cohort": cohort, "count": count}
        for (sex, cohort), count in {
            ("female", "EP"): 10,
            ("female", "TRD"): "suppressed",
            ("male", "EP"): "<10",
            ("male", "TRD"): 20,
        }.items()
    ]
    totals = {
        "sex": [{"sex": "female", "count": 25}, {"sex": "male", "count": 25}],
        "cohort": [{"cohort": "EP", "count": 15}, {"cohort": "TRD", "count": 35}],
    }
    result = {
        "count": 50,
        "breakdown": {"fields": ["sex", "cohort"], "cells": cells, "totals": totals},
    }

    answer = count_answer(result)

    assert answer.table is not None and answer.chart is not None
    ep, trd = "Early psychosis (EP)", "Treatment-resistant depression (TRD)"
    assert answer.fields == ("Sex", "Cohort")
    assert answer.table.head == ("Sex \u2192 Cohort", ep, trd, "Total")
    assert answer.table.rows == (("Female", "10", "suppressed", "25"), ("Male", "<10", "20", "25"))
    assert answer.table.totals == ("Total", "15", "35", "50")
    assert [bar.category for bar in answer.chart.bars] == [
        f"Female, {ep}",
        f"Female, {trd}",
        f"Male, {ep}",
        f"Male, {trd}",
    ]
