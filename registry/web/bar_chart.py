"""Figures as horizontal bars, one per category: the chart beside the eligibility page's
breakdown table and the recruitment funnel's. Its geometry is worked out here rather than in
a template, where arithmetic would be hard to read and impossible to test.

A published figure that is not a number (a partner's ``"<10"``) stays
words, never a bar. Each category's name is drawn in full on the lines above its bar,
wrapped, never cut off: names in words ("Asian or Asian British - Pakistani (J), Female")
are long.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from registry.eligibility.disclosure import Published

# SVG user units; the viewBox scales the whole chart to the width of its column.
# About half the page's width, so the chart's text is drawn near its true size there.
CHART_WIDTH = 460
FIGURE_WIDTH = 90  # room after the longest bar for its figure
BAR_HEIGHT = 24
BAR_GAP = 14
TEXT_GAP = 6
LINE_HEIGHT = 20  # a line of a category's name, above its bar
# Characters of 16px text that fit the chart's width (about 8 units each, with room).
LINE_LENGTH = 50
# Text's baseline sits this far below the top of its bar, so it reads as centred.
BASELINE = BAR_HEIGHT * 0.7


@dataclass(frozen=True, slots=True)
class Bar:
    category: str  # in full, as in the table
    label: str  # as drawn, in full
    lines: tuple[tuple[str, float], ...]  # the label wrapped: (text, baseline y) per line
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
    plot_width = CHART_WIDTH - FIGURE_WIDTH
    exact = [value for _, value in cells if isinstance(value, int)]
    longest = max(exact, default=0) or 1  # all zero or hidden: no bar has length
    bars = []
    top = 0.0
    for category, value in cells:
        wrapped = textwrap.wrap(category, LINE_LENGTH, break_on_hyphens=False) or [""]
        lines = tuple(
            (text, round(top + (i + 1) * LINE_HEIGHT - 5, 1)) for i, text in enumerate(wrapped)
        )
        y = top + len(wrapped) * LINE_HEIGHT
        width = round(value / longest * plot_width, 1) if isinstance(value, int) else 0.0
        bars.append(
            Bar(
                category=category,
                label=category,
                lines=lines,
                figure=figure(value),
                x=0,
                y=y,
                width=width,
                height=BAR_HEIGHT,
                text_y=round(y + BASELINE, 1),
                label_x=0,
                figure_x=width + TEXT_GAP,
            )
        )
        top = y + BAR_HEIGHT + BAR_GAP
    return BarChart(width=CHART_WIDTH, height=round(top), bars=tuple(bars))
