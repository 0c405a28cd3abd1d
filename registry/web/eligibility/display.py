"""How a count's answer is laid out on the query page: the table of figures, and a bar
chart drawn from the same cells.

Pure functions over the payload ``count_eligible`` returns, so the page shows exactly what
the API would: a partner's ``"<10"`` and ``"suppressed"`` cells stay words, never bars.
The chart's geometry is worked out here rather than in the template, where arithmetic
would be hard to read and impossible to test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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
TOTAL = "Total"


@dataclass(frozen=True, slots=True)
class Bar:
    category: str  # in full, as in the table
    label: str  # as drawn: shortened if it would not fit
    figure: str  # the published figure as text: "42", "<10", "suppressed"
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


@dataclass(frozen=True, slots=True)
class Table:
    """A breakdown as rows of figures: ``head`` names the columns, each row starts with its
    category, and the last row holds the totals."""

    head: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    totals: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CountAnswer:
    count: str
    fields: tuple[str, ...]
    withheld: bool  # a breakdown was asked for, but no safe pattern could be shown
    table: Table | None
    chart: BarChart | None


def count_answer(result: Mapping[str, Any]) -> CountAnswer:
    """The page's view of what ``count_eligible`` returned."""
    breakdown = result.get("breakdown")
    if breakdown is None:
        return CountAnswer(figure(result["count"]), (), False, None, None)
    fields = tuple(breakdown["fields"])
    if breakdown.get("withheld"):
        return CountAnswer(figure(result["count"]), fields, True, None, None)
    cells = breakdown["cells"]
    labelled = [(", ".join(cell[name] for name in fields), cell["count"]) for cell in cells]
    return CountAnswer(
        count=figure(result["count"]),
        fields=fields,
        withheld=False,
        table=breakdown_table(result["count"], breakdown),
        chart=bar_chart(labelled),
    )


def figure(value: Published) -> str:
    return str(value)


def breakdown_table(count: Published, breakdown: Mapping[str, Any]) -> Table:
    """One field: a row per category. Two: the first field down, the second across."""
    fields = breakdown["fields"]
    cells = breakdown["cells"]
    if len(fields) == 1:
        (name,) = fields
        return Table(
            head=(name, "Count"),
            rows=tuple((cell[name], figure(cell["count"])) for cell in cells),
            totals=(TOTAL, figure(count)),
        )
    down, across = fields
    row_totals = breakdown["totals"][down]
    column_totals = breakdown["totals"][across]
    columns = [total[across] for total in column_totals]
    by_key = {(cell[down], cell[across]): cell["count"] for cell in cells}
    return Table(
        head=(f"{down} \N{RIGHTWARDS ARROW} {across}", *columns, TOTAL),
        rows=tuple(
            (
                total[down],
                *(figure(by_key[(total[down], column)]) for column in columns),
                figure(total["count"]),
            )
            for total in row_totals
        ),
        totals=(TOTAL, *(figure(total["count"]) for total in column_totals), figure(count)),
    )


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
