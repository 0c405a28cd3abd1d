"""How a count's answer is laid out on the query page: the table of figures, and a bar
chart drawn from the same cells.

Pure functions over the payload ``count_eligible`` returns, so the page shows exactly what
the API would: a partner's ``"<10"`` cells stay words, never bars.
The chart is ``registry.web.bar_chart``'s, which the recruitment funnel draws too. Fields
and their categories are shown by their labels ("Sex", "Female"), never their codes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry.eligibility.catalogue import catalogue
from registry.eligibility.disclosure import Published
from registry.privacy.actions import BudgetState
from registry.web.bar_chart import BarChart, bar_chart, figure

TOTAL = "Total"


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
    fields = tuple(field_label(name) for name in breakdown["fields"])
    if breakdown.get("withheld"):
        return CountAnswer(figure(result["count"]), fields, True, None, None)
    cells = breakdown["cells"]
    names = breakdown["fields"]
    labelled = [
        (", ".join(value_label(name, cell[name]) for name in names), cell["count"])
        for cell in cells
    ]
    return CountAnswer(
        count=figure(result["count"]),
        fields=fields,
        withheld=False,
        table=breakdown_table(result["count"], breakdown),
        chart=bar_chart(labelled),
    )


def field_label(name: str) -> str:
    """A catalogue field by its label."""
    field = catalogue().get(name)
    return field.label if field else name


def value_label(name: str, value: object) -> str:
    """A category of a breakdown by its label (a site by its code: that is its name)."""
    field = catalogue().get(name)
    return field.value_label(value) if field else str(value)


def breakdown_table(count: Published, breakdown: Mapping[str, Any]) -> Table:
    """One field: a row per category. Two: the first field down, the second across."""
    fields = breakdown["fields"]
    cells = breakdown["cells"]
    if len(fields) == 1:
        (name,) = fields
        return Table(
            head=(field_label(name), "Count"),
            rows=tuple((value_label(name, cell[name]), figure(cell["count"])) for cell in cells),
            totals=(TOTAL, figure(count)),
        )
    down, across = fields
    row_totals = breakdown["totals"][down]
    column_totals = breakdown["totals"][across]
    columns = [total[across] for total in column_totals]
    by_key = {(cell[down], cell[across]): cell["count"] for cell in cells}
    return Table(
        head=(
            f"{field_label(down)} \N{RIGHTWARDS ARROW} {field_label(across)}",
            *(value_label(across, column) for column in columns),
            TOTAL,
        ),
        rows=tuple(
            (
                value_label(down, total[down]),
                *(figure(by_key[(total[down], column)]) for column in columns),
                figure(total["count"]),
            )
            for total in row_totals
        ),
        totals=(TOTAL, *(figure(total["count"]) for total in column_totals), figure(count)),
    )


@dataclass(frozen=True, slots=True)
class BudgetView:
    """A partner organisation's privacy budget as the page words it: in questions, not rho."""

    questions_left: int
    period_ends: dt.datetime | None  # when budget starts to come back
    last_question: bool  # the next new question uses the last of it: warn before asking


def budget_view(state: BudgetState) -> BudgetView:
    return BudgetView(
        questions_left=state.questions_left,
        period_ends=state.period_ends,
        last_question=state.questions_left <= 1,
    )
