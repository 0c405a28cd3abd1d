"""Every error status the OpenAPI document lists for an operation can be provoked.

The statuses come from the document itself (``registry.api.openapi`` works most of them out
from how each endpoint is built), the operations from the access matrix's policy table.
General ways to provoke a status come first (no token: 401; a role without the permission:
403; an id that names nothing: 404; ...), then the few that need a story of their own (a
duplicate: 409). A documented status with no way to reach it fails here, until either the
document stops promising it or this file shows how.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from registry import create_app
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.db import session
from registry.extensions import limiter
from tests.conftest import PASSWORD, Account, ApiUser, enrolment_body, make_settings, new_nhs_number
from tests.test_access_matrix import API_POLICY

OPERATIONS = sorted(key for key in API_POLICY if key[1] != "/api/v1/openapi.json")
UNKNOWN = "nothing-here"  # an id that names nothing, whatever the operation
TRD_ADULTS = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}]}

# Bodies that pass validation, so that a 404 comes from looking up the path's ids (the body
# is checked first, and an invalid one answers 422).
VALID_BODIES: dict[tuple[str, str], Callable[[], Any]] = {
    ("PATCH", "/api/v1/participants/<participant_id>"): lambda: {"given_name": "Ada"},
    ("POST", "/api/v1/participants/search"): lambda: {"nhs_number": new_nhs_number()},
    ("POST", "/api/v1/participants/<participant_id>/assessments"): lambda: {
        "instrument": "PHQ9",
        "administered_on": "2026-11-20",
        "total": 17,
    },
    ("POST", "/api/v1/participants/<participant_id>/treatment-trials"): lambda: {
        "drug": "sertraline",
        "started_on": "2025-07",
        "adequate_dose": True,
        "weeks": 8,
        "outcome": "non_response",
    },
    ("POST", "/api/v1/participants/<participant_id>/assessments/<assessment_id>/void"): lambda: {
        "reason": "entered_twice"
    },
    ("POST", "/api/v1/participants/<participant_id>/treatment-trials/<trial_id>/void"): lambda: {
        "reason": "entered_twice"
    },
    ("POST", "/api/v1/participants/<participant_id>/consents"): lambda: {
        "form_version": "TRD-PIS-2.0",
        "signed_on": "2026-11-20",
        "items": {"commercial_partners": False},
    },
    ("POST", "/api/v1/participants/<participant_id>/withdrawal"): lambda: {
        "level": "full",
        "password": PASSWORD,
    },
    ("POST", "/api/v1/eligibility/saved-queries/<query_id>/versions"): lambda: {
        "criteria": TRD_ADULTS
    },
    ("POST", "/api/v1/recruitment-requests/<request_id>/decision"): lambda: {
        "decision": "approve",
        "note": "Ethics checked.",
    },
    ("PATCH", "/api/v1/recruitment-requests/<request_id>/contacts/<participant_id>"): lambda: {
        "status": "approached"
    },
    ("POST", "/api/v1/grants/<grant_id>/researchers"): lambda: {
        "email": "researcher@example.nhs.uk"
    },
    ("POST", "/api/v1/grants/<grant_id>/exports"): lambda: {"format": "csv"},
}


@dataclasses.dataclass
class Provoke:
    """What the provokers need: the app, a client, tokens by role, signed-in sessions."""

    app: Flask
    client: FlaskClient
    api_user: Callable[..., ApiUser]
    sign_in: Callable[..., Any]
    settings_with: Callable[..., None]
    document: dict[str, Any]
    tmp_path: Path
    method: str
    rule: str
    tokens: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)

    def headers(self, role: str) -> dict[str, str]:
        if role not in self.tokens:
            self.tokens[role] = self.api_user(role).headers
        return self.tokens[role]

    def refused(self) -> list[str]:
        """Roles the access matrix expects this operation to refuse (403)."""
        _, expected = API_POLICY[(self.method, self.rule)]
        return [role.value for role in Role if expected[role.value] == 403]

    def permitted(self) -> str:
        """A role the access matrix expects this operation to let through."""
        _, expected = API_POLICY[(self.method, self.rule)]
        return next(role.value for role in Role if expected[role.value] not in (401, 403))

    def operation(self) -> dict[str, Any]:
        """The operation's entry in the OpenAPI document."""
        path = re.sub(r"<(\w+)>", r"{\1}", self.rule)
        operation: dict[str, Any] = self.document["paths"][path][self.method.lower()]
        return operation

    def path(self, **values: str) -> str:
        return re.sub(r"<(\w+)>", lambda m: values.get(m.group(1), UNKNOWN), self.rule)

    def body(self) -> Any:
        valid = VALID_BODIES.get((self.method, self.rule))
        return valid() if valid else None

    def send(self, *, role: str | None = None, path: str | None = None, **kwargs: Any) -> Any:
        kwargs.setdefault("json", self.body())
        headers = self.headers(role) if role else {}
        return self.client.open(path or self.path(), method=self.method, headers=headers, **kwargs)

    def signed_in(self, role: str) -> tuple[FlaskClient, Account]:
        """A browser session of a new account of the role, signed in through the pages."""
        account = self.api_user(role).account
        web = self.app.test_client()
        self.sign_in(account, test_client=web)
        return web, account


