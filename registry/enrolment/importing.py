"""Bulk enrolment from a CSV file: ``registry import participants FILE.csv``.

The file has a header row, then one person per row. Its columns are the API enrolment body
(``POST /api/v1/participants``) flattened, so each cell is checked by the same schema:

=============================  ============================================================
column                         API field, and what the cell holds
=============================  ============================================================
cohort                         ``cohort``: EP or TRD
site                           ``site``: the recruiting site's code, e.g. RXT
nhs_number                     ``nhs_number``: 10 digits (spaces allowed)
given_name, family_name        ``given_name``, ``family_name``
date_of_birth                  ``date_of_birth``: YYYY-MM-DD
postcode                       ``postcode``: a full UK postcode
email, phone                   optional
sex, gender_identity,          coded as in the API (``registry/participants/data/
ethnicity                      reference.toml``)
imd_decile, imd_version        optional: 1-10, and IoD2019 or IoD2025
consent_form_version           ``consent.form_version``, e.g. TRD-PIS-2.0
consent_signed_on              ``consent.signed_on``: YYYY-MM-DD
consent_<item>                 ``consent.items.<item>``, one column per consent item:
                               yes/no (y/n), true/false or 1/0
capacity                       optional: ``confirmed`` (the default) or ``consultee``
consultee_type, consultee_name optional: when a consultee declares
diagnosis_icd10                ``clinical.diagnosis_icd10``, e.g. F33.2
psychosis_onset, episode_start ``clinical``: YYYY-MM (EP onset; TRD episode start)
first_antipsychotic_on,        optional, EP: YYYY-MM-DD
eip_accepted_on
dup_weeks                      optional, EP: whole weeks
=============================  ============================================================

Every column of ``REQUIRED_COLUMNS`` must be in the header, and no column the import does
not know (a header that is wrong is a usage error and nothing is written); a column with no
name is ignored (spreadsheets add them). An empty cell is a value not given. Every row is
checked before any is written; a bad row is reported by its line number with each field's
problem, and never with what it holds. The good rows are then enrolled through
``enrol_batch`` a batch at a time; the command commits each batch (this module only
flushes), so a failure loses at most the batch in progress and never half a participant. A
person already enrolled, or earlier in the same file, is reported as "already enrolled" and
skipped, so importing the same file again enrols no one twice.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.audit.actions import Actor, record_event
from registry.consents.items import CONSENT_ITEMS
from registry.enrolment.actions import Refusal, enrol_batch
from registry.enrolment.commands import Enrol
from registry.enrolment.schemas import load_enrolment
from registry.errors import ValidationFailed

# Column -> where its value goes in the API enrolment body, in the order the format lists.
COLUMN_PATHS: dict[str, tuple[str, ...]] = {
    "cohort": ("cohort",),
    "site": ("site",),
    "nhs_number": ("nhs_number",),
    "given_name": ("given_name",),
    "family_name": ("family_name",),
    "date_of_birth": ("date_of_birth",),
    "postcode": ("postcode",),
    "email": ("email",),
    "phone": ("phone",),
    "sex": ("sex",),
    "gender_identity": ("gender_identity",),
    "ethnicity": ("ethnicity",),
    "imd_decile": ("imd_decile",),
    "imd_version": ("imd_version",),
    "consent_form_version": ("consent", "form_version"),
    "consent_signed_on": ("consent", "signed_on"),
    **{f"consent_{item}": ("consent", "items", item) for item in CONSENT_ITEMS},
    "capacity": ("consent", "capacity"),
    "consultee_type": ("consent", "consultee", "type"),
    "consultee_name": ("consent", "consultee", "name"),
    "diagnosis_icd10": ("clinical", "diagnosis_icd10"),
    "psychosis_onset": ("clinical", "psychosis_onset"),
    "first_antipsychotic_on": ("clinical", "first_antipsychotic_on"),
    "eip_accepted_on": ("clinical", "eip_accepted_on"),
    "dup_weeks": ("clinical", "dup_weeks"),
    "episode_start": ("clinical", "episode_start"),
}
COLUMNS = tuple(COLUMN_PATHS)
_OPTIONAL_COLUMNS = {
    "email",
    "phone",
    "imd_decile",
    "imd_version",
    "capacity",
    "consultee_type",
    "consultee_name",
    # Each cohort needs only one of the two months, and EP's treatment dates are optional.
    "psychosis_onset",
    "first_antipsychotic_on",
    "eip_accepted_on",
    "dup_weeks",
    "episode_start",
}
REQUIRED_COLUMNS = tuple(column for column in COLUMNS if column not in _OPTIONAL_COLUMNS)
_INTEGER_COLUMNS = {"imd_decile", "dup_weeks"}
_BOOLEAN_COLUMNS = {f"consent_{item}" for item in CONSENT_ITEMS}
_TRUE = {"yes", "true", "1", "y"}
_FALSE = {"no", "false", "0", "n"}
# A field the schema names -> the column to name in the report.
_COLUMN_OF_FIELD = {".".join(path): column for column, path in COLUMN_PATHS.items()}
DEFAULT_BATCH_SIZE = 1000


class ImportFileError(ValueError):
    """The file cannot be read as an import at all (its header is wrong); nothing written."""


@dataclass(frozen=True, slots=True)
class CheckedRow:
    line: int
    enrolment: Enrol


@dataclass
class ImportReport:
    """What happened to each row; line numbers only, never a value from the file."""

    imported: int = 0
    already_enrolled: list[int] = field(default_factory=list)
    rejected: dict[int, dict[str, list[str]]] = field(default_factory=dict)  # line -> column

    def reject(self, line: int, fields: Mapping[str, Sequence[str]]) -> None:
        by_column: dict[str, list[str]] = {}
        for name, messages in fields.items():
            by_column.setdefault(_COLUMN_OF_FIELD.get(name, name), []).extend(messages)
        self.rejected[line] = by_column

    def rejected_lines(self) -> list[str]:
        """``line 7: nhs_number: …; date_of_birth: …`` per rejected row, in file order."""
        order = {column: i for i, column in enumerate(COLUMNS)}
        return [
            f"line {line}: "
            + "; ".join(
                f"{column}: {' '.join(messages)}"
                for column, messages in sorted(
                    self.rejected[line].items(), key=lambda kv: order.get(kv[0], len(order))
                )
            )
            for line in sorted(self.rejected)
        ]

    def summary(self) -> str:
        return (
            f"imported {self.imported}, already enrolled {len(self.already_enrolled)}, "
            f"rejected {len(self.rejected)}"
        )


@dataclass
class CheckedFile:
    rows: list[CheckedRow]
    report: ImportReport


# -- reading ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CsvRow:
    line: int  # where the record starts in the file (a quoted cell may span lines)
    cells: dict[str, str]  # column -> cell
    problem: str | None = None  # the row cannot be read as the header says


def read_rows(source: Path | Iterable[str]) -> list[CsvRow]:
    """Each data row of a CSV file; ImportFileError if its header is wrong.

    ``source`` is a path, or the file's lines (an open file, a list of strings).
    """
    if isinstance(source, Path):
        with source.open(encoding="utf-8-sig", newline="") as handle:
            return list(_rows(handle))
    return list(_rows(source))


def _rows(lines: Iterable[str]) -> Iterator[CsvRow]:
    reader = csv.reader(lines)
    header = [name.strip().lower() for name in next(reader, [])]
    _check_header(header)
    while True:
        line = reader.line_num + 1
        cells = next(reader, None)
        if cells is None:
            return
        if not any(cell.strip() for cell in cells):
            continue  # a blank line
        if len(cells) != len(header):
            # Counts only: the cells of a row that does not fit are not safe to repeat.
            problem = f"has {len(cells)} values; the header has {len(header)} columns."
            yield CsvRow(line, {}, problem)
        else:
            named = zip(header, cells, strict=True)
            yield CsvRow(line, {column: cell for column, cell in named if column})


def _check_header(header: Sequence[str]) -> None:
    if not header:
        raise ImportFileError("the file is empty; it needs a header row")
    problems = []
    missing = [column for column in REQUIRED_COLUMNS if column not in header]
    if missing:
        problems.append(f"missing columns: {', '.join(missing)}")
    # Unknown cells are named by position: a file without its header has a person there.
    unknown = [str(i) for i, name in enumerate(header, 1) if name and name not in COLUMN_PATHS]
    if unknown:
        problems.append(f"unknown columns at positions {', '.join(unknown)}")
    repeated = sorted({name for name in header if name in COLUMN_PATHS and header.count(name) > 1})
    if repeated:
        problems.append(f"repeated columns: {', '.join(repeated)}")
    if problems:
        raise ImportFileError(
            "; ".join(problems) + " (the first row must be the header; see --help for the columns)"
        )


# -- checking ---------------------------------------------------------------------------


def enrolment_body(row: Mapping[str, str]) -> dict[str, Any]:
    """The API enrolment body a row stands for; empty cells are left out.

    Cells are only converted to the JSON types the API takes; a cell that does not convert
    is passed on as it is, for the schema to reject with its usual message.
    """
    body: dict[str, Any] = {}
    for column, cell in row.items():
        text = cell.strip()
        if not text:
            continue
        target = body
        *parents, name = COLUMN_PATHS[column]
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = _json_value(column, text)
    return body


def _json_value(column: str, text: str) -> Any:
    if column in _INTEGER_COLUMNS and text.lstrip("-").isdigit():
        return int(text)
    if column in _BOOLEAN_COLUMNS:
        lowered = text.lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
    return text


def check_rows(
    rows: Iterable[CsvRow], *, progress: Callable[[int], None] | None = None
) -> CheckedFile:
    """Load every row through the enrolment schema; the good ones, and a report of the bad."""
    checked = CheckedFile(rows=[], report=ImportReport())
    for row in rows:
        if row.problem is not None:
            checked.report.reject(row.line, {"row": [row.problem]})
        else:
            try:
                enrolment = load_enrolment(enrolment_body(row.cells))
            except ValidationFailed as exc:
                checked.report.reject(row.line, exc.fields)
            else:
                checked.rows.append(CheckedRow(row.line, enrolment))
        if progress is not None:
            progress(1)
    return checked


# -- importing --------------------------------------------------------------------------


def import_checked(
    checked: CheckedFile,
    *,
    by: Actor,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Enrol the checked rows a batch at a time, in the caller's transaction
    (``registry import participants`` commits each batch instead)."""
    report = checked.report
    for start in range(0, len(checked.rows), batch_size):
        batch = checked.rows[start : start + batch_size]
        import_batch(batch, report=report, by=by)
        if progress is not None:
            progress(len(batch))
    record_import(report, by=by)
    return report


