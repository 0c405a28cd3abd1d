"""A copy of the database holds no participant's identifiers in the clear.

Participants are enrolled, viewed, corrected and assessed through the API on a database of
their own, with real commits (the usual per-test transaction is rolled back before anything
reaches the disk). Then the database itself is searched: on SQLite the file and its WAL byte
for byte and a logical dump; on PostgreSQL pg_dump's output and a COPY of every table.
Binary columns come out of logical dumps hex-encoded, so each secret is looked for as hex
too: plaintext stored in a blob column would otherwise slip through.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import make_url

from registry.audit.actions import Actor
from registry.auth import actions as auth_actions
from registry.auth.permissions import Role
from registry.db import session
from tests.conftest import (
    add_consent_forms,
    enrolment_body,
    isolated_app,
    new_nhs_number,
)

URL = "/api/v1/participants"


@dataclass(frozen=True)
class Person:
    given_name: str
    family_name: str
    date_of_birth: str
    postcode: str  # canonical, as stored
    postcode_typed: str  # as the clinician typed it
    email: str
    phone: str  # canonical
    phone_typed: str
    cohort: str = "TRD"


PEOPLE = [
    Person(
        "Wilhelmina", "Quarrington", "1971-08-19", "B15 2TT", "b152tt",
        "wilhelmina.quarrington@example.org", "07700900461", "07700 900461",
    ),
    Person(
        "Bartholomew", "Fotheringay", "1983-01-27", "B15 3AA", "B15 3AA",
        "b.fotheringay@example.net", "01214960742", "(0121) 496-0742",
    ),
    Person(
        "Perpetua", "Achterberg", "2003-05-06", "M13 9PL", "M13 9PL",
        "perpetua.a@example.com", "+447700900817", "+44 7700 900817", "EP",
    ),
    Person(
        "Zephaniah", "Vanbrugh-Sly", "1958-11-02", "LS2 9JT", "LS2 9JT",
        "zvs@example.org", "07700900935", "07700900935",
    ),
]  # fmt: skip
# What PEOPLE[0] is corrected to: the new values must not be stored in the clear either.
CORRECTED = {
    "family_name": "Quarrington-Oyelaran",
    "email": "w.oyelaran@example.org",
    "postcode": "B16 8QG",
}


@dataclass
class Registry:
    app: Flask
    client: FlaskClient
    headers: dict[str, str]
    database_url: str


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    """An app on a database of its own, with a clinician's token and the consent forms."""
    with isolated_app(tmp_path) as (app, url):
        with app.test_request_context():
            by = Actor.command_line()
            site = auth_actions.add_site(code="RRK", name="Dump Test Trust", by=by)
            user = auth_actions.create_user(
                email="dump.clinician@example.nhs.uk",
                name="Dump Test Clinician",
                role=Role.CLINICIAN,
                site_code=site.code,
                password="correct horse battery staple",
                by=by,
            ).user
            token = auth_actions.issue_token(user, name="dump", expires_days=1, by=by).secret
            add_consent_forms(by)
            session().commit()
        yield Registry(app, app.test_client(), {"Authorization": f"Bearer {token}"}, url)


def body_for(person: Person, number: str) -> dict[str, Any]:
    spaced = f"{number[:3]} {number[3:6]} {number[6:]}"
    return enrolment_body(
        person.cohort,
        nhs_number=spaced,
        given_name=person.given_name,
        family_name=person.family_name,
        date_of_birth=person.date_of_birth,
        postcode=person.postcode_typed,
        email=person.email,
        phone=person.phone_typed,
    )