# -- the general ways ---------------------------------------------------------------------


def _bad_request(p: Provoke) -> Any:
    if "requestBody" in p.operation():
        return p.send(
            role=p.permitted(), json=None, data="{not json", content_type="application/json"
        )
    # No body to get wrong: a session-cookie request without its CSRF token.
    web, _ = p.signed_in(p.permitted())
    return web.open(p.path(), method=p.method)


def _unauthorised(p: Provoke) -> Any:
    return p.send()


def _forbidden(p: Provoke) -> Any:
    refused = p.refused()
    if refused:
        return p.send(role=refused[0])
    # Every role may: a web session whose one-time password must be changed first may not.
    web, account = p.signed_in(Role.RESEARCHER)
    with p.app.app_context():
        session().execute(
            update(User).where(User.id == account.user.id).values(password_must_change=True)
        )
        session().commit()
    return web.open(p.path(), method=p.method, json=p.body())


def _not_found(p: Provoke) -> Any:
    return p.send(role=p.permitted())


def _too_large(p: Provoke) -> Any:
    limit = p.app.config["MAX_CONTENT_LENGTH"]
    return p.send(
        role=p.permitted(),
        json=None,
        data='{"padding": "' + "x" * limit + '"}',
        content_type="application/json",
    )


def _invalid(p: Provoke) -> Any:
    operation = p.operation()
    if "requestBody" in operation:
        return p.send(role=p.permitted(), json={"no_such_field": 1})
    query = [param for param in operation.get("parameters", []) if param["in"] == "query"]
    name, value = next(filter(None, (_invalid_query_value(param) for param in query)))
    return p.send(role=p.permitted(), query_string={name: value})


def _invalid_query_value(param: dict[str, Any]) -> tuple[str, str] | None:
    schema = param.get("schema", {})
    if schema.get("type") == "integer":
        return param["name"], "not-a-number"
    if "enum" in schema:
        return param["name"], "not-one-of-these"
    if "maxLength" in schema:
        return param["name"], "x" * (schema["maxLength"] + 1)
    return None


def _rate_limited(p: Provoke) -> Any:
    limit = p.app.config["SETTINGS"].api_rate_limit
    p.settings_with(api_rate_limit="1 per hour")
    try:
        p.send()
        response = p.send()
    finally:
        p.settings_with(api_rate_limit=limit)
        limiter.reset()
    assert int(response.headers["Retry-After"]) > 0
    return response


GENERAL: dict[int, Callable[[Provoke], Any]] = {
    400: _bad_request,
    401: _unauthorised,
    403: _forbidden,
    404: _not_found,
    413: _too_large,
    422: _invalid,
    429: _rate_limited,
}


# -- the ones that need a story ----------------------------------------------------------


def _duplicate_site(p: Provoke) -> Any:
    site = {"code": "DUPL1", "name": "Duplicate Trust"}
    p.send(role="admin", json=site)
    return p.send(role="admin", json=site)


def _duplicate_enrolment(p: Provoke) -> Any:
    body = enrolment_body()
    p.send(role="clinician", json=body)
    return p.send(role="clinician", json=body)


def _enrolled(p: Provoke) -> str:
    response = p.client.post(
        "/api/v1/participants", json=enrolment_body(), headers=p.headers("clinician")
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["participant_id"])


def _relaxed_withdrawal(p: Provoke) -> Any:
    path = p.path(participant_id=_enrolled(p))
    p.send(role="admin", path=path, json={"level": "no_further_data"})
    return p.send(role="admin", path=path, json={"level": "no_further_contact"})


