"""Eligibility on response, remission and the new scales' latest scores, as a researcher
counts: on SQLite, and on PostgreSQL when TEST_DATABASE_URL names one."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import ApiUser, enrol

pytestmark = pytest.mark.usefixtures("consent_forms")

COUNT = "/api/v1/eligibility/count"


def assess(client: FlaskClient, user: ApiUser, participant_id: str, body: dict[str, Any]) -> None:
    response = client.post(
        f"/api/v1/participants/{participant_id}/assessments", json=body, headers=user.headers
    )
    assert response.status_code == 201, response.get_json()


def madrs(client: FlaskClient, user: ApiUser, *totals: int) -> None:
    """A TRD participant (episode from 2025-06) with MADRS totals a month apart."""
    participant_id = enrol(client, user, "TRD")
    for month, total in enumerate(totals, 7):
        body = {"instrument": "MADRS", "administered_on": f"2025-{month:02}-01", "total": total}
        assess(client, user, participant_id, body)


def count(client: FlaskClient, user: ApiUser, *clauses: dict[str, Any]) -> int:
    criteria = {"cohort": "TRD", "all": list(clauses)}
    response = client.post(COUNT, json={"criteria": criteria}, headers=user.headers)
    assert response.status_code == 200, response.get_json()
    value: int = response.get_json()["count"]
    return value


def is_(field: str, value: bool) -> dict[str, Any]:
    return {"field": field, "op": "=", "value": value}


def test_response_and_remission_count_who_they_describe(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    before = [
        count(client, researcher, is_("response", True)),
        count(client, researcher, is_("response", False)),
        count(client, researcher, is_("remission", True)),
        count(client, researcher, is_("response", True), is_("remission", False)),
    ]
    madrs(client, clinician, 30, 15)  # response, exactly half; not remission (15 > 10)
    madrs(client, clinician, 30, 20, 10)  # response and remission
    madrs(client, clinician, 30, 16)  # neither
    madrs(client, clinician, 30)  # no series: unknown

    after = [
        count(client, researcher, is_("response", True)),
        count(client, researcher, is_("response", False)),
        count(client, researcher, is_("remission", True)),
        count(client, researcher, is_("response", True), is_("remission", False)),
    ]

    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 1, 1, 1]


def test_unknown_response_matches_neither_true_nor_false(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    before = count(client, researcher, is_("response", True)) + count(
        client, researcher, is_("response", False)
    )
    madrs(client, clinician, 30)

    after = count(client, researcher, is_("response", True)) + count(
        client, researcher, is_("response", False)
    )

    assert after == before


def test_latest_cssrs_risk_level_is_an_eligibility_field(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    high_risk = {"field": "latest_score.CSSRS_SCREEN", "op": ">=", "value": 3}
    before = count(client, researcher, high_risk)
    participant_id = enrol(client, clinician, "TRD")
    assess(
        client,
        clinician,
        participant_id,
        {
            "instrument": "CSSRS_SCREEN",
            "administered_on": "2026-11-20",
            "items": [1, 1, 0, 0, 1, 0, 0],
        },
    )

    assert count(client, researcher, high_risk) == before + 1


@pytest.mark.parametrize(
    ("field", "maximum"),
    [
        ("latest_score.SOFAS", 100),
        ("latest_score.PSP", 100),
        ("latest_score.CGI_I", 7),
        ("latest_score.CDSS", 27),
        ("latest_score.CSSRS_SCREEN", 3),
    ],
)
def test_new_scales_are_in_the_field_catalogue_with_their_ranges(
    client: FlaskClient, researcher: ApiUser, field: str, maximum: int
) -> None:
    fields = client.get("/api/v1/eligibility/fields", headers=researcher.headers).get_json()

    described = {f["name"]: f for f in fields["fields"]}
    assert described[field]["range"]["max"] == maximum
    assert described["response"]["type"] == described["remission"]["type"] == "boolean"
