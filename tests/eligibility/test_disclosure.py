"""How counts are laid out: the researcher's path returns exact counts untouched, the
partner's lays out noisy cells (``registry.privacy``) with margins and total from those
cells, each figure in the published form. The noise itself is tested in tests/privacy."""

from __future__ import annotations

import json
from typing import Any

import pytest

from registry.eligibility.disclosure import (
    ROUND_TO,
    SMALL,
    THRESHOLD,
    exact_breakdown,
    exact_count,
    exact_count_payload,
    noisy_breakdown,
)

SITES = ["RXT", "RV5", "RRE", "RWK"]
Grid = list[list[int]]
ROWS = "site"
COLS = "ethnicity_group"


def test_rule_constants() -> None:
    assert (THRESHOLD, ROUND_TO, SMALL) == (10, 5, "<10")


# --- researchers: exact --------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, 1, 9, 10, 12, 13, 1000003])
def test_researcher_count_is_exact(n: int) -> None:
    assert exact_count(n) == n
    assert exact_count_payload(n) == {"count": n}


@pytest.mark.parametrize(("bad", "error"), [(-1, ValueError), (True, TypeError), (12.5, TypeError)])
def test_bad_counts_are_rejected(bad: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        exact_count(bad)


def table(grid: Grid) -> tuple[dict[tuple[str, str], int], list[list[str]]]:
    rows = [f"S{i}" for i in range(len(grid))]
    cols = [f"E{j}" for j in range(len(grid[0]))]
    cells = {(r, c): grid[i][j] for i, r in enumerate(rows) for j, c in enumerate(cols)}
    return cells, [rows, cols]


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
def test_bad_breakdowns_are_rejected(cells: Any, fields: Any, categories: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        exact_breakdown(cells, fields=fields, categories=categories)


# --- partners: noisy cells laid out --------------------------------------------------------


def test_1d_noisy_breakdown_lists_every_category_and_totals_the_noisy_cells() -> None:
    payload = noisy_breakdown([-3, 41, 7, 58], fields=["site"], categories=[SITES], noisy_unknown=4)
    assert json.loads(json.dumps(payload)) == payload
    assert payload == {
        "count": 105,  # -3 + 41 + 7 + 58 + 4 unknown = 107, to the nearest 5
        "breakdown": {
            "fields": ["site"],
            "cells": [
                {"site": "RXT", "count": "<10"},  # a negative estimate: 0, shown as small
                {"site": "RV5", "count": 40},
                {"site": "RRE", "count": "<10"},
                {"site": "RWK", "count": 60},
            ],
        },
    }


def test_2d_noisy_margins_are_sums_of_the_noisy_cells() -> None:
    payload = noisy_breakdown(
        [12, 3, 20, 31],
        fields=[ROWS, COLS],
        categories=[["S0", "S1"], ["E0", "E1"]],
        noisy_unknown=0,
    )
    assert payload["count"] == 65  # 66
    totals = payload["breakdown"]["totals"]
    assert totals[ROWS] == [{ROWS: "S0", "count": 15}, {ROWS: "S1", "count": 50}]  # 15, 51
    assert totals[COLS] == [{COLS: "E0", "count": 30}, {COLS: "E1", "count": 35}]  # 32, 34


def test_noisy_breakdown_needs_a_cell_per_combination() -> None:
    with pytest.raises(ValueError, match="noisy cells"):
        noisy_breakdown([1, 2, 3], fields=["site"], categories=[SITES], noisy_unknown=0)


def test_noisy_breakdown_has_no_switch_to_exact() -> None:
    # Partners' path takes only noisy figures; any extra keyword is an error, not a bypass.
    with pytest.raises(TypeError):
        noisy_breakdown(
            [5, 40, 30, 60], fields=["site"], categories=[SITES], noisy_unknown=0, exact=True
        )  # type: ignore[call-arg]
