"""Health and OpenAPI: the unauthenticated surface."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_health_reports_ok_when_database_answers(client: FlaskClient) -> None:
    response = client.get("/api/v1/health")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_openapi_document_lists_every_api_route(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")

    document = response.get_json()
    assert response.status_code == 200
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/health", "/api/v1/me", "/api/v1/audit"} <= set(document["paths"])
