"""The API's contract: authentication, tokens, the error shape, headers and rate limits."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from flask_smorest import Blueprint
from sqlalchemy import select

from registry import create_app
from registry.api.blueprint import RegistryBlueprint
from registry.api.inputs import CheckedParser
from registry.audit.models import AuditEvent
from registry.auth.models import ApiToken
from registry.auth.permissions import Role
from registry.db import session, utcnow
from tests.conftest import Account, ApiUser, csrf_token_from, isolated_app, make_settings


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["status"] == status
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.get_data(as_text=True)
    error: dict[str, Any] = body["error"]
    return error


def test_me_with_token_names_role_and_permissions(
    client: FlaskClient, create_account: Callable[..., Account], issue_token: Callable[..., str]
) -> None:
    account = create_account(Role.PARTNER)

    response = client.get("/api/v1/me", headers=bearer(issue_token(account)))

    body = response.get_json()
    assert response.status_code == 200
    assert body["role"] == "partner"
    assert body["organisation"] == "Example Pharma Ltd"
    assert "query_controlled_counts" in body["permissions"]
    assert "read_audit" not in body["permissions"]


def test_anonymous_request_gets_401_in_error_shape(client: FlaskClient) -> None:
    assert_error(client.get("/api/v1/me"), 401, "unauthorised")


def test_unknown_token_gets_401(client: FlaskClient) -> None:
    assert_error(
        client.get("/api/v1/me", headers=bearer("mhr_not-a-real-token")), 401, "unauthorised"
    )


def test_expired_token_gets_401(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
) -> None:
    token = issue_token(create_account(Role.RESEARCHER))
    with app.app_context():
        row = session().scalar(select(ApiToken).order_by(ApiToken.id.desc()))
        assert row is not None
        row.expires_at = utcnow() - dt.timedelta(seconds=1)
        session().commit()

    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401, "unauthorised")


def test_revoked_token_gets_401(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
) -> None:
    from registry.audit.actions import Actor
    from registry.auth.actions import revoke_token

    token = issue_token(create_account(Role.RESEARCHER))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with app.test_request_context():
        row = session().scalar(select(ApiToken).order_by(ApiToken.id.desc()))
        assert row is not None
        revoke_token(row.id, by=Actor.command_line())
        session().commit()

    assert_error(client.get("/api/v1/me", headers=bearer(token)), 401, "unauthorised")


def test_token_is_stored_only_as_its_hash_and_records_last_use(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
) -> None:
    token = issue_token(create_account(Role.RESEARCHER))

    client.get("/api/v1/me", headers=bearer(token))

    with app.app_context():
        row = session().scalar(select(ApiToken).order_by(ApiToken.id.desc()))
        assert row is not None
        assert row.token_hash == hashlib.sha256(token.encode()).digest()
        assert token.encode() not in row.token_hash
        assert row.last_used_at is not None


def test_wrong_role_gets_403_and_the_denial_is_audited(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
) -> None:
    account = create_account(Role.RESEARCHER)

    response = client.get("/api/v1/audit", headers=bearer(issue_token(account)))

    assert_error(response, 403, "forbidden")
    with app.app_context():
        denial = session().scalar(
            select(AuditEvent)
            .where(AuditEvent.action == "access.denied")
            .order_by(AuditEvent.seq.desc())
        )
        assert denial is not None
        assert denial.actor == f"user:{account.user.id}"
        assert denial.target_id == "/api/v1/audit"


def test_unknown_api_path_gets_json_404(client: FlaskClient) -> None:
    assert_error(client.get("/api/v1/nothing-here"), 404, "not_found")


def test_wrong_method_gets_json_405(client: FlaskClient) -> None:
    assert_error(client.delete("/api/v1/health"), 405, "method_not_allowed")


def test_malformed_json_gets_400(
    client: FlaskClient, create_account: Callable[..., Account], issue_token: Callable[..., str]
) -> None:
    token = issue_token(create_account(Role.ADMIN))

    response = client.post(
        "/api/v1/sites",
        data="{not json",
        headers={**bearer(token), "Content-Type": "application/json"},
    )

    assert_error(response, 400, "malformed_json")


def test_invalid_fields_get_422_naming_each_field_and_change_nothing(
    client: FlaskClient, create_account: Callable[..., Account], issue_token: Callable[..., str]
) -> None:
    token = issue_token(create_account(Role.ADMIN))

    response = client.post("/api/v1/sites", json={"code": "R!", "extra": 1}, headers=bearer(token))
    sites = client.get("/api/v1/sites", headers=bearer(token)).get_json()

    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"code", "name", "extra"}
    assert all(site["code"] != "R!" for site in sites)


def test_admin_adds_site_and_duplicate_gets_409(
    client: FlaskClient, create_account: Callable[..., Account], issue_token: Callable[..., str]
) -> None:
    token = issue_token(create_account(Role.ADMIN))

    created = client.post(
        "/api/v1/sites", json={"code": "rrk", "name": "Birmingham Women's"}, headers=bearer(token)
    )
    again = client.post(
        "/api/v1/sites", json={"code": "RRK", "name": "Again"}, headers=bearer(token)
    )

    assert created.status_code == 201
    assert created.get_json() == {"code": "RRK", "name": "Birmingham Women's"}
    assert_error(again, 409, "site_exists")


def test_every_api_blueprint_checks_input_and_is_rate_limited_without_patching(
    app: Flask,
) -> None:
    """The input checks and the rate limit belong to the API's own blueprint class, and
    are applied as it is registered: flask-smorest itself is left as installed."""
    api_blueprints = [bp for bp in app.blueprints.values() if isinstance(bp, Blueprint)]

    assert len(api_blueprints) >= 10
    for blueprint in api_blueprints:
        assert isinstance(blueprint, RegistryBlueprint), blueprint.name
        assert isinstance(blueprint.ARGUMENTS_PARSER, CheckedParser), blueprint.name
        assert blueprint.rate_limited, blueprint.name
    assert not isinstance(Blueprint.ARGUMENTS_PARSER, CheckedParser)
    assert not isinstance(Blueprint.PAGINATION_ARGUMENTS_PARSER, CheckedParser)


def test_audit_listing_paginates_and_filters(
    client: FlaskClient, create_account: Callable[..., Account], issue_token: Callable[..., str]
) -> None:
    token = issue_token(create_account(Role.ADMIN))
    client.post("/api/v1/sites", json={"code": "RAA", "name": "A"}, headers=bearer(token))
    client.post("/api/v1/sites", json={"code": "RAB", "name": "B"}, headers=bearer(token))

    response = client.get("/api/v1/audit?action=site.add&per_page=1", headers=bearer(token))
    too_big = client.get("/api/v1/audit?per_page=500", headers=bearer(token))

    body = response.get_json()
    assert response.status_code == 200
    # The one page shape of every paginated endpoint (issue 17: audit answered meta/events).
    assert (body["page"], body["per_page"]) == (1, 1) and body["total"] >= 2
    assert [e["action"] for e in body["items"]] == ["site.add"]
    assert body["items"][0]["details"] == {"code": "RAB"}
    assert "per_page" in assert_error(too_big, 422, "validation_error")["fields"]


def test_cookie_session_api_post_needs_csrf_token(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    sign_in(create_account(Role.ADMIN))

    forged = client.post("/api/v1/sites", json={"code": "RZZ", "name": "Forged"})
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    genuine = client.post(
        "/api/v1/sites", json={"code": "RZZ", "name": "Genuine"}, headers={"X-CSRFToken": token}
    )

    assert_error(forged, 400, "csrf_failed")
    assert genuine.status_code == 201


def test_security_headers_on_every_response(client: FlaskClient) -> None:
    for path in ("/", "/sign-in", "/api/v1/health", "/api/v1/nowhere"):
        headers = client.get(path).headers

        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "no-referrer"
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_samesite_lax(client: FlaskClient) -> None:
    response = client.get("/sign-in")

    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def _cookie_parts(set_cookie: str) -> tuple[str, dict[str, str]]:
    """A Set-Cookie header's name and its attributes (lower-cased names; flags map to "")."""
    first, *attributes = (part.strip() for part in set_cookie.split(";"))
    name = first.partition("=")[0]
    parsed = {}
    for attribute in attributes:
        key, _, value = attribute.partition("=")
        parsed[key.lower()] = value
    return name, parsed