def _open_request(p: Provoke) -> str:
    p.settings_with(recruitment_min_list_size=0)  # a list of no one, to be decided again
    submitted = p.client.post(
        "/api/v1/recruitment-requests",
        json={
            "study_title": "A study",
            "sponsor": "Example Pharma Ltd",
            "ethics_reference": "1004567",
            "criteria": TRD_ADULTS,
            "target": 10,
        },
        headers=p.headers("partner"),
    )
    assert submitted.status_code == 201, submitted.get_json()
    request_id = str(submitted.get_json()["id"])
    decided = p.client.post(
        f"/api/v1/recruitment-requests/{request_id}/decision",
        json={"decision": "approve", "note": "Ethics checked."},
        headers=p.headers("admin"),
    )
    assert decided.status_code == 200, decided.get_json()
    return request_id


def _decided_twice(p: Provoke) -> Any:
    return p.send(role="admin", path=p.path(request_id=_open_request(p)))


def _confirmed_when_open(p: Provoke) -> Any:
    return p.send(role="admin", path=p.path(request_id=_open_request(p)))


def _closed_twice(p: Provoke) -> Any:
    path = p.path(request_id=_open_request(p))
    p.send(role="admin", path=path)
    return p.send(role="admin", path=path)


def _section_name_with_a_slash(p: Provoke) -> Any:
    # The handler answers 422 for an unknown cohort or section; a name with a slash in it
    # names no route at all.
    return p.send(role="admin", path=p.path(cohort="TRD", section="a%2Fb"), json={"text": "x"})


def _database_down(p: Provoke) -> Any:
    settings = p.app.config["SETTINGS"]
    broken = create_app(
        make_settings(
            "postgresql+psycopg://nobody@127.0.0.1:1/none",
            Path(settings.keyring_path),
            p.tmp_path,
        )
    )
    try:
        return broken.test_client().get("/api/v1/health")
    finally:
        broken.extensions["registry.db"].engine.dispose()


def _no_such_grant(p: Provoke) -> Any:
    # Researchers see rows only under a grant; one that names nothing (or not them) is 404.
    if p.method == "GET":
        return p.send(role="researcher", json=None, query_string={"grant": UNKNOWN})
    return p.send(role="researcher", json={"criteria": TRD_ADULTS, "grant": UNKNOWN})


PARTICULAR: dict[tuple[str, str, int], Callable[[Provoke], Any]] = {
    ("POST", "/api/v1/sites", 409): _duplicate_site,
    ("POST", "/api/v1/participants", 409): _duplicate_enrolment,
    ("POST", "/api/v1/participants/<participant_id>/withdrawal", 409): _relaxed_withdrawal,
    ("POST", "/api/v1/recruitment-requests/<request_id>/decision", 409): _decided_twice,
    ("POST", "/api/v1/recruitment-requests/<request_id>/confirmation", 409): _confirmed_when_open,
    ("POST", "/api/v1/recruitment-requests/<request_id>/closure", 409): _closed_twice,
    ("PUT", "/api/v1/cohorts/<cohort>/datasheet/sections/<section>", 404): (
        _section_name_with_a_slash
    ),
    ("GET", "/api/v1/health", 503): _database_down,
    ("GET", "/api/v1/participants", 404): _no_such_grant,
    ("POST", "/api/v1/eligibility/participants", 404): _no_such_grant,
}


# -- the walk ----------------------------------------------------------------------------


@pytest.fixture
def document(client: FlaskClient) -> dict[str, Any]:
    return dict(client.get("/api/v1/openapi.json").get_json())


@pytest.mark.parametrize(("method", "rule"), OPERATIONS)
def test_every_documented_error_status_can_be_provoked(
    app: Flask,
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    sign_in: Callable[..., Any],
    settings_with: Callable[..., None],
    consent_forms: None,
    document: dict[str, Any],
    tmp_path: Path,
    method: str,
    rule: str,
) -> None:
    p = Provoke(app, client, api_user, sign_in, settings_with, document, tmp_path, method, rule)
    documented = sorted(int(status) for status in p.operation()["responses"] if int(status) >= 400)

    reached = {}
    for status in documented:
        provoke = PARTICULAR.get((method, rule, status)) or GENERAL.get(status)
        assert provoke is not None, f"no way to provoke {status} for {method} {rule}"
        response = provoke(p)
        reached[status] = response.status_code
        if status < 500:
            assert response.get_json()["error"]["status"] == response.status_code

    assert reached == {status: status for status in documented}
