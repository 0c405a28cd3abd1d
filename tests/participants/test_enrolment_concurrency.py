"""Two clinics enrolling the same person at the same moment make one participant.

Identifiers are sealed under a per-person key, so the database has no unique constraint that
could catch a duplicate: the duplicate check and the insert must be serialised per NHS
number (an advisory lock on PostgreSQL). Exercised through the API from two threads, each
with its own connection, released together by a barrier. Each side uses its own clinician
and token: one shared token would serialise the two requests on its last-used update and
hide a missing lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry.audit.actions import Actor
from registry.auth import actions as auth_actions
from registry.auth.permissions import Role
from registry.db import session
from registry.participants.identity import enrolled_among
from registry.participants.models import Participant
from tests.concurrency import Call
from tests.concurrency import race as concurrently
from tests.conftest import (
    add_consent_forms,
    enrolment_body,
    isolated_app,
    new_nhs_number,
    on_postgresql,
)

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not on_postgresql(), reason="needs concurrent writers on PostgreSQL"),
]

URL = "/api/v1/participants"
ROUNDS = 5


@dataclass
class Clinic:
    site: str
    headers: dict[str, str]


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[Flask, list[Clinic]]]:
    """An app on its own database (real commits), with a clinician at each of two sites."""
    with isolated_app(tmp_path) as (app, _url):
        clinics = []
        with app.test_request_context():
            by = Actor.command_line()
            for code in ("RAA", "RBB"):
                site = auth_actions.add_site(code=code, name=f"Trust {code}", by=by)
                user = auth_actions.create_user(
                    email=f"clinician.{code.lower()}@example.nhs.uk",
                    name=f"Clinician {code}",
                    role=Role.CLINICIAN,
                    site_code=site.code,
                    password="correct horse battery staple",
                    by=by,
                ).user
                token = auth_actions.issue_token(user, name="race", expires_days=1, by=by)
                clinics.append(Clinic(code, {"Authorization": f"Bearer {token.secret}"}))
            add_consent_forms(by)
            session().commit()
        yield app, clinics


def race(app: Flask, clinics: list[Clinic], number: str) -> list[tuple[int, Any]]:
    """Both clinics enrol ``number`` at once; (status, body) of each answer."""
    start = threading.Barrier(len(clinics), timeout=30)
    answers: list[tuple[int, Any]] = []
    spellings = [number, f"{number[:3]} {number[3:6]} {number[6:]}"]

    def enrol(clinic: Clinic, spelling: str) -> None:
        client = app.test_client()
        body = enrolment_body("TRD", nhs_number=spelling)
        try:
            start.wait()
            response = client.post(URL, json=body, headers=clinic.headers)
            answers.append((response.status_code, response.get_json()))
        except BaseException as exc:
            answers.append((0, f"{type(exc).__name__}"))

    threads = [
        threading.Thread(target=enrol, args=(clinic, spelling))
        for clinic, spelling in zip(clinics, spellings, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


def test_concurrent_enrolments_of_one_nhs_number_create_one_participant(
    registry: tuple[Flask, list[Clinic]],
) -> None:
    app, clinics = registry
    numbers = [new_nhs_number() for _ in range(ROUNDS)]

    rounds = [race(app, clinics, number) for number in numbers]

    for answers in rounds:
        assert sorted(status for status, _ in answers) == [201, 409], answers
        (conflict,) = [body for status, body in answers if status == 409]
        assert conflict["error"]["code"] == "duplicate_participant"
    with app.test_request_context():
        total = session().scalar(select(func.count()).select_from(Participant))
        enrolled = enrolled_among(set(numbers))
    assert total == ROUNDS
    assert set(enrolled) == set(numbers)


def test_correction_racing_an_enrolment_to_one_nhs_number_lets_one_win(
    registry: tuple[Flask, list[Clinic]],
) -> None:
    app, clinics = registry
    first, second = clinics
    outcomes = []
    for _ in range(ROUNDS):
        client = app.test_client()
        enrolled = client.post(URL, json=enrolment_body("TRD"), headers=first.headers)
        assert enrolled.status_code == 201, enrolled.get_json()
        participant_id = enrolled.get_json()["participant_id"]
        number = new_nhs_number()
        correction = {"nhs_number": number, "reason": "mistyped at enrolment"}

        answers = concurrently(
            app,
            Call(first.headers, "PATCH", f"{URL}/{participant_id}", correction),
            Call(second.headers, "POST", URL, enrolment_body("TRD", nhs_number=number)),
        )

        outcomes.append(sorted(status for status, _ in answers))
        with app.test_request_context():
            assert set(enrolled_among({number})) == {number}
    # Exactly one of each pair won: the correction (200) or the enrolment (201).
    assert all(statuses in ([200, 409], [201, 409]) for statuses in outcomes), outcomes


def test_two_corrections_to_one_nhs_number_let_one_win(
    registry: tuple[Flask, list[Clinic]],
) -> None:
    app, clinics = registry
    first, second = clinics
    client = app.test_client()
    for _ in range(ROUNDS):
        ids = []
        for clinic in (first, second):
            enrolled = client.post(URL, json=enrolment_body("TRD"), headers=clinic.headers)
            ids.append(enrolled.get_json()["participant_id"])
        correction = {"nhs_number": new_nhs_number(), "reason": "mistyped at enrolment"}

        answers = concurrently(
            app,
            Call(first.headers, "PATCH", f"{URL}/{ids[0]}", correction),
            Call(second.headers, "PATCH", f"{URL}/{ids[1]}", correction),
        )

        assert sorted(status for status, _ in answers) == [200, 409], answers