def use_the_registry(registry: Registry) -> tuple[list[str], list[str]]:
    """Enrol everyone and use their records as a clinic would; (NHS numbers, participant ids)."""
    client, headers = registry.client, registry.headers
    numbers, ids = [], []
    for person in PEOPLE:
        number = new_nhs_number()
        response = client.post(URL, json=body_for(person, number), headers=headers)
        assert response.status_code == 201, response.get_json()
        numbers.append(number)
        ids.append(response.get_json()["participant_id"])
    # A duplicate and an invalid enrolment, both refused and rolled back.
    duplicate = client.post(URL, json=body_for(PEOPLE[1], numbers[1]), headers=headers)
    assert duplicate.status_code == 409
    invalid = body_for(PEOPLE[1], new_nhs_number()) | {"postcode": "nowhere"}
    assert client.post(URL, json=invalid, headers=headers).status_code == 422
    # Reads, a search, a correction and an assessment.
    assert client.get(URL, headers=headers).status_code == 200
    found = client.post(f"{URL}/search", json={"nhs_number": numbers[2]}, headers=headers)
    assert found.get_json()["participant_id"] == ids[2]
    assert client.get(f"{URL}/{ids[3]}", headers=headers).status_code == 200
    corrected = client.patch(f"{URL}/{ids[0]}", json=CORRECTED, headers=headers)
    assert corrected.status_code == 200, corrected.get_json()
    assessment = {"instrument": "PHQ9", "administered_on": "2026-11-20", "total": 12}
    recorded = client.post(f"{URL}/{ids[1]}/assessments", json=assessment, headers=headers)
    assert recorded.status_code == 201
    return numbers, ids


# -- dumping ------------------------------------------------------------------------------------


def sqlite_dump(url: str, tmp_path: Path) -> tuple[bytes, bytes]:
    """(the database file and its WAL, byte for byte; a logical dump)."""
    path = Path(make_url(url).database or "")
    raw = path.read_bytes()
    for suffix in ("-wal", "-journal"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            raw += companion.read_bytes()
    source = sqlite3.connect(path)
    try:
        logical = "\n".join(source.iterdump()).encode()
    finally:
        source.close()
    return raw, logical


def postgresql_dump(url: str) -> bytes:
    """pg_dump's output if it runs here, and COPY of every table either way."""
    parts = make_url(url)
    dumped = b""
    if shutil.which("pg_dump"):
        env = {**os.environ, **({"PGPASSWORD": parts.password} if parts.password else {})}
        command = [
            "pg_dump",
            "-h", parts.host or "127.0.0.1",
            "-p", str(parts.port or 5432),
            "-U", parts.username or "root",
            parts.database or "",
        ]  # fmt: skip
        dumped += subprocess.run(  # noqa: S603 - fixed arguments, a test database we made
            command, capture_output=True, check=True, env=env
        ).stdout
    conninfo = parts.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo) as conn:
        tables = [
            row[0]
            for row in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
            )
        ]
        for table in tables:
            with conn.cursor().copy(f'COPY "{table}" TO STDOUT') as copy:  # table names we read
                for chunk in copy:
                    dumped += bytes(chunk)
    return dumped


def test_database_dump_holds_no_identifier_in_the_clear(registry: Registry, tmp_path: Path) -> None:
    numbers, ids = use_the_registry(registry)

    if registry.database_url.startswith("sqlite"):
        raw, logical = sqlite_dump(registry.database_url, tmp_path)
        dumps = {"file": raw, "logical": logical}
    else:
        dumps = {"dump": postgresql_dump(registry.database_url)}

    secrets: list[str] = []
    for number in numbers:
        secrets += [number, f"{number[:3]} {number[3:6]} {number[6:]}"]
    for person in PEOPLE:
        secrets += [
            person.given_name,
            person.family_name,
            person.date_of_birth,
            person.postcode,
            person.postcode.replace(" ", ""),
            person.email,
            person.phone,
            person.phone_typed,
        ]
    secrets += [*CORRECTED.values(), CORRECTED["postcode"].replace(" ", "")]
    for name, dumped in dumps.items():
        folded = dumped.lower()
        for secret in secrets:
            encoded = secret.encode()
            assert encoded.lower() not in folded, f"{secret!r} is in the {name} in the clear"
            assert encoded.hex().encode() not in folded, f"{secret!r} is in the {name} as hex"
        # The dump is real: what is meant to be kept in the clear is there.
        for district in (b"B15", b"M13", b"LS2", b"B16"):
            assert district in dumped, f"{district!r} missing from the {name}"
        for participant_id in ids:
            assert participant_id.encode() in dumped
        assert b"Dump Test Clinician" in dumped
