"""Recruitment decisions racing each other, and withdrawals racing a clinician's outcome.

Two admins approving two requests at once must not, between them, put anyone on more lists
than the contact-fatigue limit allows, nor both approve when only one list can be big enough;
one request approved twice at once is decided once;
an outcome recorded as the person withdraws leaves them off the list either way.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry.audit.actions import verify_chain
from registry.auth.permissions import Role
from registry.db import session
from registry.recruitment.models import HELD_BACK, RecruitmentContact, RecruitmentRequest
from tests.concurrency import Call, race
from tests.conftest import committed_accounts, enrolment_body, isolated_app, on_postgresql
from tests.recruitment.conftest import URL, request_body

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not on_postgresql(), reason="needs concurrent writers on PostgreSQL"),
]


@dataclass
class Registry:
    app: Flask
    clinician: dict[str, str]
    partner: dict[str, str]
    admins: list[dict[str, str]]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    # Lists of a few people, as in the other recruitment tests: the minimum is off, and
    # the test of it racing sets it.
    with isolated_app(tmp_path_factory.mktemp("recruitment_race"), recruitment_min_list_size=0) as (
        app,
        _url,
    ):
        roles = (Role.CLINICIAN, Role.PARTNER, Role.ADMIN, Role.ADMIN)
        headers = committed_accounts(app, "RRC", roles)
        yield Registry(app, headers[0], headers[1], headers[2:])


def enrol(registry: Registry, n: int, marker: int) -> list[str]:
    """n people whose IMD decile is ``marker``, so each test's criteria pick only its own."""
    client = registry.app.test_client()
    ids = []
    for _ in range(n):
        response = client.post(
            "/api/v1/participants",
            json=enrolment_body("TRD", imd_decile=marker),
            headers=registry.clinician,
        )
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["participant_id"])
    return ids


def criteria(marker: int) -> dict[str, object]:
    return {"cohort": "TRD", "all": [{"field": "imd_decile", "op": "=", "value": marker}]}


def submit(registry: Registry, marker: int) -> str:
    client = registry.app.test_client()
    response = client.post(URL, json=request_body(criteria(marker)), headers=registry.partner)
    assert response.status_code == 201, response.get_json()
    request_id: str = response.get_json()["id"]
    return request_id


def approve(headers: dict[str, str], request_id: str) -> Call:
    return Call(headers, "POST", f"{URL}/{request_id}/decision", {"decision": "approve"})


@pytest.fixture
def one_list_each(registry: Registry) -> Iterator[None]:
    settings = registry.app.config["SETTINGS"]
    registry.app.config["SETTINGS"] = dataclasses.replace(settings, contact_max_open_lists=1)
    yield
    registry.app.config["SETTINGS"] = settings


def lists_per_person(registry: Registry) -> dict[int, int]:
    with registry.app.app_context():
        rows = session().execute(
            select(RecruitmentContact.participant_pk, func.count())
            .where(RecruitmentContact.status != HELD_BACK)
            .group_by(RecruitmentContact.participant_pk)
        )
        return {pk: int(n) for pk, n in rows}


@pytest.mark.usefixtures("one_list_each")
@pytest.mark.parametrize("round_", range(3))
def test_two_approvals_at_once_respect_the_fatigue_limit(registry: Registry, round_: int) -> None:
    marker = 1 + round_
    people = enrol(registry, 4, marker)
    first, second = submit(registry, marker), submit(registry, marker)

    answers = race(
        registry.app, approve(registry.admins[0], first), approve(registry.admins[1], second)
    )

    assert [status for status, _ in answers] == [200, 200], answers
    listed = sorted(body["listed"] for _, body in answers)
    assert listed == [0, len(people)]  # one request got everyone, the other held them back
    assert all(n == 1 for n in lists_per_person(registry).values())


@pytest.mark.usefixtures("one_list_each")
def test_of_two_approvals_at_once_only_one_list_is_big_enough(registry: Registry) -> None:
    """The minimum counts the list each approval froze, under the freezing lock: the second
    to take it finds everyone held back, a list of no one, and is refused."""
    marker = 9
    settings = registry.app.config["SETTINGS"]
    registry.app.config["SETTINGS"] = dataclasses.replace(settings, recruitment_min_list_size=10)
    try:
        enrol(registry, 10, marker)
        first, second = submit(registry, marker), submit(registry, marker)

        answers = race(
            registry.app, approve(registry.admins[0], first), approve(registry.admins[1], second)
        )
    finally:
        registry.app.config["SETTINGS"] = settings

    assert sorted(status for status, _ in answers) == [200, 409], answers
    approved = next(body for status, body in answers if status == 200)
    refused = next(body for status, body in answers if status == 409)
    assert approved["listed"] == 10
    assert refused["error"]["code"] == "list_too_small"
    assert all(n == 1 for n in lists_per_person(registry).values())
    refused_id = second if approved["id"] == first else first
    with registry.app.app_context():
        left = session().get(RecruitmentRequest, _request_pk(registry, refused_id))
        assert left is not None and left.status == "submitted"
        contacts = session().scalar(
            select(func.count())
            .select_from(RecruitmentContact)
            .where(RecruitmentContact.request_pk == left.id)
        )
    assert contacts == 0


def test_one_request_approved_twice_at_once_is_decided_once(registry: Registry) -> None:
    marker = 5
    enrol(registry, 3, marker)
    request_id = submit(registry, marker)

    answers = race(
        registry.app,
        approve(registry.admins[0], request_id),
        approve(registry.admins[1], request_id),
    )

    assert sorted(status for status, _ in answers) == [200, 409], answers
    pk = _request_pk(registry, request_id)
    with registry.app.app_context():
        contacts = session().scalar(
            select(func.count())
            .select_from(RecruitmentContact)
            .where(RecruitmentContact.request_pk == pk)
        )
    assert contacts == 3


def _request_pk(registry: Registry, request_id: str) -> int:
    with registry.app.app_context():
        pk = session().scalar(
            select(RecruitmentRequest.id).where(RecruitmentRequest.request_id == request_id)
        )
    assert pk is not None
    return pk


@pytest.mark.parametrize("round_", range(3))
def test_an_outcome_racing_a_withdrawal_leaves_them_off_the_list(
    registry: Registry, round_: int
) -> None:
    marker = 6 + round_
    (person,) = enrol(registry, 1, marker)
    request_id = submit(registry, marker)
    client = registry.app.test_client()
    assert (
        client.post(
            f"{URL}/{request_id}/decision", json={"decision": "approve"}, headers=registry.admins[0]
        ).status_code
        == 200
    )

    answers = race(
        registry.app,
        Call(
            registry.clinician,
            "PATCH",
            f"{URL}/{request_id}/contacts/{person}",
            {"status": "interested"},
        ),
        Call(
            registry.admins[1],
            "POST",
            f"/api/v1/participants/{person}/withdrawal",
            {"level": "no_further_contact"},
        ),
    )

    assert answers[1][0] == 201, answers
    assert answers[0][0] in (200, 404), answers
    listing = client.get(f"{URL}/{request_id}/contacts", headers=registry.clinician)
    assert listing.status_code == 404  # nobody left at this site: not their request any more
    funnel = client.get(f"{URL}/{request_id}/funnel", headers=registry.admins[0]).get_json()
    assert funnel["count"] == 0
    with registry.app.app_context():
        assert verify_chain(session()).intact
