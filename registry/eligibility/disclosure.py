"""How counts are laid out for the two audiences of eligibility questions (issues #6, #18).

Researchers get exact counts and breakdowns (``exact_*``). Partners get figures released
through the privacy mechanism (``registry.privacy``): their noisy cells are laid out by
``noisy_breakdown`` in the same shape, each figure published as "<10" or to the nearest 5.
The two paths are separate functions with no switch argument, so no argument shape turns
the noise off; the route picks the function from the caller's permission.

Breakdowns (one or two fields) always list every catalogue category in catalogue order,
including empty ones, so an empty category looks exactly like a small one.

Partners' figures once had rule-based control here (threshold, rounding and secondary
suppression of breakdown cells); since issue #18 every partner-visible figure is noisy and
charged to a budget, which composes across questions where suppression patterns could be
differenced away, so the rule-based path is gone.

Pure functions: no database, no Flask.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict

# The published form is the privacy mechanism's: one threshold, one rounding (named here as
# well for the pages, which import them from this module).
from registry.privacy.mechanism import ROUND_TO as ROUND_TO
from registry.privacy.mechanism import SMALL as SMALL
from registry.privacy.mechanism import THRESHOLD as THRESHOLD
from registry.privacy.mechanism import Published as Published
from registry.privacy.mechanism import published

# Mapping keys are invariant, so spell out the 1-D and 2-D key types callers naturally build.
CellCounts = (
    Mapping[tuple[str], int] | Mapping[tuple[str, str], int] | Mapping[tuple[str, ...], int]
)
CellOut = dict[str, Published]


class CountPayload(TypedDict):
    count: Published


class Breakdown(TypedDict):
    fields: list[str]
    cells: list[CellOut]
    # 2-D only: {field: [{field: category, "count": ...}, ...]}, the per-row/column totals.
    totals: NotRequired[dict[str, list[CellOut]]]


class BreakdownPayload(TypedDict):
    count: Published
    breakdown: Breakdown


# --- single counts -------------------------------------------------------------------------


def _checked(n: object) -> int:
    # bool is an int subclass; True as a count is a caller bug, not the number 1.
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"a count must be an int, not {type(n).__name__}")
    if n < 0:
        raise ValueError(f"a count cannot be negative: {n}")
    return n


def exact_count(n: int) -> int:
    """What a researcher sees: ``n`` itself (validated the same way)."""
    return _checked(n)


def exact_count_payload(n: int) -> CountPayload:
    return {"count": exact_count(n)}


# --- tables --------------------------------------------------------------------------------

# Positions in an "extended" grid: interior cells (i, j) with i < R, j < C; row totals (i, C);
# column totals (R, j); grand total (R, C). A 1-D breakdown is the single row i = 0.
Pos = tuple[int, int]


@dataclass(frozen=True)
class _Table:
    fields: tuple[str, ...]
    categories: tuple[tuple[str, ...], ...]
    values: dict[Pos, int]

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(c) for c in self.categories)


def _normalise(
    cells: CellCounts,
    fields: Sequence[str],
    categories: Sequence[Sequence[str]],
) -> _Table:
    if isinstance(fields, str):  # a bare string is a Sequence[str] of letters
        raise TypeError("fields must be a sequence of field names, not a string")
    fields_t = tuple(fields)
    if len(fields_t) not in (1, 2):
        raise ValueError("a breakdown has one or two fields")
    if len(set(fields_t)) != len(fields_t) or "count" in fields_t:
        raise ValueError(f"field names must be distinct and not 'count': {fields_t}")
    if len(categories) != len(fields_t):
        raise ValueError("categories needs one catalogue list per field")
    cats = tuple(tuple(c) for c in categories)
    for field, cat in zip(fields_t, cats, strict=True):
        if not cat or len(set(cat)) != len(cat):
            raise ValueError(f"categories of {field!r} must be non-empty and distinct")
        if len(fields_t) == 2 and len(cat) < 2:
            raise ValueError(f"{field!r} has one category; use a one-field breakdown")
    index = [{c: k for k, c in enumerate(cat)} for cat in cats]
    values: dict[Pos, int] = {}
    for key, n in cells.items():
        if len(key) != len(fields_t):
            raise ValueError(f"cell key {key!r} does not match fields {fields_t}")
        # An unknown category is an error, not dropped: the total must equal the cells' sum.
        if any(part not in idx for part, idx in zip(key, index, strict=True)):
            raise ValueError(f"cell key {key!r} is not in the catalogue")
        pos = (0, index[0][key[0]]) if len(key) == 1 else (index[0][key[0]], index[1][key[1]])
        values[pos] = _checked(n)
    shape = [1, len(cats[0])] if len(cats) == 1 else [len(cats[0]), len(cats[1])]
    rows, cols = shape
    for i in range(rows):
        for j in range(cols):
            values.setdefault((i, j), 0)  # catalogue categories with no members
    for i in range(rows):
        values[(i, cols)] = sum(values[(i, j)] for j in range(cols))
    if len(cats) == 2:
        for j in range(cols + 1):
            values[(rows, j)] = sum(values[(i, j)] for i in range(rows))
    return _Table(fields_t, cats, values)


def _render(table: _Table, value: Mapping[Pos, Published]) -> BreakdownPayload:
    fields = list(table.fields)
    if len(fields) == 1:
        (cats,) = table.categories
        cells = [{fields[0]: c, "count": value[(0, j)]} for j, c in enumerate(cats)]
        return {
            "count": value[(0, len(cats))],
            "breakdown": {"fields": fields, "cells": cells},
        }
    row_cats, col_cats = table.categories
    rows, cols = len(row_cats), len(col_cats)
    cells = [
        {fields[0]: r, fields[1]: c, "count": value[(i, j)]}
        for i, r in enumerate(row_cats)
        for j, c in enumerate(col_cats)
    ]
    totals = {
        fields[0]: [{fields[0]: r, "count": value[(i, cols)]} for i, r in enumerate(row_cats)],
        fields[1]: [{fields[1]: c, "count": value[(rows, j)]} for j, c in enumerate(col_cats)],
    }
    return {
        "count": value[(rows, cols)],
        "breakdown": {"fields": fields, "cells": cells, "totals": totals},
    }


def noisy_breakdown(
    noisy_cells: Sequence[int],
    *,
    fields: Sequence[str],
    categories: Sequence[Sequence[str]],
    noisy_unknown: int,
) -> BreakdownPayload:
    """A partner's breakdown from noisy cells (``registry.privacy``), one per combination
    of categories in catalogue order, and the noisy count of those whose category is
    unknown. Margins and the total are sums of the noisy cells, so they cost nothing more
    and agree with them; then each figure is published ("<10" or to the nearest 5)."""
    shape = [len(c) for c in categories]
    if len(noisy_cells) != math.prod(shape):
        raise ValueError(f"{len(noisy_cells)} noisy cells for a table of {shape}")
    rows, cols = (1, shape[0]) if len(shape) == 1 else (shape[0], shape[1])
    values: dict[Pos, int] = {
        (i, j): noisy_cells[i * cols + j] for i in range(rows) for j in range(cols)
    }
    for i in range(rows):
        values[(i, cols)] = sum(values[(i, j)] for j in range(cols))
    if len(shape) == 2:
        for j in range(cols):
            values[(rows, j)] = sum(values[(i, j)] for i in range(rows))
    grand = (0, cols) if len(shape) == 1 else (rows, cols)
    values[grand] = sum(noisy_cells) + noisy_unknown
    table = _Table(tuple(fields), tuple(tuple(c) for c in categories), values)
    return _render(table, {pos: published(v) for pos, v in values.items()})


def exact_breakdown(
    cells: CellCounts,
    *,
    fields: Sequence[str],
    categories: Sequence[Sequence[str]],
) -> BreakdownPayload:
    """A researcher's breakdown: same shape as a partner's ``noisy_breakdown``, exact counts."""
    table = _normalise(cells, fields, categories)
    return _render(table, dict(table.values))
