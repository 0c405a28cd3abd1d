"""The one rule for text cells of the CSV files people open in spreadsheets.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and, in some, one
that starts with a tab or a carriage return) as a formula, and it skips white space (spaces,
line feeds, tabs) before looking; some also read the full-width signs (U+FF1D, U+FF0B,
U+FF0D, U+FF20) and the small forms (U+FE66, U+FE62, U+FE63, U+FE6B) as the ones they
stand for: a drug name typed as
``=HYPERLINK("http://…","x")`` or ``=cmd|' /C calc'!A0`` would become a link or a command
when a researcher opens the file. Following the OWASP advice on CSV injection, such a text
cell is written with a leading apostrophe, which spreadsheets show as text and never run.
Only strings are touched: numbers (a negative one included), dates and booleans are
written as they are, since a spreadsheet reads those as values, not formulas.

Used by every CSV a person downloads: researchers' extracts (``registry.exports.extract``)
and the representativeness report (``registry.reports.datasheet``). Typed formats (Parquet,
FHIR JSON) keep the exact text: nothing runs them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeGuard, TypeVar

# The signs that make a spreadsheet read a cell as a formula, after any white space.
FORMULA_SIGNS = (
    *("=", "+", "-", "@"),
    *("\uff1d", "\uff0b", "\uff0d", "\uff20"),  # full-width = + - @
    *("\ufe66", "\ufe62", "\ufe63", "\ufe6b"),  # small = + - @
)
# The first characters that make a spreadsheet read a cell as a formula.
FORMULA_STARTS = (*FORMULA_SIGNS, "\t", "\r")
_FIRST = frozenset(FORMULA_STARTS)  # each is one character: a set lookup on cell[:1]
_SIGNS = frozenset(FORMULA_SIGNS)
APOSTROPHE = "'"
# How the files that follow the rule describe it to their readers.
RULE = (
    "Text cells beginning with = + - @ (or their full-width forms), perhaps after spaces "
    "or line breaks, or with a tab or a carriage return, are written with a leading "
    "apostrophe (') so that spreadsheets show them as text and never run them as "
    "formulas; remove the one leading apostrophe to recover the stored text."
)

Cell = TypeVar("Cell")


def runs_as_formula(cell: object) -> TypeGuard[str]:
    """Whether a spreadsheet would run this cell: a string starting with a formula start,
    or with a formula sign after white space."""
    return isinstance(cell, str) and (cell[:1] in _FIRST or cell.lstrip()[:1] in _SIGNS)


def defuse(cell: Cell) -> Cell | str:
    """The cell as a CSV file should hold it: a string a spreadsheet would run, with a
    leading apostrophe; anything else (other strings, numbers, dates, booleans, None)
    unchanged."""
    return APOSTROPHE + cell if runs_as_formula(cell) else cell


def defused(cells: Iterable[Any]) -> list[Any]:
    """A row of cells, each through ``defuse``."""
    return [defuse(cell) for cell in cells]


def defuse_at(values: list[Any], positions: Sequence[int]) -> None:
    """``defuse`` the cells at these positions of a row (its text columns), in place."""
    for i in positions:
        values[i] = defuse(values[i])
