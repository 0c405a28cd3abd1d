"""Server-drawn SVG charts: the geometry is worked out here, so a template only places what
this module computes (and it can be tested), and pages need no JavaScript.

``comparison_chart`` draws, for each group, the cohort's share as a bar with its 95%
confidence interval as a whisker, and the reference population's share as a second bar
beneath it, on one percentage axis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

# SVG user units; the viewBox scales the chart to the width of its column, which is the
# page's full width, so text is drawn near its true size.
CHART_WIDTH = 720
LABEL_WIDTH = 190  # group names, right-aligned against the bars
FIGURE_WIDTH = 130  # room after the longest bar or whisker for its figure
LEGEND_HEIGHT = 40
AXIS_HEIGHT = 30
BAR_HEIGHT = 14
BAR_GAP = 3  # between a group's cohort bar and its reference bar
ROW_GAP = 18
TEXT_GAP = 6
CAP_HALF = 5  # half the height of a whisker's end caps
SWATCH = 12
# The axis ends at the first multiple of a step past the largest figure; the smallest step
# giving at most MAX_TICKS intervals is used.
TICK_STEPS = (0.05, 0.1, 0.2, 0.25)
MAX_TICKS = 6
# Past this a label would run into the bars; the table below has it in full.
LONGEST_LABEL = 24
NO_REFERENCE = "no reference figure"
TO_CONFIRM = "\N{DAGGER}"  # the reference figure is still to be confirmed at its source


def percent(share: float) -> str:
    """A share (0-1) as the chart and the tables beside it print it: one decimal place."""
    return f"{100 * share:.1f}%"


@dataclass(frozen=True, slots=True)
class Comparison:
    """One group: the cohort's share with its 95% interval, and the reference's share."""

    group: str  # the group's code, as in the report
    label: str
    share: float  # 0-1
    ci_low: float
    ci_high: float
    reference_share: float | None  # 0-1; None when the reference has no figure for it
    reference_to_confirm: bool = False
    flagged: bool = False  # under-represented


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Whisker:
    x1: float
    x2: float
    y: float
    cap_top: float
    cap_bottom: float


@dataclass(frozen=True, slots=True)
class Row:
    comparison: Comparison
    label: str  # as drawn: shortened if it would not fit
    label_x: float
    label_y: float
    flag_y: float  # the "Under-represented" line under the label, when flagged
    cohort_bar: Box
    whisker: Whisker
    cohort_figure: str
    cohort_figure_x: float
    cohort_figure_y: float
    reference_bar: Box  # width 0 when there is no reference figure
    reference_figure: str
    reference_figure_x: float
    reference_figure_y: float


@dataclass(frozen=True, slots=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True)
class LegendKey:
    kind: str  # "cohort" or "reference": which bar it shows
    label: str
    swatch: Box
    text_x: float
    text_y: float


@dataclass(frozen=True, slots=True)
class ComparisonChart:
    width: int
    height: int
    plot_top: float
    plot_bottom: float
    axis_label_y: float
    domain_max: float  # the share at the right-hand end of the axis
    rows: tuple[Row, ...]
    ticks: tuple[Tick, ...]
    legend: tuple[LegendKey, ...]


def axis_end(largest: float) -> tuple[float, float]:
    """(end of the axis, tick step): the first multiple of a step at or past ``largest``,
    never beyond 100%, with at most MAX_TICKS intervals."""
    largest = min(max(largest, 0.0), 1.0)
    for step in TICK_STEPS:
        # Rounded first, so 0.3 / 0.1 = 2.9999999999999996 ends at 0.3, not 0.4.
        intervals = max(1, math.ceil(round(largest / step, 9)))
        if intervals <= MAX_TICKS:
            return min(1.0, round(intervals * step, 9)), step
    return 1.0, TICK_STEPS[-1]


def comparison_chart(comparisons: Sequence[Comparison]) -> ComparisonChart:
    plot_x = LABEL_WIDTH
    plot_width = CHART_WIDTH - LABEL_WIDTH - FIGURE_WIDTH
    largest = max(
        (max(c.ci_high, c.share, c.reference_share or 0.0) for c in comparisons), default=0.0
    )
    domain_max, step = axis_end(largest)

    def x_of(share: float) -> float:
        return round(plot_x + min(share, domain_max) / domain_max * plot_width, 1)

    row_height = 2 * BAR_HEIGHT + BAR_GAP + ROW_GAP
    plot_top = LEGEND_HEIGHT
    rows = []
    for index, c in enumerate(comparisons):
        top = plot_top + ROW_GAP / 2 + index * row_height
        cohort_y = top
        reference_y = top + BAR_HEIGHT + BAR_GAP
        middle = cohort_y + BAR_HEIGHT / 2
        reference_width = 0.0 if c.reference_share is None else x_of(c.reference_share) - plot_x
        rows.append(
            Row(
                comparison=c,
                label=_shortened(c.label),
                label_x=plot_x - TEXT_GAP,
                # One line, centred on the pair of bars; two when flagged.
                label_y=round(top + (BAR_HEIGHT if c.flagged else BAR_HEIGHT + BAR_GAP / 2 + 5)),
                flag_y=round(reference_y + BAR_HEIGHT - 1),
                cohort_bar=Box(plot_x, cohort_y, round(x_of(c.share) - plot_x, 1), BAR_HEIGHT),
                whisker=Whisker(
                    x_of(c.ci_low), x_of(c.ci_high), middle, middle - CAP_HALF, middle + CAP_HALF
                ),
                cohort_figure=percent(c.share),
                cohort_figure_x=max(x_of(c.share), x_of(c.ci_high)) + TEXT_GAP,
                cohort_figure_y=_baseline(cohort_y),
                reference_bar=Box(plot_x, reference_y, round(reference_width, 1), BAR_HEIGHT),
                reference_figure=_reference_figure(c),
                reference_figure_x=round(plot_x + reference_width + TEXT_GAP, 1),
                reference_figure_y=_baseline(reference_y),
            )
        )
    plot_bottom = plot_top + len(comparisons) * row_height
    ticks = tuple(
        Tick(x_of(i * step), f"{round(100 * i * step)}%")
        for i in range(round(domain_max / step) + 1)
    )
    return ComparisonChart(
        width=CHART_WIDTH,
        height=round(plot_bottom + AXIS_HEIGHT),
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        axis_label_y=plot_bottom + AXIS_HEIGHT - 10,
        domain_max=domain_max,
        rows=tuple(rows),
        ticks=ticks,
        legend=_legend(plot_x),
    )


def _legend(x: float) -> tuple[LegendKey, ...]:
    y = (LEGEND_HEIGHT - SWATCH) / 2
    keys = []
    for kind, label in (
        ("cohort", "Cohort share (line: 95% confidence interval)"),
        ("reference", "Reference population share"),
    ):
        keys.append(
            LegendKey(kind, label, Box(x, y, SWATCH, SWATCH), x + SWATCH + TEXT_GAP, y + 11)
        )
        x += 300
    return tuple(keys)


def _reference_figure(c: Comparison) -> str:
    if c.reference_share is None:
        return NO_REFERENCE
    return percent(c.reference_share) + (f" {TO_CONFIRM}" if c.reference_to_confirm else "")


def _baseline(bar_y: float) -> float:
    """Text's baseline for a figure beside a bar, so it reads as centred on it."""
    return round(bar_y + BAR_HEIGHT * 0.8, 1)


def _shortened(label: str) -> str:
    return (
        label
        if len(label) <= LONGEST_LABEL
        else label[: LONGEST_LABEL - 1] + "\N{HORIZONTAL ELLIPSIS}"
    )