def test_secure_session_cookie_has_the_host_prefix_path_root_and_no_domain(
    database_url: str, keyring_path: Path, tmp_path: Path
) -> None:
    production = create_app(
        make_settings(database_url, keyring_path, tmp_path, mode="production", secret_key="k" * 40)
    )

    response = production.test_client().get("/sign-in", base_url="https://registry.example")

    production.extensions["registry.db"].engine.dispose()
    name, attributes = _cookie_parts(response.headers["Set-Cookie"])
    assert name == "__Host-registry_session"
    assert "secure" in attributes
    assert attributes["path"] == "/"
    assert "domain" not in attributes
    assert "httponly" in attributes and attributes["samesite"] == "Lax"


def test_session_cookie_over_plain_http_keeps_its_plain_name(client: FlaskClient) -> None:
    # Development and tests run over http, where a browser drops any __Host- cookie.
    response = client.get("/sign-in")

    name, attributes = _cookie_parts(response.headers["Set-Cookie"])
    assert name == "registry_session"
    assert "secure" not in attributes


def test_api_rate_limit_answers_429_with_retry_after(
    database_url: str, keyring_path: Path, tmp_path: Path
) -> None:
    limited = create_app(
        make_settings(database_url, keyring_path, tmp_path, api_rate_limit="3 per minute")
    )
    client = limited.test_client()

    statuses = [client.get("/api/v1/health").status_code for _ in range(4)]
    response = client.get("/api/v1/health")

    limited.extensions["registry.db"].engine.dispose()
    assert statuses == [200, 200, 200, 429]
    assert_error(response, 429, "rate_limited")
    assert int(response.headers["Retry-After"]) > 0


