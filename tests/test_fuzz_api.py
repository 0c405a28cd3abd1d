"""API fuzzing (issue #10): schemathesis sends requests generated from /api/v1/openapi.json
to every operation, as each kind of caller, and checks that the app never answers 5xx and
that every answer's status, content type, headers and body are ones the document promises.

Each caller fuzzes the operations its role may use: ``FUZZ_EXAMPLES`` generated requests per
operation (valid and invalid), plus schemathesis's coverage cases (boundaries, missing and
wrong-typed fields). The operations it may not use are fuzzed briefly, and must be refused
(401/403) before any input is read. Path parameters are now and then swapped for real ids
from a small seeded world, so that requests get past 404 into the handlers.

CI runs the default, once: on PostgreSQL, the stricter database (marker ``once``); a release
runs scripts/security/fuzz.sh, which raises FUZZ_EXAMPLES.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from registry import clock
from registry.auth.permissions import ROLE_PERMISSIONS, Role
from registry.reports.actions import WRITTEN_SECTIONS
from tests.conftest import ApiUser, enrolment_body, isolated_app

SPEC = "/api/v1/openapi.json"
pytestmark = pytest.mark.once

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "50"))
# CI generates the same requests every run, so a commit's result does not depend on luck;
# a release run (scripts/security/fuzz.sh) sets FUZZ_RANDOM to explore afresh each time.
FUZZ_DETERMINISTIC = not os.environ.get("FUZZ_RANDOM")
REFUSED_EXAMPLES = 3
CALLERS = ["anonymous", *(role.value for role in Role)]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]

# Alternative bodies that operations answer but the document does not declare yet; the
# declaration belongs on the endpoint (an @blp.alt_response(200, ...) with that content
# type). Until then such answers skip the content checks, and an entry fails the test as
# soon as the document declares it, so that none outlives its fix.
UNDECLARED_CONTENT_TYPES = {
    "GET /api/v1/cohorts/{cohort}/representativeness": "text/csv",  # ?format=csv
    "GET /api/v1/cohorts/{cohort}/datasheet": "text/markdown",  # ?format=md
}

TRD_ADULTS = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}]}


# -- the world the fuzzer works in -----------------------------------------------------


@dataclasses.dataclass
class Caller:
    role: Role | None  # None: anonymous
    headers: dict[str, str]


@dataclasses.dataclass
class World:
    callers: dict[str, Caller]
    # path parameter name -> real values some generated requests use instead
    known: dict[str, list[str]]


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.get_json()
    return dict(response.get_json())


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The fuzzer's own app and database, committing for real. Not the suite's rolled-back
    transaction: on PostgreSQL each writing request in it would hold a lock until the end,
    and a long run fills the server's lock table.

    Rate limits are raised out of the way (429 stays documented, and tests/test_api_errors.py
    provokes it): the fuzzer sends thousands of requests with one token."""
    with isolated_app(
        tmp_path,
        api_rate_limit="1000000 per minute",
        partner_query_limit="1000000 per hour",
        privacy_allowance=1_000_000.0,
        recruitment_min_list_size=0,  # the world's recruitment list holds two people
    ) as (flask_app, _):
        yield flask_app


@pytest.fixture(autouse=True)
def _rolled_back_transaction() -> None:
    """In place of conftest's: each test here has an app and database of its own."""


