"""Disclosure control for counts shown to industry partners (issue #6).

Since issue #18 partners' eligibility counts are noisy (``registry.privacy``) and laid out
here by ``noisy_breakdown``, with no secondary suppression: noise charged to a budget is
what protects them, and a suppression pattern over noisy figures would hide nothing the
noise has not. The rule-based ``controlled_*`` functions below still serve recruitment's
figures until they move to the mechanism too.

Pure functions: no database, no Flask. Partners get the ``controlled_*`` functions,
researchers the ``exact_*`` ones. The two paths are separate functions with no switch
argument, so no argument shape turns control off; the route picks the function from the
caller's permission (``QUERY_CONTROLLED_COUNTS`` versus ``QUERY_EXACT_COUNTS``).

The rule
--------
* A true count of 0-9 is published as ``"<10"`` (``SMALL``). Zero is deliberately not told
  apart from 1-9: "nobody at this site" is itself a disclosure.
* Any other count is rounded to the nearest multiple of 5; halves would round up, but with
  integers and base 5 a tie cannot happen (10 -> 10, 12 -> 10, 13 -> 15). So a published
  number is never below 10.
* Breakdowns (one or two fields) always list every catalogue category in catalogue order,
  including empty ones, so an empty category looks exactly like a small one.
* Each cell gets the same rule, then secondary (complementary) suppression; cells hidden
  only to protect another cell are published as ``"suppressed"`` (``SUPPRESSED``), because
  writing ``"<10"`` on a cell of 45 would be false.

Secondary suppression, applied until nothing changes:

1. Line rule. A "line" is a set of cells plus the total they add up to: the one line of a
   1-D breakdown (cells + overall count), and in a 2-D table every row (cells + row total),
   every column (cells + column total), the row of column totals and the column of row
   totals (each + grand total). If exactly one entry of a line is hidden it is that line's
   total minus the rest, so the smallest visible cell of the line is hidden too.
2. Cycle rule (2-D). Hidden entries are edges of a bipartite graph of rows and columns
   (margins included); with exact margins an entry can be solved exactly iff its edge is a
   bridge (it lies on no cycle). For a bridge, the smallest visible cell joining the two sides
   is hidden, which closes a cycle through it. Every line having 0 or >= 2 hidden entries is
   not enough on its own (two hidden rectangles joined by one hidden cell pass it).
3. Rounding audit. Published numbers are rounded independently, so the attacker knows each
   visible value only to +-2, each ``"<10"`` as 0-9, each ``"suppressed"`` as >= 10 (it was
   picked from visible cells). We propagate those intervals through every line to a fixpoint;
   if a hidden entry's interval shrinks to one value (e.g. cells 0, 10, 13, 13, 13, 13: the
   hidden pair must sum to exactly 10, so they are 0 and 10), another cell on one of its
   lines is hidden.

If nothing is left to hide and a hidden entry is still pinned, ``DisclosureError`` is raised
and the route should withhold the breakdown (the overall count stays available). This happens
only when a line's cells are all small and its public total forces them, e.g. 9 + 9 = 18,
published as 20: the total is >= 18, so both "<10" cells are 9.

"Smallest" means smallest true count, ties broken by catalogue order, so output is stable.
Secondary suppression only ever hides interior cells. In a 2-D table the margins are copied
from the 1-D breakdown of the same field, so asking for the 1-D breakdown separately reveals
nothing the 2-D one hides (the two queries agree). The overall count is never hidden by
secondary suppression: it is the plain count any partner can ask for.

Sources
-------
* OpenSAFELY output checking: redact counts <= 7 and round the rest to the nearest 5.
* NHS Digital HES analysis guide: suppress 1-7 and round other counts to the nearest 5.
* TriNetX: counts <= 10 are shown as 10.
* i2b2/SHRINE: Gaussian noise on counts plus a lockout after repeated queries.
We use a stricter threshold (10) than OpenSAFELY/HES because the cohorts are small and the
condition is stigmatising, and deterministic rounding (same query, same answer) rather than
noise, so repeating a query cannot average the protection away.

Residual risks (not handled here)
---------------------------------
* Rounding only bounds loosely: the rounded total minus the rounded visible cells gives the
  hidden cells' sum to within +-2 per published number. The audit stops the interval from
  collapsing to one value but it can still be narrow (e.g. "the hidden pair sums to 10-14").
* The cycle rule is about linear solving only. If exact totals were ever published,
  non-negativity could still pin cells (two hidden cells in a line that sums to 0 are both 0);
  partners only ever see rounded totals, where such a pair is known only to be 0-4 each.
* The audit is interval propagation line by line, a weaker attacker than a full linear
  programme over the whole table; it is capped at ``_MAX_AUDIT_PASSES`` passes.
* An attacker who knows complements are the *smallest* visible cell also knows each is no
  larger than the smallest cell still shown; that upper bound is not in the audit.
* Differencing across queries (cohort A vs cohort A-minus-one-criterion) and repeated
  narrowing queries are not controlled here; they need query auditing or a lockout.
* A two-field breakdown needs >= 2 categories per field (a one-category field is a 1-D
  breakdown in disguise, where a hidden cell would equal its published margin).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NotRequired, TypedDict

# The published form is the privacy mechanism's too: one threshold, one rounding (named
# here as well for the pages and recruitment, which import them from this module).
from registry.privacy.mechanism import ROUND_TO as ROUND_TO
from registry.privacy.mechanism import SMALL as SMALL
from registry.privacy.mechanism import THRESHOLD as THRESHOLD
from registry.privacy.mechanism import Published as Published
from registry.privacy.mechanism import published

SUPPRESSED: Final = "suppressed"

# Interval propagation converges in a handful of passes on real tables; the cap only guards
# against a pathological slow ping-pong between lines.
_MAX_AUDIT_PASSES: Final = 1000

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


class DisclosureError(Exception):
    """No suppression pattern protects this table; refuse the query rather than leak."""


# --- single counts -------------------------------------------------------------------------


def _checked(n: object) -> int:
    # bool is an int subclass; True as a count is a caller bug, not the number 1.
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"a count must be an int, not {type(n).__name__}")
    if n < 0:
        raise ValueError(f"a count cannot be negative: {n}")
    return n


def round_to_base(n: int) -> int:
    """Nearest multiple of ``ROUND_TO``, halves up (only reachable if ROUND_TO is even)."""
    return (_checked(n) + ROUND_TO // 2) // ROUND_TO * ROUND_TO


def controlled_count(n: int) -> Published:
    """What a partner sees for a true count ``n``: ``"<10"`` or ``n`` rounded to 5."""
    n = _checked(n)
    return SMALL if n < THRESHOLD else round_to_base(n)


def exact_count(n: int) -> int:
    """What a researcher sees: ``n`` itself (validated the same way)."""
    return _checked(n)


def controlled_count_payload(n: int) -> CountPayload:
    return {"count": controlled_count(n)}


def exact_count_payload(n: int) -> CountPayload:
    return {"count": exact_count(n)}


# --- tables --------------------------------------------------------------------------------

# Positions in an "extended" grid: interior cells (i, j) with i < R, j < C; row totals (i, C);
# column totals (R, j); grand total (R, C). A 1-D breakdown is the single row i = 0.
Pos = tuple[int, int]
Line = tuple[tuple[Pos, ...], Pos]  # members, and the total they sum to


class _Mark(enum.Enum):
    VISIBLE = enum.auto()
    SMALL = enum.auto()  # primary: true count below THRESHOLD
    COMPLEMENT = enum.auto()  # secondary: hidden to protect another entry


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


def _lines_1d(cols: int) -> list[Line]:
    return [(tuple((0, j) for j in range(cols)), (0, cols))]


def _lines_2d(rows: int, cols: int) -> list[Line]:
    lines: list[Line] = []
    for i in range(rows + 1):  # interior rows, then the row of column totals
        lines.append((tuple((i, j) for j in range(cols)), (i, cols)))
    for j in range(cols + 1):  # interior columns, then the column of row totals
        lines.append((tuple((i, j) for i in range(rows)), (rows, j)))
    return lines


def _published_bounds(v: int) -> tuple[int, int]:
    # The true values that round to the published one, never below THRESHOLD.
    p = round_to_base(v)
    return max(THRESHOLD, p - ROUND_TO // 2), p + (ROUND_TO - 1) // 2


def _attacker_bounds(
    values: Mapping[Pos, int], lines: Sequence[Line], marks: Mapping[Pos, _Mark], grand: Pos
) -> dict[Pos, tuple[int, int]]:
    ceiling = (
        _published_bounds(values[grand])[1] if marks[grand] is _Mark.VISIBLE else THRESHOLD - 1
    )
    bounds: dict[Pos, tuple[int, int]] = {}
    for pos, mark in marks.items():
        if mark is _Mark.VISIBLE:
            bounds[pos] = _published_bounds(values[pos])
        elif mark is _Mark.SMALL:
            bounds[pos] = (0, THRESHOLD - 1)
        else:
            bounds[pos] = (THRESHOLD, ceiling)
    for _ in range(_MAX_AUDIT_PASSES):
        changed = False
        for members, total in lines:
            lo_sum = sum(bounds[m][0] for m in members)
            hi_sum = sum(bounds[m][1] for m in members)
            t_lo, t_hi = bounds[total]
            updates = {total: (max(t_lo, lo_sum), min(t_hi, hi_sum))}
            for m in members:
                lo, hi = bounds[m]
                others_lo, others_hi = lo_sum - lo, hi_sum - hi
                updates[m] = (max(lo, t_lo - others_hi), min(hi, t_hi - others_lo))
            for pos, new in updates.items():
                if new != bounds[pos]:
                    bounds[pos] = new
                    changed = True
        if not changed:
            break
    return bounds


def _first_bridge(edges: Iterable[Pos], rows: int, cols: int) -> Pos | None:
    """The smallest hidden entry lying on no cycle of hidden entries (Tarjan's bridges)."""
    nodes = rows + cols + 2  # row nodes 0..rows (last = margin), then column nodes
    adj: list[list[tuple[int, Pos]]] = [[] for _ in range(nodes)]
    for i, j in edges:
        adj[i].append((rows + 1 + j, (i, j)))
        adj[rows + 1 + j].append((i, (i, j)))
    disc = [-1] * nodes
    low = [0] * nodes
    bridges: list[Pos] = []
    clock = 0

    # Recursion depth is bounded by the number of categories, which is small.
    def visit(u: int, via: Pos | None) -> None:
        nonlocal clock
        disc[u] = low[u] = clock
        clock += 1
        for v, edge in adj[u]:
            if edge == via:
                continue
            if disc[v] == -1:
                visit(v, edge)
                low[u] = min(low[u], low[v])
                if low[v] > disc[u]:
                    bridges.append(edge)
            else:
                low[u] = min(low[u], disc[v])

    for u in range(nodes):
        if disc[u] == -1:
            visit(u, None)
    return min(bridges) if bridges else None


def _reachable(edges: Iterable[Pos], removed: Pos, start: int, rows: int) -> set[int]:
    """Graph nodes reachable from ``start`` through hidden entries other than ``removed``."""
    adj: dict[int, list[int]] = {}
    for i, j in edges:
        if (i, j) != removed:
            adj.setdefault(i, []).append(rows + 1 + j)
            adj.setdefault(rows + 1 + j, []).append(i)
    seen = {start}
    todo = [start]
    while todo:
        for v in adj.get(todo.pop(), []):
            if v not in seen:
                seen.add(v)
                todo.append(v)
    return seen


def _next_complement(
    values: Mapping[Pos, int],
    lines: Sequence[Line],
    marks: Mapping[Pos, _Mark],
    free: Sequence[Pos],
    grid: tuple[int, int] | None,
) -> Pos | None:
    """The next cell to hide, or None when the pattern is safe."""

    def smallest(candidates: Iterable[Pos]) -> Pos | None:
        visible = [p for p in candidates if marks[p] is _Mark.VISIBLE and p in free_set]
        return min(visible, key=lambda p: (values[p], p), default=None)

    def fix(candidates: Iterable[Pos]) -> Pos:
        # If the local fix has no candidate, hide more of the table; if nothing is left to
        # hide, refuse rather than publish something recoverable.
        pos = smallest(candidates) or smallest(free)
        if pos is None:
            raise DisclosureError("no suppression pattern protects this breakdown")
        return pos

    free_set = set(free)
    hidden = [p for p, m in marks.items() if m is not _Mark.VISIBLE]

    for members, total in lines:
        if sum(marks[p] is not _Mark.VISIBLE for p in (*members, total)) == 1:
            return fix(members)

    if grid is not None:
        rows, cols = grid
        bridge = _first_bridge(hidden, rows, cols)
        if bridge is not None:
            # Hiding any cell that joins the bridge's two sides closes a cycle through it.
            a = _reachable(hidden, bridge, bridge[0], rows)
            b = _reachable(hidden, bridge, rows + 1 + bridge[1], rows)
            joining = [
                (i, j)
                for i, j in free
                if (i in a and rows + 1 + j in b) or (i in b and rows + 1 + j in a)
            ]
            return fix(joining)

    grand = (grid[0], grid[1]) if grid is not None else lines[0][1]
    bounds = _attacker_bounds(values, lines, marks, grand)
    pinned = sorted(p for p in hidden if bounds[p][0] == bounds[p][1])
    if pinned:
        through = [m for members, total in lines if pinned[0] in (*members, total) for m in members]
        return fix(through)
    return None


def _pattern(
    values: Mapping[Pos, int],
    lines: Sequence[Line],
    free: Sequence[Pos],
    grid: tuple[int, int] | None,
    preset: Mapping[Pos, _Mark],
) -> dict[Pos, _Mark]:
    marks = {
        p: preset.get(p, _Mark.SMALL if v < THRESHOLD else _Mark.VISIBLE) for p, v in values.items()
    }
    # Each round hides one more cell or raises, so this terminates.
    while (pos := _next_complement(values, lines, marks, free, grid)) is not None:
        marks[pos] = _Mark.COMPLEMENT
    return marks


def _pattern_1d(counts: Sequence[int]) -> dict[Pos, _Mark]:
    cols = len(counts)
    values: dict[Pos, int] = {(0, j): n for j, n in enumerate(counts)}
    values[(0, cols)] = sum(counts)
    return _pattern(values, _lines_1d(cols), [(0, j) for j in range(cols)], None, {})


def _table_marks(table: _Table) -> dict[Pos, _Mark]:
    if len(table.fields) == 1:
        return _pattern_1d([table.values[(0, j)] for j in range(table.shape[0])])
    rows, cols = table.shape
    # Margins are fixed to what the 1-D breakdowns of each field publish, so the two queries
    # agree and the 1-D one cannot undo the 2-D one's secondary suppression.
    by_row = _pattern_1d([table.values[(i, cols)] for i in range(rows)])
    by_col = _pattern_1d([table.values[(rows, j)] for j in range(cols)])
    preset = {(i, cols): by_row[(0, i)] for i in range(rows)}
    preset |= {(rows, j): by_col[(0, j)] for j in range(cols)}
    preset[(rows, cols)] = by_row[(0, rows)]
    free = [(i, j) for i in range(rows) for j in range(cols)]
    return _pattern(table.values, _lines_2d(rows, cols), free, (rows, cols), preset)


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


def control_breakdown(
    cells: CellCounts,
    *,
    fields: Sequence[str],
    categories: Sequence[Sequence[str]],
) -> BreakdownPayload:
    """A partner's breakdown: every catalogue category, primary and secondary suppression,
    everything else rounded to 5. ``cells`` maps a key tuple (one category per field) to a
    true count; missing keys are zero. Raises DisclosureError if no pattern is safe."""
    table = _normalise(cells, fields, categories)
    marks = _table_marks(table)
    shown: dict[Pos, Published] = {}
    for pos, mark in marks.items():
        if mark is _Mark.VISIBLE:
            shown[pos] = round_to_base(table.values[pos])
        else:
            shown[pos] = SMALL if mark is _Mark.SMALL else SUPPRESSED
    return _render(table, shown)


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
    """A researcher's breakdown: same shape as ``control_breakdown``, exact counts."""
    table = _normalise(cells, fields, categories)
    return _render(table, dict(table.values))
