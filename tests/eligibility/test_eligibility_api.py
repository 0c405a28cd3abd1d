"""The eligibility endpoints as researchers and partners use them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.audit.models import AuditEvent
from registry.db import session
from tests.conftest import ApiUser, enrolment_body

pytestmark = pytest.mark.usefixtures("consent_forms")

COUNT = "/api/v1/eligibility/count"


class _AnyInstant:
    """Equal to any ISO 8601 instant with a time zone."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and dt.datetime.fromisoformat(other).tzinfo is not None


ANY_INSTANT = _AnyInstant()
TRD_PHQ = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}]}


def enrol(client: FlaskClient, clinician: ApiUser, n: int, **overrides: Any) -> list[str]:
    ids = []
    for _ in range(n):
        response = client.post(
            "/api/v1/participants", json=enrolment_body(**overrides), headers=clinician.headers
        )
        assert response.status_code == 201, response.get_json()
        ids.append(response.get_json()["participant_id"])
    return ids


def count(client: FlaskClient, user: ApiUser, criteria: Any, **body: Any) -> Any:
    return client.post(COUNT, json={"criteria": criteria, **body}, headers=user.headers)


def baseline(client: FlaskClient, researcher: ApiUser) -> int:
    """Contactable TRD adults already in the shared test database (other tests' commits are
    rolled back, so this is normally 0)."""
    value: int = count(client, researcher, TRD_PHQ).get_json()["count"]
    return value


def test_researcher_gets_the_exact_count(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    before = baseline(client, researcher)
    enrol(client, clinician, 3)

    response = count(client, researcher, TRD_PHQ)

    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"count": before + 3}


@pytest.mark.usefixtures("without_noise")
def test_partner_sees_small_counts_as_under_ten(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser, partner: ApiUser
) -> None:
    assert baseline(client, researcher) == 0
    enrol(client, clinician, 3)

    assert count(client, partner, TRD_PHQ).get_json()["count"] == "<10"
    assert count(client, partner, {"cohort": "EP"}).get_json()["count"] == "<10"  # zero too


@pytest.mark.usefixtures("without_noise")
def test_partner_sees_larger_counts_to_the_nearest_five(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser, partner: ApiUser
) -> None:
    assert baseline(client, researcher) == 0
    enrol(client, clinician, 12)

    assert count(client, researcher, TRD_PHQ).get_json() == {"count": 12}
    assert count(client, partner, TRD_PHQ).get_json() == {
        "count": 10,
        "privacy": {
            "cost": 0.01,
            "spent": 0.01,
            "remaining": 0.24,
            "period_ends": ANY_INSTANT,
        },
    }


@pytest.mark.usefixtures("without_noise")
def test_partner_counts_only_those_who_allow_industry_partners(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser, partner: ApiUser
) -> None:
    assert baseline(client, researcher) == 0
    for _ in range(11):
        fresh = enrolment_body()
        fresh["consent"]["items"]["commercial_partners"] = False
        assert (
            client.post("/api/v1/participants", json=fresh, headers=clinician.headers).status_code
            == 201
        )

    assert count(client, researcher, TRD_PHQ).get_json() == {"count": 11}
    assert count(client, partner, TRD_PHQ).get_json()["count"] == "<10"


def test_withdrawn_participants_are_not_counted(
    client: FlaskClient,
    clinician: ApiUser,
    researcher: ApiUser,
    api_user: Callable[..., ApiUser],
) -> None:
    before = baseline(client, researcher)
    (participant_id,) = enrol(client, clinician, 1)
    admin = api_user("admin")
    client.post(
        f"/api/v1/participants/{participant_id}/withdrawal",
        json={"level": "no_further_contact"},
        headers=admin.headers,
    )

    assert count(client, researcher, TRD_PHQ).get_json() == {"count": before}


def test_partner_breakdown_never_shows_a_number_under_ten(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser, partner: ApiUser
) -> None:
    enrol(client, clinician, 12)
    enrol(client, clinician, 2, sex="male")

    response = count(client, partner, TRD_PHQ, breakdown=["sex"])

    assert response.status_code == 200, response.get_json()
    cells = response.get_json()["breakdown"]["cells"]
    assert {cell["sex"] for cell in cells} == {"female", "male", "not_stated"}
    for cell in cells:
        assert isinstance(cell["count"], str) or cell["count"] >= 10
    exact = count(client, researcher, TRD_PHQ, breakdown=["sex"]).get_json()
    assert {c["sex"]: c["count"] for c in exact["breakdown"]["cells"]}["male"] >= 2


def test_partner_query_is_audited_with_its_true_count(
    app: Flask, client: FlaskClient, clinician: ApiUser, partner: ApiUser
) -> None:
    enrol(client, clinician, 3)

    count(client, partner, TRD_PHQ)

    with app.app_context():
        event = session().scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert event is not None
    assert (event.action, event.purpose) == ("eligibility.count", "partner")
    assert '"true_count":3' in event.details.replace(" ", "")


