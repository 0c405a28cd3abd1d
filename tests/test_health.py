"""Health and OpenAPI: the unauthenticated surface."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from registry import create_app
from tests.conftest import make_settings


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


def test_health_reports_503_when_the_database_does_not_answer(
    keyring_path: Path, tmp_path: Path
) -> None:
    unreachable = f"sqlite:///{tmp_path / 'no-such-folder' / 'registry.sqlite3'}"
    app = create_app(make_settings(unreachable, keyring_path, tmp_path / "instance"))

    response = app.test_client().get("/api/v1/health")

    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "database": "unreachable"}