@pytest.fixture
def world(client: FlaskClient, api_user: Callable[..., ApiUser], consent_forms: None) -> World:
    """One account of each role, three participants at the clinician's site, an approved
    recruitment request listing them, a saved query each for researcher and partner, and a
    data-access grant naming the researcher (whose rows they may list)."""
    users = {role: api_user(role) for role in Role}
    clinician, partner, admin = users[Role.CLINICIAN], users[Role.PARTNER], users[Role.ADMIN]
    participants = [
        _created(
            client.post(
                "/api/v1/participants", json=enrolment_body(cohort), headers=clinician.headers
            )
        )["participant_id"]
        for cohort in ("TRD", "TRD", "EP")
    ]
    request_id = _created(
        client.post(
            "/api/v1/recruitment-requests",
            json={
                "study_title": "Fuzzing study",
                "sponsor": "Example Pharma Ltd",
                "ethics_reference": "1004567",
                "criteria": TRD_ADULTS,
                "target": 10,
            },
            headers=partner.headers,
        )
    )["id"]
    decided = client.post(
        f"/api/v1/recruitment-requests/{request_id}/decision",
        json={"decision": "approve", "note": "Ethics checked."},
        headers=admin.headers,
    )
    assert decided.status_code == 200, decided.get_json()
    queries = [
        _created(
            client.post(
                "/api/v1/eligibility/saved-queries",
                json={"name": "Adults", "criteria": TRD_ADULTS},
                headers=users[role].headers,
            )
        )["query_id"]
        for role in (Role.RESEARCHER, Role.PARTNER)
    ]
    grant_id = _created(
        client.post(
            "/api/v1/grants",
            json={
                "title": "Fuzzing study",
                "ethics_reference": "1004567",
                "cohorts": ["EP", "TRD"],
                "variables": ["participants.cohort", "participants.sex", "consent.items"],
                "expires_on": (clock.today() + dt.timedelta(days=30)).isoformat(),
                "researchers": [users[Role.RESEARCHER].account.email],
            },
            headers=admin.headers,
        )
    )["id"]
    return World(
        callers={
            "anonymous": Caller(None, {}),
            **{role.value: Caller(role, user.headers) for role, user in users.items()},
        },
        known={
            "participant_id": participants,
            "request_id": [request_id],
            "query_id": queries,
            "cohort": ["EP", "TRD"],
            "section": list(WRITTEN_SECTIONS),
            "grant": [grant_id],
        },
    )


@pytest.fixture(params=CALLERS)
def caller(request: pytest.FixtureRequest, world: World) -> Caller:
    # schemathesis 4.32 renames the test node through Node._nodeid, which pytest 9.2 no
    # longer has; give it one (reports keep pytest's own node id).
    request.node._nodeid = request.node.nodeid
    return world.callers[request.param]


# -- which operations a caller may use ---------------------------------------------------


def _permitted(app: Flask, caller: Caller) -> Callable[[str, str], bool]:
    """(method, OpenAPI path) -> whether the caller's role has the endpoint's permission."""
    permissions = ROLE_PERMISSIONS[caller.role] if caller.role else frozenset()
    adapter = app.url_map.bind("localhost")

    def permitted(method: str, path: str) -> bool:
        endpoint, _ = adapter.match(path.replace("{", "").replace("}", ""), method=method)
        required = getattr(app.view_functions[endpoint], "required_permission", None)
        return required is None or required in permissions

    return permitted


def _schema(app: Flask, world: World, caller: Caller, include: Callable[[str, str], bool]) -> Any:
    """The app's OpenAPI document, cut down to the operations ``include`` keeps, for one
    caller: the token goes on every request, so schemathesis generates no Authorization
    header of its own (it still does for anonymous callers: random tokens, no token)."""
    document = app.test_client().get(SPEC).get_json()
    route_names = _fixed_segments(document["paths"])
    paths = {}
    for path, operations in document["paths"].items():
        kept = {
            method: operation
            for method, operation in operations.items()
            if method != "parameters" and include(method.upper(), path)
        }
        if kept:
            shared = {"parameters": operations["parameters"]} if "parameters" in operations else {}
            paths[path] = {**shared, **kept}
    document["paths"] = paths
    schema = schemathesis.openapi.from_dict(document)
    schema.app = app
    schema.hook(_known_ids(world))
    schema.hook(_not_a_route_name(route_names))
    for hook in _known_grant(world):
        schema.hook(hook)
    schema.config.generation.update(database="none", with_security_parameters=caller.role is None)
    return schema


