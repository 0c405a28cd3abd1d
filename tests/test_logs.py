"""Logs for a SIEM: one JSON object per line, with no identifier in any of them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from registry.auth.permissions import Role
from registry.config import ConfigurationError, Settings
from registry.logs import REQUEST_LOGGER, JsonFormatter
from tests.conftest import committed_accounts, enrolment_body, isolated_app, new_nhs_number
from tests.test_serve import _serving

SURNAME = "Quetzalcoatl-Logscan"


def _json_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    formatter = JsonFormatter()
    return [json.loads(formatter.format(record)) for record in caplog.records]


def test_a_record_becomes_one_json_object_with_a_utc_time() -> None:
    record = logging.makeLogRecord(
        {"name": "registry.example", "levelname": "WARNING", "msg": "hello %s", "args": ("x",)}
    )

    line = JsonFormatter().format(record)

    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["level"] == "WARNING"
    assert parsed["logger"] == "registry.example"
    assert parsed["message"] == "hello x"
    assert str(parsed["time"]).endswith("Z")


def test_unknown_log_format_is_refused_at_start_up() -> None:
    with pytest.raises(ConfigurationError, match="log_format must be text or json"):
        Settings.load({"REGISTRY_LOG_FORMAT": "xml"})


def test_each_request_logs_its_route_user_status_and_duration_without_identifiers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    number = new_nhs_number()
    with isolated_app(tmp_path, log_format="json") as (app, _):
        (clinician,) = committed_accounts(app, "RXL", [Role.CLINICIAN])
        client = app.test_client()
        caplog.set_level(logging.DEBUG)

        enrolled = client.post(
            "/api/v1/participants",
            json=enrolment_body(nhs_number=number, family_name=SURNAME),
            headers=clinician,
        )
        participant_id = enrolled.get_json()["participant_id"]
        client.get(f"/api/v1/participants/{participant_id}", headers=clinician)
        client.post(  # refused: a duplicate, its identifiers in the body
            "/api/v1/participants",
            json=enrolment_body(nhs_number=number, family_name=SURNAME),
            headers=clinician,
        )
        client.get(f"/api/v1/participants/{number}?nhs_number={number}", headers=clinician)

    lines = _json_lines(caplog)
    requests = [line for line in lines if line["logger"] == REQUEST_LOGGER]
    assert [(r["method"], r["route"], r["status"]) for r in requests] == [
        ("POST", "/api/v1/participants", 201),
        ("GET", "/api/v1/participants/<participant_id>", 200),
        ("POST", "/api/v1/participants", 409),
        ("GET", "/api/v1/participants/<participant_id>", 404),
    ]
    assert all(isinstance(r["user_id"], int) for r in requests)
    assert all(len(str(r["request_id"])) == 32 for r in requests)
    assert all(isinstance(r["duration_ms"], float) for r in requests)
    everything = "\n".join(json.dumps(line) for line in lines)
    assert number not in everything
    assert SURNAME not in everything
    assert participant_id not in everything  # routes, never paths


@pytest.mark.slow
@pytest.mark.once
def test_serve_writes_every_line_as_json_when_configured(
    keyring_path: Path, tmp_path: Path
) -> None:
    with _serving(keyring_path, tmp_path, REGISTRY_LOG_FORMAT="json") as served:
        body = served.get("/api/v1/health")
    lines = [
        json.loads(line)
        for line in (tmp_path / "gunicorn.log").read_text().splitlines()
        if line.strip()
    ]

    assert body == {"status": "ok", "database": "ok"}
    assert any(line["message"].startswith("Listening at") for line in lines)
    health = [line for line in lines if line.get("route") == "/api/v1/health"]
    assert health and health[0]["status"] == 200 and "duration_ms" in health[0]
