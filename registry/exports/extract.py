"""Writing an extract: one file per table, a data dictionary and a manifest, streamed.

Who is in it is decided first, in one statement, and put in pseudonym order
(``subjects_in_order``); their order goes into a temporary table (``OutputOrder``), so that
each table is then one statement, already in output order, streamed a few thousand rows
at a time straight into its file. Memory holds the order (a few dozen bytes a participant)
and one chunk of rows, never the extract. Parquet files get a row group every
``ROW_GROUP_ROWS`` rows. Only the columns of the grant's approved variables are written;
every row is keyed by the study pseudonym.

CSV conventions: UTF-8, a header row, empty for unknown, ``true``/``false``, item scores as
a JSON list (``[1,2,0]``). Dates are ``YYYY-MM`` under the month policy and ``YYYY-MM-DD``
(shifted per participant) under the shift policy; in Parquet, shifted dates are ``date32``.
A text cell that a spreadsheet would run as a formula (it begins with = + - @, a tab or a
carriage return; a drug name is text a clinician types, a consent-form version text an
admin types) is written with a leading apostrophe, by the rule of ``registry.csv_cells``;
the data dictionary's type column and the manifest's ``text_cells`` say so. Parquet keeps
the exact text: its columns are typed and no spreadsheet runs them (nor the FHIR JSON,
``registry.exports.fhir``).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Protocol

from registry.assessments.drugs import drug_named
from registry.consents.items import CONSENT_ITEMS
from registry.csv_cells import RULE as CSV_TEXT_RULE
from registry.csv_cells import defuse_at, defused
from registry.exports.catalogue import (
    BOOLEAN,
    CATALOGUE_VERSION,
    DATE,
    INTEGER,
    INTEGERS,
    NUMBER,
    TABLES,
    TEXT,
    ExportColumn,
    approved_columns,
)
from registry.exports.models import DataAccessGrant
from registry.exports.pseudonymise import StudyView
from registry.exports.queries import (
    CONSENT_ANSWERS,
    OutputOrder,
    required_consent_items,
    subjects_in_order,
)
from registry.facts.outcomes import OUTCOME_COLUMNS
from registry.participants.queries import age_band_on

CSV = "csv"
PARQUET = "parquet"
FORMATS = (CSV, PARQUET)
ROW_GROUP_ROWS = 65_536
DICTIONARY = "data_dictionary.csv"
MANIFEST = "manifest.json"


def parquet_available() -> bool:
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class WrittenFile:
    name: str
    rows: int
    bytes: int
    sha256: str

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "bytes": self.bytes, "sha256": self.sha256}


@dataclass(frozen=True)
class Extract:
    participants: int
    rows: dict[str, int]  # per table written
    files: tuple[WrittenFile, ...]  # the tables and the dictionary, as the manifest lists them
    manifest: WrittenFile

    @property
    def names(self) -> list[str]:
        return [file.name for file in (*self.files, self.manifest)]


# -- writers ----------------------------------------------------------------------------------


class TableWriter(Protocol):
    rows: int

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None: ...

    def close(self) -> None: ...


class CsvTable:
    """Numbers as they are, dates in ISO form (``str`` of a date), unknown empty (the csv
    module writes None so), true/false spelt out; text as it is, except that a text cell a
    spreadsheet would run as a formula gets a leading apostrophe (``registry.csv_cells``).

    Only the text columns are looked at: under the month policy a date is a string too, but
    ``YYYY-MM`` never starts a formula, and item scores (JSON text) start with ``[``.
    """

    def __init__(self, path: Path, columns: Sequence[ExportColumn]) -> None:
        self._file = path.open("w", encoding="utf-8", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow([column.name for column in columns])
        self._booleans = [i for i, column in enumerate(columns) if column.kind == BOOLEAN]
        self._texts = [i for i, column in enumerate(columns) if column.kind == TEXT]
        self.rows = 0

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._writer.writerows(map(self._cells, rows))
        self.rows += len(rows)

    def _cells(self, row: tuple[Any, ...]) -> list[Any]:
        values = list(row)
        for i in self._booleans:
            if values[i] is not None:
                values[i] = "true" if values[i] else "false"
        defuse_at(values, self._texts)
        return values

    def close(self) -> None:
        self._file.close()


class ParquetTable:
    """Typed columns; text exactly as stored (no spreadsheet runs a Parquet file, so the
    CSV's leading apostrophe is not added)."""

    def __init__(self, path: Path, columns: Sequence[ExportColumn], *, shifted: bool) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {
            BOOLEAN: pa.bool_(),
            INTEGER: pa.int64(),
            INTEGERS: pa.list_(pa.int64()),
            NUMBER: pa.float64(),
            DATE: pa.date32() if shifted else pa.string(),
        }
        self._pa = pa
        self._schema = pa.schema(
            [pa.field(column.name, types.get(column.kind, pa.string())) for column in columns]
        )
        self._writer = pq.ParquetWriter(str(path), self._schema, compression="zstd")
        self._lists = [i for i, column in enumerate(columns) if column.kind == INTEGERS]
        self._pending: list[tuple[Any, ...]] = []
        self.rows = 0

    def write(self, rows: Sequence[tuple[Any, ...]]) -> None:
        self._pending.extend(rows)
        self.rows += len(rows)
        if len(self._pending) >= ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        columns: list[Any] = list(zip(*self._pending, strict=True))
        for i in self._lists:  # item scores come as JSON text
            columns[i] = [None if text is None else json.loads(text) for text in columns[i]]
        batch = self._pa.record_batch(
            [
                self._pa.array(values, type=field.type)
                for values, field in zip(columns, self._schema, strict=True)
            ],
            schema=self._schema,
        )
        self._writer.write_batch(batch)
        self._pending = []

    def close(self) -> None:
        self._flush()
        self._writer.close()


# -- rows ---------------------------------------------------------------------------------------
# Each table's every column, in one order, built as one tuple per row; an extract keeps the
# approved columns with an itemgetter. Dates go through StudyView.date; item scores arrive
# as compact JSON text.

DateOf = Callable[[Any, dt.timedelta], Any]

Key = tuple[str, dt.timedelta]  # (pseudonym, date shift) by output position

PARTICIPANT_FIELDS = (
    "pseudonym",
    "cohort",
    "birth_month",
    "age_band_at_enrolment",
    "sex",
    "gender_identity",
    "ethnicity",
    "ethnicity_group",
    "imd_decile",
    "imd_version",
    "diagnosis_icd10",
    "psychosis_onset",
    "dup_weeks",
    "episode_start",
    "enrolled_on",
    "withdrawal_level",
    "withdrawn_on",
    *OUTCOME_COLUMNS,
)


def _participant(row: Any, keys: Sequence[Key], date: DateOf) -> tuple[Any, ...]:
    pseudonym, offset = keys[row.position]
    born = (
        dt.date(row.birth_year, row.birth_month, 1) if row.birth_year and row.birth_month else None
    )
    return (
        pseudonym,
        row.cohort,
        date(born, offset),
        age_band_on(born, row.enrolled_on),
        row.sex,
        row.gender_identity,
        row.ethnicity,
        row.ethnicity_group,
        row.imd_decile,
        row.imd_version,
        row.diagnosis_icd10,
        date(row.psychosis_onset, offset),
        row.dup_weeks,
        date(row.episode_start, offset),
        date(row.enrolled_on, offset),
        row.withdrawal_level,
        date(row.withdrawn_at, offset),
        row.outcome_scale,
        row.outcome_baseline_total,
        date(row.outcome_baseline_on, offset),
        row.outcome_latest_total,
        date(row.outcome_latest_on, offset),
        row.response,
        row.remission,
        row.outcome_definitions,
    )


CONSENT_FIELDS = (
    "pseudonym",
    *(f"consent_{item}" for item in CONSENT_ITEMS),
    "form_version",
    "signed_on",
)


def _consent(row: Any, keys: Sequence[Key], date: DateOf) -> tuple[Any, ...]:
    pseudonym, offset = keys[row.position]
    return (pseudonym, *row[CONSENT_ANSWERS], row.form_version, date(row.signed_on, offset))


ASSESSMENT_FIELDS = (
    "pseudonym",
    "instrument",
    "scale_version",
    "administered_on",
    "total",
    "band",
    "items",
)


def _assessment(row: Any, keys: Sequence[Key], date: DateOf) -> tuple[Any, ...]:
    pseudonym, offset = keys[row.position]
    return (
        pseudonym,
        row.instrument,
        row.scale_version,
        date(row.administered_on, offset),
        row.total,
        row.band,
        row.items,
    )


TRIAL_FIELDS = (
    "pseudonym",
    "drug",
    "started_on",
    "adequate_dose",
    "weeks",
    "outcome",
    "drug_code",
    "bnf_section",
    "drug_list_version",
    "modality",
    "dose",
    "dose_unit",
    "ended_on",
    "adherence",
    "response_percent",
    "stop_reason",
    "not_recovered",
)


def _number(value: float | None) -> float | int | None:
    """A decimal as the same text from either database: 225, not 225.0 (PostgreSQL's
    numeric reads back as a float, SQLite's as whatever was stored)."""
    if value is None:
        return None
    return int(value) if float(value).is_integer() else float(value)


def _trial(row: Any, keys: Sequence[Key], date: DateOf) -> tuple[Any, ...]:
    pseudonym, offset = keys[row.position]
    drug = drug_named(row.drug) if row.drug else None
    return (
        pseudonym,
        row.drug,
        date(row.started_on, offset),
        row.adequate_dose,
        row.weeks,
        row.outcome,
        row.drug_code,
        drug.drug_class.bnf if drug else None,
        row.drug_list_version,
        row.modality,
        _number(row.dose),
        row.dose_unit,
        date(row.ended_on, offset) if row.ended_on else None,
        row.adherence,
        row.response_percent,
        row.stop_reason,
        " ".join(row.not_recovered) if row.not_recovered else None,
    )


FIELDS = {
    "participants": PARTICIPANT_FIELDS,
    "assessments": ASSESSMENT_FIELDS,
    "treatment_trials": TRIAL_FIELDS,
    "consent": CONSENT_FIELDS,
}
BUILDERS = {
    "participants": _participant,
    "assessments": _assessment,
    "treatment_trials": _trial,
    "consent": _consent,
}
for _table in TABLES:  # every catalogue column has its place in a row
    assert {c.name for v in _table.variables for c in v.columns} < set(FIELDS[_table.name])


def projection(table: str, columns: Sequence[ExportColumn]) -> Callable[[tuple[Any, ...]], Any]:
    """Picks ``columns`` (at least the key and one more) out of a whole row of ``table``."""
    fields = FIELDS[table]
    return itemgetter(*(fields.index(column.name) for column in columns))


# -- the extract ------------------------------------------------------------------------------


def write_extract(
    grant: DataAccessGrant,
    directory: Path,
    *,
    file_format: str,
    export_id: str,
    generated_at: dt.datetime,
    progress: Callable[[int], None] | None = None,
    on_population: Callable[[int], None] | None = None,
) -> Extract:
    """Write the extract's files into ``directory``; return what was written.

    ``on_population`` is told how many steps ``progress`` will count to: the participants
    times the statements read (participants and consent share one), each counting the
    participants it has passed.
    """
    view = StudyView(grant)
    approved = frozenset(grant.variables)
    columns = {table.name: approved_columns(table, approved) for table in TABLES}
    suffix = ".parquet" if file_format == PARQUET else ".csv"
    subjects = subjects_in_order(grant, view.pseudonym)
    keys = [(s.pseudonym, view.shift(s.participant_id)) for s in subjects]
    writers: dict[str, TableWriter] = {}
    try:
        for name, table_columns in columns.items():
            if table_columns:
                path = directory / f"{name}{suffix}"
                writers[name] = (
                    ParquetTable(path, table_columns, shifted=view.shifted)
                    if file_format == PARQUET
                    else CsvTable(path, table_columns)
                )
        statements = [("participants", "consent"), ("assessments",), ("treatment_trials",)]
        if on_population is not None:
            reads = sum(any(name in writers for name in names) for names in statements)
            on_population(len(subjects) * reads)
        stream = _Streamer(keys, view.date, progress)

        def into(*names: str) -> list[tuple[TableWriter, str, list[ExportColumn]]]:
            return [(writers[name], name, columns[name]) for name in names if name in writers]

        with OutputOrder([subject.pk for subject in subjects]) as order:
            if into("participants", "consent"):  # a row per participant in each: one statement
                signings = needs_signings(columns)
                stream(
                    order.participants(grant, with_records=signings),
                    into("participants", "consent"),
                )
            if into("assessments"):
                with_items = "items" in {column.name for column in columns["assessments"]}
                stream(order.assessments(grant, with_items=with_items), into("assessments"))
            if into("treatment_trials"):
                stream(order.trials(grant), into("treatment_trials"))
    finally:
        for writer in writers.values():
            writer.close()

    participants = writers["participants"].rows if "participants" in writers else len(subjects)
    files = [
        _describe(directory / f"{name}{suffix}", writer.rows) for name, writer in writers.items()
    ]
    files.append(_write_dictionary(directory / DICTIONARY, columns, view.shifted, suffix))
    manifest = _write_manifest(
        directory / MANIFEST,
        grant,
        export_id=export_id,
        generated_at=generated_at,
        file_format=file_format,
        participants=participants,
        files=files,
    )
    return Extract(
        participants=participants,
        rows={name: writer.rows for name, writer in writers.items()},
        files=tuple(files),
        manifest=manifest,
    )


def needs_signings(columns: dict[str, list[ExportColumn]]) -> bool:
    return bool({c.name for c in columns["consent"]} & {"form_version", "signed_on"})


class _Streamer:
    """Writes a statement's rows into files a chunk at a time; counts the participants
    passed (rows come in output position order) for the progress bar."""

    def __init__(
        self, keys: Sequence[Key], date: DateOf, progress: Callable[[int], None] | None
    ) -> None:
        self.keys = keys
        self.date = date
        self.progress = progress

    def __call__(
        self,
        chunks: Iterator[Sequence[Any]],
        targets: Sequence[tuple[TableWriter, str, list[ExportColumn]]],
    ) -> None:
        keys, date = self.keys, self.date
        plans = [(writer, BUILDERS[name], projection(name, cols)) for writer, name, cols in targets]
        passed = 0
        for chunk in chunks:
            for writer, build, project in plans:
                writer.write([project(build(row, keys, date)) for row in chunk])
            reached = chunk[-1].position + 1
            self._advance(reached - passed)
            passed = reached
        self._advance(len(keys) - passed)

    def _advance(self, steps: int) -> None:
        if self.progress is not None and steps > 0:
            self.progress(steps)


CSV_TEXT_LABEL = (
    "text (a leading ' is added to a cell beginning with = + - @ or their full-width forms, "
    "after any spaces, or with a tab or CR)"
)


def _kind_label(kind: str, shifted: bool, suffix: str) -> str:
    if kind == DATE:
        return "date YYYY-MM-DD, shifted per participant" if shifted else "date YYYY-MM"
    return {
        BOOLEAN: "true/false",
        INTEGER: "integer",
        INTEGERS: "list of integers (JSON in CSV)",
        NUMBER: "number",
    }.get(kind, CSV_TEXT_LABEL if suffix == ".csv" else "text")


def _write_dictionary(
    path: Path, columns: dict[str, list[ExportColumn]], shifted: bool, suffix: str
) -> WrittenFile:
    variable_of = {
        (table.name, column.name): variable.key
        for table in TABLES
        for variable in table.variables
        for column in variable.columns
    }
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["file", "column", "type", "variable", "description"])
        for name, table_columns in columns.items():
            for column in table_columns:
                writer.writerow(
                    defused(
                        [
                            f"{name}{suffix}",
                            column.name,
                            _kind_label(column.kind, shifted, suffix),
                            variable_of.get((name, column.name), "key"),
                            column.description,
                        ]
                    )
                )
                rows += 1
    return _describe(path, rows)


PARQUET_TEXT = "Text columns hold the stored text exactly; nothing is added to any cell."


def _write_manifest(
    path: Path,
    grant: DataAccessGrant,
    *,
    export_id: str,
    generated_at: dt.datetime,
    file_format: str,
    participants: int,
    files: Sequence[WrittenFile],
) -> WrittenFile:
    manifest = {
        "grant_id": grant.grant_id,
        "study_title": grant.title,
        "ethics_reference": grant.ethics_reference,
        "export_id": export_id,
        "generated_at": generated_at.isoformat(timespec="seconds"),
        "format": file_format,
        "catalogue_version": CATALOGUE_VERSION,
        "cohorts": list(grant.cohorts),
        "consent_items_required": required_consent_items(grant),
        "date_policy": grant.date_policy,
        "max_shift_days": grant.max_shift_days,
        "variables": sorted(grant.variables),
        "key": "pseudonym: study-specific; the same in every extract of this study",
        "text_cells": CSV_TEXT_RULE if file_format == CSV else PARQUET_TEXT,
        "participants": participants,
        "tables": {
            table.name: table.description
            for table in TABLES
            if any(file.name.startswith(f"{table.name}.") for file in files)
        },
        "files": [file.as_dict() for file in files],
    }
    path.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return _describe(path, 1)


def _describe(path: Path, rows: int) -> WrittenFile:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as file:
        while block := file.read(1 << 20):
            digest.update(block)
            size += len(block)
    return WrittenFile(path.name, rows, size, digest.hexdigest())


def zip_extract(directory: Path, names: Sequence[str]) -> IO[bytes]:
    """The extract's files zipped into an anonymous temporary file, rewound for sending.

    The file has no name on disk and goes when it is closed (after the response is sent).
    """
    archive = tempfile.TemporaryFile()  # noqa: SIM115 - closed by whoever sends it
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in names:
            compression = zipfile.ZIP_STORED if name.endswith(".parquet") else zipfile.ZIP_DEFLATED
            bundle.write(directory / name, arcname=name, compress_type=compression)
    archive.seek(0)
    return archive
