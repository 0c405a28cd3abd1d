"""Consent-form versions: added through the CLI, listed with the one in force marked."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import clock
from registry.audit.models import AuditEvent
from registry.auth.permissions import Role
from registry.cli import main
from registry.consents.queries import current_form
from registry.db import session
from tests.conftest import Account, csrf_token_from

PDF = b"%PDF-1.7\n% a tiny information sheet\n%%EOF\n"


def add_form(
    app: Flask, tmp_path: Path, *args: str, name: str = "sheet.pdf", content: bytes = PDF
) -> tuple[int, str]:
    document = tmp_path / name
    document.write_bytes(content)
    result = app.test_cli_runner().invoke(
        main, ["consent-forms", "add", *args, "--file", str(document)]
    )
    return result.exit_code, result.output


def test_add_pdf_form_records_version_and_hash(app: Flask, tmp_path: Path) -> None:
    code, output = add_form(
        app, tmp_path, "--cohort", "TRD", "--version", "TRD-PIS-2.0", "--effective", "2026-01-01"
    )

    with app.app_context():
        form = current_form("TRD")
        audited = session().scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "consent_form.add")
            .order_by(AuditEvent.seq.desc())
        )
    assert code == 0
    assert f"sha256 {hashlib.sha256(PDF).hexdigest()}" in output
    assert form is not None and form.version == "TRD-PIS-2.0" and form.document == PDF
    assert audited is not None and '"version":"TRD-PIS-2.0"' in audited.details


def test_future_version_is_not_current_until_effective(app: Flask, tmp_path: Path) -> None:
    add_form(app, tmp_path, "--cohort", "EP", "--version", "EP-1", "--effective", "2025-01-01")
    next_year = (clock.today() + dt.timedelta(days=365)).isoformat()
    add_form(app, tmp_path, "--cohort", "EP", "--version", "EP-2", "--effective", next_year)

    with app.app_context():
        today = current_form("EP")
        later = current_form("EP", on=clock.today() + dt.timedelta(days=366))

    assert today is not None and today.version == "EP-1"
    assert later is not None and later.version == "EP-2"


def test_markdown_form_is_accepted(app: Flask, tmp_path: Path) -> None:
    code, _ = add_form(
        app,
        tmp_path,
        "--cohort",
        "EP",
        "--version",
        "EP-MD-1",
        "--effective",
        "2026-01-01",
        name="sheet.md",
        content="# Information sheet\n\nZoë\u2019s study.\n".encode(),
    )

    assert code == 0


def test_file_that_is_not_a_pdf_is_refused(app: Flask, tmp_path: Path) -> None:
    code, output = add_form(
        app,
        tmp_path,
        "--cohort",
        "EP",
        "--version",
        "EP-X",
        "--effective",
        "2026-01-01",
        content=b"not a pdf",
    )

    assert code == 1
    assert "does not look like a PDF" in output


def test_other_file_types_are_refused(app: Flask, tmp_path: Path) -> None:
    code, output = add_form(
        app,
        tmp_path,
        "--cohort",
        "EP",
        "--version",
        "EP-X",
        "--effective",
        "2026-01-01",
        name="sheet.docx",
    )

    assert code == 1
    assert ".pdf or .md" in output


def test_same_version_twice_is_refused(app: Flask, tmp_path: Path) -> None:
    add_form(app, tmp_path, "--cohort", "TRD", "--version", "V1", "--effective", "2026-01-01")

    code, output = add_form(
        app, tmp_path, "--cohort", "TRD", "--version", "V1", "--effective", "2026-02-01"
    )

    assert code == 1
    assert "already has a version V1" in output


def test_unknown_cohort_and_bad_date_are_usage_errors(app: Flask, tmp_path: Path) -> None:
    assert (
        add_form(app, tmp_path, "--cohort", "XX", "--version", "V", "--effective", "2026-01-01")[0]
        == 2
    )
    assert (
        add_form(app, tmp_path, "--cohort", "EP", "--version", "V", "--effective", "01/02/2026")[0]
        == 2
    )


def test_api_lists_versions_with_the_current_one_marked(
    app: Flask,
    tmp_path: Path,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
) -> None:
    add_form(app, tmp_path, "--cohort", "TRD", "--version", "T1", "--effective", "2025-01-01")
    add_form(app, tmp_path, "--cohort", "TRD", "--version", "T2", "--effective", "2026-01-01")
    token = issue_token(create_account(Role.CLINICIAN))

    response = client.get(
        "/api/v1/consent-forms?cohort=TRD", headers={"Authorization": f"Bearer {token}"}
    )
    bad = client.get(
        "/api/v1/consent-forms?cohort=ZZ", headers={"Authorization": f"Bearer {token}"}
    )

    listed = [(f["version"], f["current"]) for f in response.get_json()]
    assert response.status_code == 200
    assert listed == [("T2", True), ("T1", False)]
    assert bad.status_code == 422


def _upload(client: FlaskClient, content: bytes, name: str, **fields: str) -> Any:
    page = client.get("/admin/consent-forms/").get_data(as_text=True)
    data = {
        "csrf_token": csrf_token_from(page),
        "cohort": "TRD",
        "version": "TRD-WEB-1",
        "effective_on-day": "1",
        "effective_on-month": "1",
        "effective_on-year": "2026",
        "document": (io.BytesIO(content), name),
        "step": "confirm",  # as the check page's button sends it
        **fields,
    }
    return client.post("/admin/consent-forms/", data=data, content_type="multipart/form-data")


def test_admin_adds_a_version_through_the_page(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
) -> None:
    sign_in(create_account(Role.ADMIN))

    response = _upload(client, PDF, "sheet.pdf")
    page = client.get("/admin/consent-forms/").get_data(as_text=True)

    assert response.status_code == 302
    assert "Added TRD consent form TRD-WEB-1." in page
    assert "TRD-WEB-1" in page and "In force" in page
    with app.app_context():
        form = current_form("TRD")
        assert form is not None and form.version == "TRD-WEB-1"


def test_page_shows_errors_and_writes_nothing_for_a_bad_file(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
) -> None:
    sign_in(create_account(Role.ADMIN))

    response = _upload(client, b"not a pdf", "sheet.pdf", version="")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in html
    assert "Enter the version, for example TRD-PIS-2.0." in html
    with app.app_context():
        assert current_form("TRD") is None


def test_page_reports_a_duplicate_version_on_the_version_field(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
) -> None:
    sign_in(create_account(Role.ADMIN))
    _upload(client, PDF, "sheet.pdf")

    response = _upload(client, b"# sheet\n", "sheet.md")

    assert "TRD already has a version TRD-WEB-1." in response.get_data(as_text=True)


def test_clinician_cannot_open_the_admin_page(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    sign_in(create_account(Role.CLINICIAN))

    assert client.get("/admin/consent-forms/").status_code == 403