def _fixed_segments(paths: Any) -> set[str]:
    return {part for path in paths for part in path.split("/") if part and "{" not in part}


def _not_a_route_name(route_names: set[str]) -> Callable[..., Any]:
    """No id spelt like a fixed segment of a route: ``/grants/{grant_id}`` with the id
    "variables" is ``/grants/variables``, another operation. Hypothesis draws strings from
    the code's own constants, so it does spell them, as the code changes."""

    def filter_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> bool:
        return not any(str(value) in route_names for value in (path_parameters or {}).values())

    return filter_path_parameters


def _known_ids(world: World) -> Callable[..., Any]:
    def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any] | None) -> Any:
        if not path_parameters:
            return st.just(path_parameters)
        return st.fixed_dictionaries(
            {
                name: st.one_of(st.just(value), st.sampled_from(world.known[name]))
                if world.known.get(name)
                else st.just(value)
                for name, value in path_parameters.items()
            }
        )

    return flatmap_path_parameters


def _known_grant(world: World) -> list[Callable[..., Any]]:
    """Now and then the real grant in place of a generated ``grant`` (a query parameter, or
    a body field), so that researchers' row listings get past 404. Only a value that is
    valid already is swapped: a request generated to be invalid stays invalid."""

    def swapped(values: Any) -> Any:
        grant = values.get("grant") if isinstance(values, dict) else None
        if not isinstance(grant, str) or not 1 <= len(grant) <= 24:
            return st.just(values)
        real = st.sampled_from(world.known["grant"]).map(lambda known: {**values, "grant": known})
        return st.one_of(st.just(values), real)

    def flatmap_query(context: Any, query: Any) -> Any:
        return swapped(query)

    def flatmap_body(context: Any, body: Any) -> Any:
        return swapped(body)

    return [flatmap_query, flatmap_body]


@pytest.fixture
def permitted_schema(app: Flask, world: World, caller: Caller) -> Any:
    schema = _schema(app, world, caller, _permitted(app, caller))
    schema.config.generation.update(max_examples=FUZZ_EXAMPLES, deterministic=FUZZ_DETERMINISTIC)
    return schema


@pytest.fixture
def refused_schema(app: Flask, world: World, caller: Caller) -> Any:
    """Briefly, and without the coverage phase: a refusal reads no input to get wrong."""
    permitted = _permitted(app, caller)
    schema = _schema(app, world, caller, lambda method, path: not permitted(method, path))
    schema.config.generation.update(max_examples=REFUSED_EXAMPLES, deterministic=FUZZ_DETERMINISTIC)
    schema.config.phases.update(phases=["examples", "fuzzing"])
    return schema


permitted_operations = schemathesis.pytest.from_fixture("permitted_schema")
refused_operations = schemathesis.pytest.from_fixture("refused_schema")


@pytest.mark.slow
@permitted_operations.parametrize()
def test_permitted_operation_answers_as_documented(case: Any, caller: Caller) -> None:
    response = case.call(headers=caller.headers)

    case.validate_response(response, checks=_checks_for(case, response))


def _checks_for(case: Any, response: Any) -> list[Any]:
    undeclared = UNDECLARED_CONTENT_TYPES.get(case.operation.label)
    if undeclared is None:
        return CHECKS
    declared = case.operation.definition.raw["responses"].get("200", {}).get("content", {})
    assert undeclared not in declared, f"{case.operation.label} now declares {undeclared}"
    if response.headers.get("content-type", [""])[0].startswith(undeclared):
        return [not_a_server_error, status_code_conformance]
    return CHECKS


@pytest.mark.slow
@refused_operations.parametrize()
def test_refused_operation_is_refused_before_reading_input(case: Any, caller: Caller) -> None:
    response = case.call_and_validate(headers=caller.headers, checks=CHECKS)

    assert response.status_code in (401, 403)