def test_api_rate_limit_also_covers_eligibility_counts(
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    settings_with: Callable[..., None],
) -> None:
    """The partners' own budget for counts comes on top of the API's limit, not instead of
    it (found by the fuzzer: a route's limit overrode its blueprint's)."""
    settings_with(api_rate_limit="2 per minute")
    researcher = api_user(Role.RESEARCHER)
    body = {"criteria": {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}]}}

    statuses = [
        client.post("/api/v1/eligibility/count", json=body, headers=researcher.headers).status_code
        for _ in range(3)
    ]

    assert statuses == [200, 200, 429]


def test_health_is_503_when_database_unreachable(keyring_path: Path, tmp_path: Path) -> None:
    broken = create_app(
        make_settings("postgresql+psycopg://nobody@127.0.0.1:1/none", keyring_path, tmp_path)
    )

    response = broken.test_client().get("/api/v1/health")
    broken.extensions["registry.db"].engine.dispose()

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}


# NUL characters: PostgreSQL cannot store them in text, and a statement carrying one fails
# (a 500 the fuzzer found). They are refused before any endpoint runs.


def test_nul_character_in_a_query_argument_is_refused_naming_it(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    clinician = api_user(Role.CLINICIAN)

    response = client.get("/api/v1/participants?site=RX%00T", headers=clinician.headers)

    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"site": ["Must not contain a NUL character."]}


def test_nul_character_in_a_json_body_is_refused_naming_it(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    researcher = api_user(Role.RESEARCHER)
    criteria = {
        "cohort": "TRD",
        "all": [{"field": "postcode_district", "op": "=", "value": "B\x00"}],
    }

    response = client.post(
        "/api/v1/eligibility/saved-queries",
        json={"name": "Adults\x00", "criteria": criteria},
        headers=researcher.headers,
    )

    error = assert_error(response, 422, "validation_error")
    assert set(error["fields"]) == {"name", "criteria.all.0.value"}


def test_nul_character_in_a_path_names_nothing(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    researcher = api_user(Role.RESEARCHER)

    response = client.get("/api/v1/participants/P-%00", headers=researcher.headers)

    assert_error(response, 404, "not_found")


@pytest.mark.parametrize("path", ["/nowhere", "/api/v1/nowhere"])
def test_errors_never_show_a_traceback(client: FlaskClient, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 404
    assert "Traceback" not in response.get_data(as_text=True)


def _redis_reachable() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _redis_reachable(), reason="no Redis on 127.0.0.1:6379")
def test_rate_limit_counters_shared_through_redis(tmp_path: Path) -> None:
    """With REDIS_URL set the counters live in Redis, where every process shares them."""
    import secrets

    import redis

    # A client address of this test alone, so its bucket is fresh in a Redis that other
    # test runs share (an unknown token is counted under its caller's address).
    address = "127." + ".".join(str(secrets.randbelow(250) + 1) for _ in range(3))
    # A database of its own: the refusal is audited, with a real commit.
    with isolated_app(
        tmp_path, api_rate_limit="3 per minute", redis_url="redis://127.0.0.1:6379/0"
    ) as (limited, _):
        client = limited.test_client()
        statuses = [
            client.get("/api/v1/health", environ_base={"REMOTE_ADDR": address}).status_code
            for _ in range(4)
        ]
    stored = redis.Redis(host="127.0.0.1", port=6379).keys(f"*address:{address}*")

    assert statuses == [200, 200, 200, 429]
    assert stored, "the rate-limit counter should be in Redis"


def test_every_paginated_endpoint_answers_one_page_shape(client: FlaskClient) -> None:
    """Whatever takes page and per_page answers {page, per_page, total, items} (FHIR
    Bundles aside: they page by FHIR's own links)."""
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]

    def properties(schema: dict[str, Any]) -> set[str]:
        if "$ref" in schema:
            return properties(schemas[schema["$ref"].rsplit("/", 1)[-1]])
        if "anyOf" in schema:
            return set.intersection(*(properties(option) for option in schema["anyOf"]))
        return set(schema.get("properties", {}))

    paginated = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue  # the path's own, not an operation
            names = {parameter["name"] for parameter in operation.get("parameters", [])}
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body is not None:
                names |= properties(body["schema"])
            if "per_page" not in names or path.endswith("/fhir"):
                continue
            answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
            assert {"page", "per_page", "total", "items"} <= properties(answer), (method, path)
            paginated.append((method, path))
    assert sorted(paginated) == [
        ("get", "/api/v1/audit"),
        ("get", "/api/v1/participants"),
        ("get", "/api/v1/participants/due"),
        ("post", "/api/v1/eligibility/participants"),
    ]