def test_invalid_criteria_names_the_exact_path(client: FlaskClient, researcher: ApiUser) -> None:
    criteria = {"all": [{"any": [{"field": "age", "op": ">=", "value": "old"}]}]}

    response = count(client, researcher, criteria)

    assert response.status_code == 422
    assert "all[0].any[0].value" in response.get_json()["error"]["fields"]


def test_partner_cannot_list_participants(client: FlaskClient, partner: ApiUser) -> None:
    response = client.post(
        "/api/v1/eligibility/participants", json={"criteria": TRD_PHQ}, headers=partner.headers
    )

    assert response.status_code == 403


def test_researcher_lists_matching_participants_only_under_a_grant(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    """Rows under a grant, keyed by its pseudonym: tests/exports/test_participant_rows.py."""
    ids = enrol(client, clinician, 2)

    response = client.post(
        "/api/v1/eligibility/participants",
        json={"criteria": TRD_PHQ, "per_page": 100},
        headers=researcher.headers,
    )

    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"grant"}
    assert not any(pid in response.get_data(as_text=True) for pid in ids)


def test_field_catalogue_differs_by_role(
    client: FlaskClient, researcher: ApiUser, partner: ApiUser
) -> None:
    def names(user: ApiUser) -> set[str]:
        response = client.get("/api/v1/eligibility/fields", headers=user.headers)
        assert response.status_code == 200
        return {field["name"] for field in response.get_json()["fields"]}

    assert {"age", "latest_score.PHQ9", "failed_adequate_trials"} <= names(partner)
    assert "site" in names(researcher)
    assert "site" in names(partner)  # with noise and a budget, feasibility by site
    assert "postcode_district" not in names(partner)


@pytest.mark.usefixtures("without_noise")
def test_partner_breakdown_is_never_withheld_and_its_total_adds_the_cells(
    client: FlaskClient, clinician: ApiUser, partner: ApiUser
) -> None:
    """Two small cells once withheld a breakdown (9 + 9 published as 20 pinned both); with
    noise there is nothing to withhold, and the total is the noisy cells' sum."""
    enrol(client, clinician, 9)
    enrol(client, clinician, 9, sex="male")

    body = count(client, partner, TRD_PHQ, breakdown=["sex"]).get_json()

    assert body["count"] == 20  # 18, from the cells, to the nearest 5
    assert "withheld" not in body["breakdown"]
    assert {c["sex"]: c["count"] for c in body["breakdown"]["cells"]} == {
        "female": "<10",
        "male": "<10",
        "not_stated": "<10",
    }


# -- the privacy budget (issue #18; the rest is in tests/privacy) -------------------------


def test_partner_asking_one_question_again_gets_the_same_answer_at_no_cost(
    client: FlaskClient, clinician: ApiUser, partner: ApiUser
) -> None:
    enrol(client, clinician, 30)
    same_question_spelt_differently = [
        {"cohort": "TRD", "all": [{"field": "sex", "op": "in", "value": ["male", "female"]}]},
        {"cohort": "TRD", "all": [{"field": "sex", "op": "in", "value": ["female", "male"]}]},
        {"all": [{"field": "sex", "op": "in", "value": ["female", "male", "male"]}],
         "cohort": "TRD"},
    ]  # fmt: skip

    answers = [count(client, partner, c).get_json() for c in same_question_spelt_differently]

    assert [a["privacy"]["cost"] for a in answers] == [0.01, 0.0, 0.0]
    assert len({a["count"] for a in answers}) == 1
    assert {a["privacy"]["spent"] for a in answers} == {0.01}


def test_researcher_is_never_charged(
    client: FlaskClient, researcher: ApiUser, settings_with: Callable[..., None]
) -> None:
    settings_with(privacy_allowance=0.0)

    answers = [count(client, researcher, TRD_PHQ) for _ in range(3)]

    assert {a.status_code for a in answers} == {200}
    assert all("privacy" not in a.get_json() for a in answers)


def test_partner_queries_are_rate_limited_per_partner(
    client: FlaskClient,
    partner: ApiUser,
    researcher: ApiUser,
    issue_token: Callable[..., str],
    settings_with: Callable[..., None],
) -> None:
    settings_with(partner_query_limit="3 per hour")
    second_token = {"Authorization": f"Bearer {issue_token(partner.account)}"}
    criteria = [
        {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": n}]}
        for n in (20, 30, 40, 50)
    ]

    answers = [
        client.post(COUNT, json={"criteria": c}, headers=h).status_code
        for c, h in zip(criteria, [partner.headers, second_token] * 2, strict=True)
    ]

    assert answers == [200, 200, 200, 429]  # a second token does not reset the count
    assert count(client, researcher, TRD_PHQ).status_code == 200


def test_a_breakdown_by_a_field_with_one_category_is_refused_not_crashed(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    enrol(client, clinician, 2)  # the clinician's site is the only one

    response = count(client, researcher, TRD_PHQ, breakdown=["site", "sex"])

    assert response.status_code == 422
    assert "breakdown[0]" in response.get_json()["error"]["fields"]
    assert count(client, researcher, TRD_PHQ, breakdown=["site"]).status_code == 200
