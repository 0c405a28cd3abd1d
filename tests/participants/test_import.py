"""Bulk enrolment from a CSV file: bad rows reported by line and field (never by value),
good rows enrolled whole, people already enrolled skipped, a wrong header refused."""

from __future__ import annotations

import csv
import datetime as dt
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry import clock
from registry.audit.actions import Actor
from registry.audit.models import AuditEvent
from registry.auth.models import Site
from registry.cli import main
from registry.consents.models import ConsentItemEvent
from registry.db import session
from registry.enrolment import importing
from registry.enrolment.actions import enrol_participant
from registry.enrolment.importing import COLUMN_PATHS, COLUMNS, enrolment_body
from registry.enrolment.schemas import load_enrolment
from registry.errors import Conflict
from registry.participants.identity import find_by_nhs_number
from registry.participants.models import Participant, ParticipantFacts
from tests.conftest import enrolment_body as api_body

pytestmark = pytest.mark.usefixtures("consent_forms")

REPORT_LINE = re.compile(r"^line (?P<line>[0-9]+): (?P<problems>.+)$")
REPORT_COLUMN = re.compile(r"(?:^|; )([a-z_0-9.]+): ")


def csv_row(at: Site, cohort: str = "TRD", **cells: str) -> dict[str, str]:
    """A CSV row for a new synthetic person at a site: conftest's API body, flattened."""
    body = api_body(cohort, site=at.code)
    row = {}
    for column, path in COLUMN_PATHS.items():
        value: Any = body
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, bool):
            value = "yes" if value else "no"
        row[column] = "" if value is None else str(value)
    return {**row, **cells}