def import_batch(rows: Sequence[CheckedRow], *, report: ImportReport, by: Actor) -> None:
    """Enrol a batch of checked rows, each outcome noted in the report."""
    outcomes = enrol_batch([row.enrolment for row in rows], by=by, own_site=None)
    for row, outcome in zip(rows, outcomes, strict=True):
        _note(report, row.line, outcome)


def record_import(report: ImportReport, *, by: Actor) -> None:
    """Audit the import as a whole: how many rows went each way, never what they held."""
    record_event(
        "participant.import",
        by=by,
        details={
            "imported": report.imported,
            "already_enrolled": len(report.already_enrolled),
            "rejected": len(report.rejected),
        },
    )


def _note(report: ImportReport, line: int, outcome: int | Refusal) -> None:
    if not isinstance(outcome, Refusal):
        report.imported += 1
    elif outcome.code == "duplicate_participant":
        report.already_enrolled.append(line)
    else:  # what needs the registry: the site, the consent-form version
        report.reject(line, outcome.fields)


def import_participants(
    path_or_rows: Path | Iterable[str],
    *,
    by: Actor,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check every row of a CSV file, then enrol the good ones; see the module docstring."""
    checked = check_rows(read_rows(path_or_rows))
    return import_checked(checked, by=by, batch_size=batch_size, progress=progress)
