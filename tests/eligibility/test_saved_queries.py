"""Saved eligibility queries: saving, versioning, and sharing within an organisation."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.db import session
from registry.eligibility.catalogue import CATALOGUE_VERSION
from tests.conftest import ApiUser, enrolment_body

pytestmark = pytest.mark.usefixtures("consent_forms")

SAVED = "/api/v1/eligibility/saved-queries"
ADULTS = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}]}
OLDER = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 40}]}


@pytest.fixture
def colleague(api_user: Callable[..., ApiUser]) -> ApiUser:
    return api_user("partner")  # also of "Example Pharma Ltd"


@pytest.fixture
def outsider(app: Flask, api_user: Callable[..., ApiUser]) -> ApiUser:
    """A partner of another organisation."""
    other = api_user("partner")
    with app.app_context():
        user = session().get(User, other.account.user.id)
        assert user is not None
        user.organisation = "Other Ltd"
        session().commit()
    return other


def save(client: FlaskClient, user: ApiUser, criteria: Any = ADULTS, **body: Any) -> Any:
    return client.post(
        SAVED, json={"name": "Adults with TRD", "criteria": criteria, **body}, headers=user.headers
    )


def saved_id(client: FlaskClient, user: ApiUser, **body: Any) -> str:
    response = save(client, user, **body)
    assert response.status_code == 201, response.get_json()
    query_id: str = response.get_json()["query_id"]
    return query_id


def add_version(client: FlaskClient, user: ApiUser, query_id: str, criteria: Any) -> Any:
    return client.post(
        f"{SAVED}/{query_id}/versions", json={"criteria": criteria}, headers=user.headers
    )


def listed(client: FlaskClient, user: ApiUser) -> list[str]:
    response = client.get(SAVED, headers=user.headers)
    assert response.status_code == 200
    return [item["query_id"] for item in response.get_json()["items"]]


def last_event(app: Flask) -> AuditEvent:
    with app.app_context():
        event = session().scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert event is not None
    return event


def test_saving_a_query_gives_version_one(
    app: Flask, client: FlaskClient, researcher: ApiUser
) -> None:
    response = save(client, researcher, breakdown=["sex"])

    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["name"] == "Adults with TRD"
    assert body["owner"] == {"id": researcher.account.user.id, "name": "Test Researcher"}
    assert (body["organisation"], body["shared"]) == (None, False)
    (version,) = body["versions"]
    assert body["latest"] == version
    assert version["version"] == 1
    assert version["criteria"] == ADULTS  # as sent
    assert json.loads(version["normalised"])["cohort"] == "TRD"
    assert version["breakdown"] == ["sex"]
    assert version["catalogue_version"] == CATALOGUE_VERSION
    assert version["author"]["id"] == researcher.account.user.id

    event = last_event(app)
    assert (event.action, event.target_id) == ("eligibility.saved_query.create", body["query_id"])
    details = json.loads(event.details)
    assert details["criteria"] == version["normalised"]
    assert details["version"] == 1
    assert "Adults" not in event.details  # the name is user text: not audited


def test_new_versions_keep_the_history_with_authors(
    app: Flask, client: FlaskClient, partner: ApiUser, colleague: ApiUser
) -> None:
    query_id = saved_id(client, partner, shared=True)

    response = add_version(client, colleague, query_id, OLDER)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["version"] == 2
    assert last_event(app).action == "eligibility.saved_query.version"
    body = client.get(f"{SAVED}/{query_id}", headers=partner.headers).get_json()
    assert [v["version"] for v in body["versions"]] == [1, 2]
    assert [v["criteria"] for v in body["versions"]] == [ADULTS, OLDER]
    assert [v["author"]["id"] for v in body["versions"]] == [
        partner.account.user.id,
        colleague.account.user.id,
    ]
    assert {v["catalogue_version"] for v in body["versions"]} == {CATALOGUE_VERSION}
    assert body["latest"]["version"] == 2
    assert body["owner"]["id"] == partner.account.user.id  # the owner does not change


def test_list_shows_own_and_shared_newest_first(
    client: FlaskClient, partner: ApiUser, colleague: ApiUser, outsider: ApiUser
) -> None:
    first = saved_id(client, partner)
    shared = saved_id(client, partner, shared=True)
    own = saved_id(client, colleague)

    assert listed(client, partner) == [shared, first]
    assert listed(client, colleague) == [own, shared]
    assert listed(client, outsider) == []


def test_unshared_and_other_organisations_queries_are_not_found(
    client: FlaskClient, partner: ApiUser, colleague: ApiUser, outsider: ApiUser
) -> None:
    private = saved_id(client, partner)
    shared = saved_id(client, partner, shared=True)

    assert client.get(f"{SAVED}/{private}", headers=colleague.headers).status_code == 404
    assert add_version(client, colleague, private, OLDER).status_code == 404
    assert client.get(f"{SAVED}/{shared}", headers=colleague.headers).status_code == 200
    for query_id in (private, shared):
        assert client.get(f"{SAVED}/{query_id}", headers=outsider.headers).status_code == 404
        assert add_version(client, outsider, query_id, OLDER).status_code == 404


def test_shared_queries_stay_within_the_owners_role(
    app: Flask,
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    partner: ApiUser,
    sign_in: Callable[..., Any],
) -> None:
    """#16, finding 8: a partner read a researcher's shared query, staff-only fields and
    all, because both accounts named the same organisation. To the partner it must look
    exactly like a query that does not exist, on the API and on the query page."""
    researcher, colleague = (api_user("researcher") for _ in range(2))
    with app.app_context():
        for member in (researcher, colleague):
            user = session().get(User, member.account.user.id)
            assert user is not None
            user.organisation = "Example Pharma Ltd"  # the partner's, by name
        session().commit()
    staff_only = {
        "cohort": "TRD",
        "all": [{"field": "postcode_district", "op": "startswith", "value": "B15"}],
    }
    query_id = saved_id(client, researcher, criteria=staff_only, shared=True)
    nowhere = "0" * 16

    assert query_id not in listed(client, partner)
    for path in (query_id, nowhere):
        response = client.get(f"{SAVED}/{path}", headers=partner.headers)
        assert response.status_code == 404
        refused = add_version(client, partner, path, ADULTS)
        assert refused.status_code == 404
        assert "B15" not in response.get_data(as_text=True) + refused.get_data(as_text=True)
    sign_in(partner.account)
    page = client.get(f"/eligibility/saved/{query_id}")
    assert page.status_code == client.get(f"/eligibility/saved/{nowhere}").status_code == 404
    assert query_id not in client.get("/eligibility/").get_data(as_text=True)
    # Sharing still works between researchers of that organisation.
    assert client.get(f"{SAVED}/{query_id}", headers=colleague.headers).status_code == 200
    assert add_version(client, colleague, query_id, ADULTS).status_code == 201


def test_queries_of_users_without_an_organisation_stay_private(
    client: FlaskClient, api_user: Callable[..., ApiUser], researcher: ApiUser
) -> None:
    other = api_user("researcher")
    query_id = saved_id(client, researcher)

    assert client.get(f"{SAVED}/{query_id}", headers=other.headers).status_code == 404
    assert listed(client, other) == []
    refused = save(client, researcher, shared=True)
    assert refused.status_code == 422
    assert "shared" in refused.get_json()["error"]["fields"]


def test_invalid_criteria_names_the_exact_path(client: FlaskClient, researcher: ApiUser) -> None:
    criteria = {"all": [{"any": [{"field": "age", "op": ">=", "value": "old"}]}]}

    response = save(client, researcher, criteria)

    assert response.status_code == 422
    assert "all[0].any[0].value" in response.get_json()["error"]["fields"]
    query_id = saved_id(client, researcher)
    response = add_version(client, researcher, query_id, criteria)
    assert response.status_code == 422
    assert "all[0].any[0].value" in response.get_json()["error"]["fields"]
    body = client.get(f"{SAVED}/{query_id}", headers=researcher.headers).get_json()
    assert len(body["versions"]) == 1  # nothing saved


def test_partner_cannot_save_researcher_only_fields(
    client: FlaskClient, researcher: ApiUser, partner: ApiUser
) -> None:
    by_ethnicity = {"all": [{"field": "ethnicity", "op": "in", "value": ["A"]}]}

    response = save(client, partner, by_ethnicity)

    assert response.status_code == 422
    assert "all[0].field" in response.get_json()["error"]["fields"]
    assert save(client, partner, breakdown=["ethnicity"]).status_code == 422
    assert save(client, researcher, by_ethnicity).status_code == 201


def test_blank_or_long_names_are_refused(client: FlaskClient, researcher: ApiUser) -> None:
    for name in ("", "   ", "x" * 121):
        response = client.post(
            SAVED, json={"name": name, "criteria": ADULTS}, headers=researcher.headers
        )
        assert response.status_code == 422, name
        assert "name" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("shared", [0, 1, 0.0, "true"])
def test_shared_must_be_true_or_false(
    client: FlaskClient, researcher: ApiUser, shared: Any
) -> None:
    """Found by the fuzzer: marshmallow's Boolean took 0 and 1 (and 0.0) for false and true."""
    response = save(client, researcher, shared=shared)

    assert response.status_code == 422
    assert response.get_json()["error"]["fields"] == {"shared": ["Answer true or false."]}