def write_csv(path: Path, rows: list[dict[str, str]], columns: tuple[str, ...] = COLUMNS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return path


def invoke(app: Flask, path: Path) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(main, ["import", "participants", str(path)])
    return result.exit_code, result.output  # stdout and stderr together


def counts(app: Flask) -> tuple[int, int]:
    with app.app_context():
        db = session()
        return (
            db.scalar(select(func.count()).select_from(Participant)) or 0,
            db.scalar(select(func.count()).select_from(AuditEvent)) or 0,
        )


def reported_columns(lines: list[str]) -> dict[int, list[str]]:
    """{line number: the columns named} from the report's ``line N: column: …; …`` lines."""
    found = (REPORT_LINE.match(line) for line in lines)
    return {
        int(match["line"]): REPORT_COLUMN.findall(match["problems"])
        for match in found
        if match is not None
    }


def bad_check_digit(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


@pytest.fixture
def site(create_site: Callable[..., Site]) -> Site:
    return create_site()


@pytest.fixture
def already_enrolled(app: Flask, site: Site) -> dict[str, str]:
    """A row for someone enrolled before the import."""
    row = csv_row(site)
    with app.test_request_context():
        enrol_participant(
            load_enrolment(enrolment_body(row)), by=Actor.command_line(), own_site=None
        )
        session().commit()
    return row


MixedFile = tuple[Path, list[dict[str, str]], list[dict[str, str]]]


@pytest.fixture
def mixed_file(tmp_path: Path, site: Site, already_enrolled: dict[str, str]) -> MixedFile:
    """Lines 2, 3 and 7 good; 4, 5 and 9 bad; 6 already enrolled; 8 repeats line 2."""
    good = [csv_row(site), csv_row(site, "EP"), csv_row(site, consent_samples="no")]
    in_future = (clock.today() + dt.timedelta(days=10)).isoformat()
    rows = [
        good[0],
        good[1],
        csv_row(site, nhs_number=bad_check_digit(good[0]["nhs_number"]), date_of_birth=in_future),
        csv_row(site, consent_samples="maybe", imd_decile="11", diagnosis_icd10="F20.0"),
        already_enrolled,
        good[2],
        {**csv_row(site), "nhs_number": good[0]["nhs_number"]},
        csv_row(site, site="NOSUCH"),
    ]
    return write_csv(tmp_path / "participants.csv", rows), rows, good


def test_import_reports_bad_lines_and_enrols_the_good_ones(
    app: Flask, mixed_file: MixedFile
) -> None:
    path, rows, good = mixed_file
    participants_before, _ = counts(app)

    code, output = invoke(app, path)

    lines = output.splitlines()
    assert code == 1
    assert reported_columns(lines) == {
        4: ["nhs_number", "date_of_birth"],
        5: ["imd_decile", "consent_samples", "diagnosis_icd10"],
        9: ["site"],
    }
    assert "already enrolled, skipped: lines 6, 8" in lines
    assert lines[-1] == "imported 3, already enrolled 2, rejected 3"
    assert counts(app)[0] == participants_before + 3
    with app.app_context():
        for row in good:
            participant = find_by_nhs_number(row["nhs_number"])
            assert participant is not None
            facts = session().get(ParticipantFacts, participant.id)
            assert facts is not None and facts.cohort == row["cohort"]
            assert facts.consent_samples is (row["consent_samples"] == "yes")
            events = session().scalar(
                select(func.count())
                .select_from(ConsentItemEvent)
                .where(ConsentItemEvent.participant_pk == participant.id)
            )
            assert events == 8
        for bad in (rows[3], rows[7]):  # well-formed NHS numbers on rejected rows
            assert find_by_nhs_number(bad["nhs_number"]) is None


def test_import_output_names_no_identifier_from_the_file(app: Flask, mixed_file: MixedFile) -> None:
    path, rows, _ = mixed_file

    _, output = invoke(app, path)

    for row in rows:
        number = row["nhs_number"]
        assert number not in output
        assert f"{number[:3]} {number[3:6]} {number[6:]}" not in output
        assert row["family_name"] not in output
        assert row["date_of_birth"] not in output
        assert row["postcode"] not in output


def test_import_again_enrols_no_one_twice(app: Flask, mixed_file: MixedFile) -> None:
    path, _, _ = mixed_file
    invoke(app, path)
    participants_before, _ = counts(app)

    code, output = invoke(app, path)

    assert code == 1  # the bad rows are still bad
    assert output.splitlines()[-1] == "imported 0, already enrolled 5, rejected 3"
    assert counts(app)[0] == participants_before


def test_import_of_good_rows_only_exits_0(app: Flask, tmp_path: Path, site: Site) -> None:
    path = write_csv(tmp_path / "good.csv", [csv_row(site), csv_row(site, "EP")])

    code, output = invoke(app, path)

    assert (code, output.splitlines()[-1]) == (0, "imported 2, already enrolled 0, rejected 0")


def test_import_stopped_part_way_keeps_the_batches_before_and_none_of_the_failing_one(
    app: Flask, tmp_path: Path, site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [csv_row(site) for _ in range(4)]
    path = write_csv(tmp_path / "stopped.csv", rows)
    enrol = importing.import_batch

    def refuse_the_second_batch_once_written(
        batch: Sequence[importing.CheckedRow], *, report: importing.ImportReport, by: Actor
    ) -> None:
        enrol(batch, report=report, by=by)
        if batch[0].line >= 4:
            raise Conflict("stopped", "The import was stopped.")

    monkeypatch.setattr(importing, "import_batch", refuse_the_second_batch_once_written)
    participants_before, _ = counts(app)

    result = app.test_cli_runner().invoke(
        main, ["import", "participants", str(path), "--batch-size", "2"]
    )

    assert result.exit_code == 1
    assert "Error: The import was stopped." in result.output.splitlines()
    assert counts(app)[0] == participants_before + 2
    with app.app_context():
        enrolled = [find_by_nhs_number(row["nhs_number"]) is not None for row in rows]
    assert enrolled == [True, True, False, False]


def test_import_without_a_required_column_is_a_usage_error(
    app: Flask, tmp_path: Path, site: Site
) -> None:
    columns = tuple(column for column in COLUMNS if column != "nhs_number")
    path = write_csv(tmp_path / "no-nhs-number.csv", [csv_row(site)], columns)
    before = counts(app)

    code, output = invoke(app, path)

    assert code == 2
    assert "missing columns: nhs_number" in output
    assert counts(app) == before


def test_import_of_a_file_without_header_names_no_cell(
    app: Flask, tmp_path: Path, site: Site
) -> None:
    row = csv_row(site)
    path = tmp_path / "no-header.csv"
    path.write_text(",".join(row[column] for column in COLUMNS) + "\n", encoding="utf-8")
    before = counts(app)

    code, output = invoke(app, path)

    assert code == 2
    assert "the first row must be the header" in output
    assert row["nhs_number"] not in output and row["family_name"] not in output
    assert counts(app) == before


def test_enrolment_body_leaves_out_empty_cells_and_reads_answers() -> None:
    row = {"cohort": "EP", "email": " ", "imd_decile": "3", "consent_samples": "No"}

    body = enrolment_body(row)

    assert body == {"cohort": "EP", "imd_decile": 3, "consent": {"items": {"samples": False}}}
