"""Figures as horizontal bars, one per category: the chart beside the eligibility page's
breakdown table and the recruitment funnel's. Its geometry is worked out here rather than in
a template, where arithmetic would be hard to read and impossible to test.

A published figure that is not a number (a partner's ``"<10"``) stays
words, never a bar.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from registry.eligibility.disclosure import Published

# SVG user units; the viewBox scales the whole chart to the width of its column.
# About half the page's width, so the chart's text is drawn near its true size there.
CHART_WIDTH = 460
LABEL_WIDTH = 140  # the category names, right-aligned against the bars
FIGURE_WIDTH = 90  # room after the longest bar for its figure
BAR_HEIGHT = 24
BAR_GAP = 10
TEXT_GAP = 6
# Past this a label would run into the bars; the table beside the chart has it in full.
LONGEST_LABEL = 15
# Text's baseline sits this far below the top of its bar, so it reads as centred.
BASELINE = BAR_HEIGHT * 0.7


@dataclass(frozen=True, slots=True)
class Bar:
    category: str  # in full, as in the table
    label: str  # as drawn: shortened if it would not fit
    figure: str  # the published figure as text: "42", "<10"
    x: float
    y: float
    width: float  # 0 when there is no exact figure to draw
    height: float
    text_y: float
    label_x: float
    figure_x: float


@dataclass(frozen=True, slots=True)
class BarChart:
    width: int
    height: int
    bars: tuple[Bar, ...]


def figure(value: Published) -> str:
    return str(value)


def bar_chart(cells: Sequence[tuple[str, Published]]) -> BarChart:
    """Horizontal bars, one per (category, published figure), scaled to the largest exact
    figure. A figure that is not a number gets no bar, only its words."""
    plot_width = CHART_WIDTH - LABEL_WIDTH - FIGURE_WIDTH
    exact = [value for _, value in cells if isinstance(value, int)]
    longest = max(exact, default=0) or 1  # all zero or hidden: no bar has length
    bars = []
    for row, (category, value) in enumerate(cells):
        y = BAR_GAP + row * (BAR_HEIGHT + BAR_GAP)
        width = round(value / longest * plot_width, 1) if isinstance(value, int) else 0.0
        bars.append(
            Bar(
                category=category,
                label=_shortened(category),
                figure=figure(value),
                x=LABEL_WIDTH,
                y=y,
                width=width,
                height=BAR_HEIGHT,
                text_y=round(y + BASELINE, 1),
                label_x=LABEL_WIDTH - TEXT_GAP,
                figure_x=LABEL_WIDTH + width + TEXT_GAP,
            )
        )
    height = BAR_GAP + len(cells) * (BAR_HEIGHT + BAR_GAP)
    return BarChart(width=CHART_WIDTH, height=height, bars=tuple(bars))


def _shortened(label: str) -> str:
    if len(label) <= LONGEST_LABEL:
        return label
    return label[: LONGEST_LABEL - 1] + "\N{HORIZONTAL ELLIPSIS}"