@pytest.mark.parametrize("role", ["clinician", "admin"])
def test_other_roles_cannot_use_saved_queries(
    client: FlaskClient, api_user: Callable[..., ApiUser], researcher: ApiUser, role: str
) -> None:
    query_id = saved_id(client, researcher)
    user = api_user(role)

    assert save(client, user).status_code == 403
    assert client.get(SAVED, headers=user.headers).status_code == 403
    assert client.get(f"{SAVED}/{query_id}", headers=user.headers).status_code == 403
    assert add_version(client, user, query_id, OLDER).status_code == 403


def test_a_saved_query_runs_as_an_ordinary_count(
    client: FlaskClient, api_user: Callable[..., ApiUser], researcher: ApiUser
) -> None:
    clinician = api_user("clinician")
    query_id = saved_id(client, researcher)
    before = client.post(
        "/api/v1/eligibility/count", json={"criteria": ADULTS}, headers=researcher.headers
    ).get_json()["count"]
    enrolled = client.post("/api/v1/participants", json=enrolment_body(), headers=clinician.headers)
    assert enrolled.status_code == 201, enrolled.get_json()

    latest = client.get(f"{SAVED}/{query_id}", headers=researcher.headers).get_json()["latest"]
    response = client.post(
        "/api/v1/eligibility/count",
        json={"criteria": latest["criteria"], "breakdown": latest["breakdown"]},
        headers=researcher.headers,
    )

    assert response.get_json() == {"count": before + 1}


def test_a_refused_save_adds_nothing_to_the_session(app: Flask, researcher: ApiUser) -> None:
    """The web page re-renders after a refusal in the same request: nothing half-made may
    be waiting in the session to be flushed (a query with no version)."""
    from registry.audit.actions import Actor
    from registry.eligibility.commands import SaveQuery
    from registry.eligibility.saved import create_saved_query
    from registry.errors import ValidationFailed

    with app.test_request_context():
        user = session().get(User, researcher.account.user.id)
        assert user is not None
        with pytest.raises(ValidationFailed):
            create_saved_query(
                SaveQuery(
                    name="Bad",
                    criteria={"all": [{"field": "age", "op": ">=", "value": "old"}]},
                    breakdown=[],
                    shared=False,
                ),
                user=user,
                by=Actor.for_user(user),
            )
        assert not session().new
