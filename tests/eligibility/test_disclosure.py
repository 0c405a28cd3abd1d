"""Disclosure control for partner-facing counts: the rounding boundaries, primary and
secondary suppression in 1-D and 2-D breakdowns, attackers that try to recover hidden cells,
and the researcher path that must return exact counts untouched."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.eligibility.disclosure import (
    ROUND_TO,
    SMALL,
    SUPPRESSED,
    THRESHOLD,
    DisclosureError,
    controlled_count,
    controlled_count_payload,
    exact_breakdown,
    exact_count,
    exact_count_payload,
    round_to_base,
)
from registry.eligibility.disclosure import control_breakdown as control

HIDDEN = {SMALL, SUPPRESSED}


def unavoidably_pinned(lines: Sequence[tuple[Sequence[int], int]]) -> bool:
    """The one case where refusing is right: a line of small cells whose total is public and
    large enough that "each cell <= 9" forces every cell to 9, whatever else is hidden."""
    return any(
        all(n < THRESHOLD for n in members)
        and total >= THRESHOLD
        and (THRESHOLD - 1) * len(members) <= max(THRESHOLD, round_to_base(total) - 2)
        for members, total in lines
    )


# --- single counts -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("n", "shown"),
    [
        (0, "<10"),
        (1, "<10"),
        (9, "<10"),
        (10, 10),
        (11, 10),
        (12, 10),
        (13, 15),
        (14, 15),
        (15, 15),
        (1000003, 1000005),
    ],
)
def test_controlled_count_boundaries(n: int, shown: int | str) -> None:
    assert controlled_count(n) == shown
    assert controlled_count_payload(n) == {"count": shown}


def test_rule_constants() -> None:
    assert (THRESHOLD, ROUND_TO, SMALL) == (10, 5, "<10")


@given(st.integers(min_value=0, max_value=10**9))
def test_controlled_count_is_never_below_threshold_nor_far_off(n: int) -> None:
    shown = controlled_count(n)
    if n < THRESHOLD:
        assert shown == SMALL
    else:
        assert isinstance(shown, int) and shown >= THRESHOLD
        assert shown % ROUND_TO == 0 and abs(shown - n) <= ROUND_TO // 2


@pytest.mark.parametrize("n", [0, 1, 9, 10, 12, 13, 1000003])
def test_researcher_count_is_exact(n: int) -> None:
    assert exact_count(n) == n
    assert exact_count_payload(n) == {"count": n}


@pytest.mark.parametrize("func", [controlled_count, exact_count, round_to_base])
@pytest.mark.parametrize(("bad", "error"), [(-1, ValueError), (True, TypeError), (12.5, TypeError)])
def test_bad_counts_are_rejected(func: Any, bad: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        func(bad)


# --- 1-D breakdowns ------------------------------------------------------------------------

SITES = ["RXT", "RV5", "RRE", "RWK"]


def by_site(counts: Sequence[int]) -> dict[tuple[str, ...], int]:
    return {(site,): n for site, n in zip(SITES, counts, strict=True)}


def shown_cells(payload: Mapping[str, Any]) -> list[int | str]:
    return [cell["count"] for cell in payload["breakdown"]["cells"]]


def test_1d_shape_is_json_ready_and_lists_every_catalogue_category() -> None:
    payload = control({("RV5",): 40, ("RWK",): 60}, fields=["site"], categories=[SITES])
    assert json.loads(json.dumps(payload)) == payload
    assert payload == {
        "count": 100,
        "breakdown": {
            "fields": ["site"],
            "cells": [
                {"site": "RXT", "count": "<10"},  # empty category: same as a small one
                {"site": "RV5", "count": 40},
                {"site": "RRE", "count": "<10"},
                {"site": "RWK", "count": 60},
            ],
        },
    }


def test_1d_single_small_cell_forces_the_next_smallest_to_be_hidden() -> None:
    payload = control(by_site([5, 40, 30, 60]), fields=["site"], categories=[SITES])
    assert payload["count"] == 135
    assert shown_cells(payload) == [SMALL, 40, SUPPRESSED, 60]


def test_1d_two_small_cells_need_no_complement() -> None:
    payload = control(by_site([3, 4, 50, 60]), fields=["site"], categories=[SITES])
    assert shown_cells(payload) == [SMALL, SMALL, 50, 60]


def test_1d_zero_looks_like_any_small_count() -> None:
    zero = control(by_site([0, 40, 30, 60]), fields=["site"], categories=[SITES])
    five = control(by_site([5, 40, 30, 60]), fields=["site"], categories=[SITES])
    assert shown_cells(zero) == shown_cells(five)


def test_1d_tiny_total_hides_everything() -> None:
    payload = control(by_site([1, 2, 0, 3]), fields=["site"], categories=[SITES])
    assert payload["count"] == SMALL and set(shown_cells(payload)) == {SMALL}


def test_1d_rounding_differencing_cannot_pin_a_hidden_pair() -> None:
    # With only 0 and 10 hidden, the rounded total minus the rounded 13s pins them: the pair
    # must sum to exactly 10, and the complement is >= 10. A third cell must be hidden.
    cats = ["a", "b", "c", "d", "e", "f"]
    cells = {(c,): n for c, n in zip(cats, [0, 10, 13, 13, 13, 13], strict=True)}
    payload = control(cells, fields=["site"], categories=[cats])
    assert shown_cells(payload)[:3] == [SMALL, SUPPRESSED, SUPPRESSED]
    assert_1d_not_pinned(payload)


def test_1d_refuses_when_small_cells_are_pinned_by_the_public_total() -> None:
    # 9 + 9 = 18 is published as 20, so the total is >= 18 and both "<10" cells must be 9.
    with pytest.raises(DisclosureError):
        control({("a",): 9, ("b",): 9}, fields=["site"], categories=[["a", "b"]])
    assert exact_breakdown({("a",): 9, ("b",): 9}, fields=["site"], categories=[["a", "b"]])


def test_2d_refuses_when_a_column_of_small_cells_is_pinned_by_its_public_total() -> None:
    cells, cats = table([[5, 9], [27, 9]])
    with pytest.raises(DisclosureError):
        control(cells, fields=[ROWS, COLS], categories=cats)


def interval(shown: int | str, ceiling: int) -> tuple[int, int]:
    """What a published value tells an attacker who knows the rule."""
    if shown == SMALL:
        return 0, THRESHOLD - 1
    if shown == SUPPRESSED:
        return THRESHOLD, ceiling
    assert isinstance(shown, int)
    return max(THRESHOLD, shown - 2), shown + 2


def assert_1d_not_pinned(payload: Mapping[str, Any]) -> None:
    # With one equation and box constraints the feasible set of each cell is exactly this
    # interval, so this attacker is complete for 1-D.
    t_lo, t_hi = interval(payload["count"], 0)
    cells = [interval(v, t_hi) for v in shown_cells(payload)]
    lo_sum, hi_sum = sum(lo for lo, _ in cells), sum(hi for _, hi in cells)
    for shown, (lo, hi) in zip(shown_cells(payload), cells, strict=True):
        if shown in HIDDEN:
            low = max(lo, t_lo - (hi_sum - hi))
            high = min(hi, t_hi - (lo_sum - lo))
            assert high > low, f"hidden cell pinned to {low} in {payload}"


@settings(max_examples=300)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=2, max_size=8))
def test_1d_property(counts: list[int]) -> None:
    cats = [f"c{k}" for k in range(len(counts))]
    cells = {(c,): n for c, n in zip(cats, counts, strict=True)}
    try:
        payload = control(cells, fields=["site"], categories=[cats])
    except DisclosureError:
        assert unavoidably_pinned([(counts, sum(counts))])
        return
    shown = shown_cells(payload)
    assert [c["site"] for c in payload["breakdown"]["cells"]] == cats
    assert sum(v in HIDDEN for v in shown) != 1  # never solvable from the exact total
    for n, v in zip(counts, shown, strict=True):
        assert (v == SMALL) == (n < THRESHOLD)
        assert isinstance(v, str) or (v >= THRESHOLD and v == round_to_base(n))
    assert_1d_not_pinned(payload)
    assert exact_breakdown(cells, fields=["site"], categories=[cats]) == {
        "count": sum(counts),
        "breakdown": {
            "fields": ["site"],
            "cells": [{"site": c, "count": n} for c, n in zip(cats, counts, strict=True)],
        },
    }


# --- 2-D breakdowns ------------------------------------------------------------------------

Grid = list[list[int]]
ROWS = "site"
COLS = "ethnicity_group"


def table(grid: Grid) -> tuple[dict[tuple[str, str], int], list[list[str]]]:
    rows = [f"S{i}" for i in range(len(grid))]
    cols = [f"E{j}" for j in range(len(grid[0]))]
    cells = {(r, c): grid[i][j] for i, r in enumerate(rows) for j, c in enumerate(cols)}
    return cells, [rows, cols]


def extended(payload: Mapping[str, Any], rows: int, cols: int) -> list[list[int | str]]:
    """The published table with its row totals, column totals and grand total appended."""
    out: list[list[int | str]] = [[0] * (cols + 1) for _ in range(rows + 1)]
    body = payload["breakdown"]
    for k, cell in enumerate(body["cells"]):
        out[k // cols][k % cols] = cell["count"]
    for i, cell in enumerate(body["totals"][ROWS]):
        out[i][cols] = cell["count"]
    for j, cell in enumerate(body["totals"][COLS]):
        out[rows][j] = cell["count"]
    out[rows][cols] = payload["count"]
    return out


def rank(matrix: list[list[Fraction]]) -> int:
    m = [row[:] for row in matrix]
    r = 0
    for c in range(len(m[0]) if m else 0):
        pivot = next((k for k in range(r, len(m)) if m[k][c] != 0), None)
        if pivot is None:
            continue
        m[r], m[pivot] = m[pivot], m[r]
        for k in range(len(m)):
            if k != r and m[k][c] != 0:
                f = m[k][c] / m[r][c]
                m[k] = [a - f * b for a, b in zip(m[k], m[r], strict=True)]
        r += 1
    return r


def solvable_hidden(hidden: set[tuple[int, int]], rows: int, cols: int) -> list[tuple[int, int]]:
    """Hidden entries of the extended table an attacker could solve exactly from the published
    values if those were exact: x is determined iff e_x is in the row space of the line
    equations restricted to the hidden entries."""
    unknowns = sorted(hidden)
    col = {p: k for k, p in enumerate(unknowns)}
    equations: list[list[Fraction]] = []
    lines = [[(i, j) for j in range(cols + 1)] for i in range(rows + 1)]
    lines += [[(i, j) for i in range(rows + 1)] for j in range(cols + 1)]
    for line in lines:  # members minus total = 0; the total is the last entry
        row = [Fraction(0)] * len(unknowns)
        for p in line:
            if p in col:
                row[col[p]] = Fraction(-1 if p == line[-1] else 1)
        if any(row):
            equations.append(row)
    base = rank(equations)
    solvable = []
    for p in unknowns:
        unit = [Fraction(int(k == col[p])) for k in range(len(unknowns))]
        if rank([*equations, unit]) == base:
            solvable.append(p)
    return solvable


def hidden_of(published: list[list[int | str]]) -> set[tuple[int, int]]:
    return {(i, j) for i, row in enumerate(published) for j, v in enumerate(row) if v in HIDDEN}


def test_checker_finds_a_bridge_that_the_line_rule_misses() -> None:
    # Two hidden rectangles joined by one hidden cell: every line has 0 or >= 2 hidden
    # entries, yet the joining cell (1, 2) is the sum of two known row/column differences.
    hidden = {(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 2), (2, 3), (3, 2), (3, 3)}
    assert solvable_hidden(hidden, 4, 4) == [(1, 2)]
    assert solvable_hidden({(0, 0), (0, 1), (1, 0), (1, 1)}, 2, 2) == []
    assert solvable_hidden({(0, 0), (0, 1)}, 2, 2) == [(0, 0), (0, 1)]


def test_2d_shape_margins_and_recovery() -> None:
    grid = [[3, 40, 0], [20, 25, 0], [12, 0, 30]]
    cells, cats = table(grid)
    payload = control(cells, fields=[ROWS, COLS], categories=cats)
    assert json.loads(json.dumps(payload)) == payload
    assert payload["count"] == 130
    body = payload["breakdown"]
    assert body["fields"] == [ROWS, COLS]
    assert [(c[ROWS], c[COLS]) for c in body["cells"]] == [(r, c) for r in cats[0] for c in cats[1]]
    assert [t[ROWS] for t in body["totals"][ROWS]] == cats[0]
    published = extended(payload, 3, 3)
    assert published[0][0] == SMALL and published[2][1] == SMALL
    assert solvable_hidden(hidden_of(published), 3, 3) == []


def test_2d_margins_match_the_1d_breakdowns() -> None:
    grid = [[3, 40, 8], [20, 25, 1], [12, 2, 30], [50, 60, 70]]
    cells, cats = table(grid)
    payload = control(cells, fields=[ROWS, COLS], categories=cats)
    for k, field in enumerate([ROWS, COLS]):
        sums: dict[tuple[str, ...], int] = {}
        for key, n in cells.items():
            sums[(key[k],)] = sums.get((key[k],), 0) + n
        one = control(sums, fields=[field], categories=[cats[k]])
        assert payload["breakdown"]["totals"][field] == one["breakdown"]["cells"]
        assert payload["count"] == one["count"]


small_counts = st.one_of(st.integers(0, 9), st.integers(10, 60))


@st.composite
def grids(draw: st.DrawFn) -> Grid:
    rows = draw(st.integers(2, 5))
    cols = draw(st.integers(2, 5))
    return [[draw(small_counts) for _ in range(cols)] for _ in range(rows)]


def pinned_with_every_cell_hidden(grid: Grid) -> bool:
    """Whether an attacker pins some cell even when every cell is hidden: they know which
    cells are small (shown "<10") and that the others are not, the margins the 1-D
    breakdowns publish (rounded, or hidden) and that each line adds up. Then refusing is
    the only safe answer. Interval propagation over the lines, to a fixed point."""
    rows, cols = len(grid), len(grid[0])
    cells, cats = table(grid)
    ceiling = sum(map(sum, grid)) + ROUND_TO
    bounds: dict[tuple[int, int], tuple[int, int]] = {
        (i, j): interval(SMALL if grid[i][j] < THRESHOLD else SUPPRESSED, ceiling)
        for i in range(rows)
        for j in range(cols)
    }
    for k, field in enumerate([ROWS, COLS]):
        sums: dict[tuple[str, ...], int] = {}
        for key, n in cells.items():
            sums[(key[k],)] = sums.get((key[k],), 0) + n
        margins = control(sums, fields=[field], categories=[cats[k]])
        for m, shown in enumerate(shown_cells(margins)):
            bounds[(m, cols) if k == 0 else (rows, m)] = interval(shown, ceiling)
        bounds[(rows, cols)] = interval(margins["count"], ceiling)
    lines = [[(i, j) for j in range(cols + 1)] for i in range(rows + 1)]
    lines += [[(i, j) for i in range(rows + 1)] for j in range(cols + 1)]
    changed = True
    while changed:
        changed = False
        for *members, total in lines:
            t_lo, t_hi = bounds[total]
            lo_sum = sum(bounds[p][0] for p in members)
            hi_sum = sum(bounds[p][1] for p in members)
            tightened = {total: (max(t_lo, lo_sum), min(t_hi, hi_sum))}
            for p in members:
                lo, hi = bounds[p]
                tightened[p] = (max(lo, t_lo - (hi_sum - hi)), min(hi, t_hi - (lo_sum - lo)))
            for p, new in tightened.items():
                if new != bounds[p]:
                    bounds[p], changed = new, True
    return any(bounds[(i, j)][0] == bounds[(i, j)][1] for i in range(rows) for j in range(cols))


def test_2d_refuses_when_rounded_margins_pin_a_cell_whatever_is_hidden() -> None:
    # Found by the property test. With all four cells hidden, the margins (each published
    # as 10, the grand total as 25) and "(1, 0) is not small" still pin (0, 0) to 2.
    grid = [[2, 9], [10, 2]]
    cells, cats = table(grid)
    with pytest.raises(DisclosureError):
        control(cells, fields=[ROWS, COLS], categories=cats)
    assert pinned_with_every_cell_hidden(grid)


@settings(max_examples=200, deadline=None)
@given(grids())
def test_2d_property(grid: Grid) -> None:
    rows, cols = len(grid), len(grid[0])
    cells, cats = table(grid)
    true = [[*row, sum(row)] for row in grid]
    true.append([sum(true[i][j] for i in range(rows)) for j in range(cols + 1)])
    try:
        payload = control(cells, fields=[ROWS, COLS], categories=cats)
    except DisclosureError:
        lines = [(true[i][:cols], true[i][cols]) for i in range(rows + 1)]
        lines += [([true[i][j] for i in range(rows)], true[rows][j]) for j in range(cols + 1)]
        assert unavoidably_pinned(lines) or pinned_with_every_cell_hidden(grid)
        return
    published = extended(payload, rows, cols)
    hidden = hidden_of(published)
    for i in range(rows + 1):
        for j in range(cols + 1):
            v = published[i][j]
            assert (v == SMALL) == (true[i][j] < THRESHOLD)
            assert isinstance(v, str) or (v >= THRESHOLD and v == round_to_base(true[i][j]))
    # Every hidden entry shares its row and its column with another hidden entry.
    for i, j in hidden:
        assert sum((i, k) in hidden for k in range(cols + 1)) >= 2
        assert sum((k, j) in hidden for k in range(rows + 1)) >= 2
    # And none can be solved even from exact (unrounded) published values.
    assert solvable_hidden(hidden, rows, cols) == []
    exact = exact_breakdown(cells, fields=[ROWS, COLS], categories=cats)
    assert extended(exact, rows, cols) == true


def test_2d_researcher_path_is_exact() -> None:
    grid = [[0, 3], [12, 13]]
    cells, cats = table(grid)
    payload = exact_breakdown(cells, fields=[ROWS, COLS], categories=cats)
    assert payload == {
        "count": 28,
        "breakdown": {
            "fields": [ROWS, COLS],
            "cells": [
                {ROWS: "S0", COLS: "E0", "count": 0},
                {ROWS: "S0", COLS: "E1", "count": 3},
                {ROWS: "S1", COLS: "E0", "count": 12},
                {ROWS: "S1", COLS: "E1", "count": 13},
            ],
            "totals": {
                ROWS: [{ROWS: "S0", "count": 3}, {ROWS: "S1", "count": 25}],
                COLS: [{COLS: "E0", "count": 12}, {COLS: "E1", "count": 16}],
            },
        },
    }


# --- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize("func", [control, exact_breakdown])
@pytest.mark.parametrize(
    ("cells", "fields", "categories"),
    [
        ({("XXX",): 3}, ["site"], [SITES]),  # not in the catalogue
        ({("RXT", "E0"): 3}, ["site"], [SITES]),  # key longer than fields
        ({("RXT",): -1}, ["site"], [SITES]),
        ({}, ["site", "site"], [SITES, SITES]),
        ({}, ["count"], [SITES]),  # would clash with the "count" key of a cell
        ({}, ["site"], [SITES, SITES]),
        ({}, ["a", "b", "c"], [SITES, SITES, SITES]),
        ({}, ["site"], [[]]),
        ({}, ["site"], [["RXT", "RXT"]]),
        ({}, ["site", "sex"], [SITES, ["F"]]),  # a one-category field in 2-D
        ({}, "site", [SITES]),  # a bare string is not a list of fields
    ],
)
def test_bad_breakdowns_are_rejected(func: Any, cells: Any, fields: Any, categories: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        func(cells, fields=fields, categories=categories)


def test_control_breakdown_has_no_switch_to_exact() -> None:
    # Partners' path takes only the data; any extra keyword is an error, not a bypass.
    with pytest.raises(TypeError):
        control(by_site([5, 40, 30, 60]), fields=["site"], categories=[SITES], exact=True)  # type: ignore[call-arg]
