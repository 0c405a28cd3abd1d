"""A full withdrawal reaches every process's data-key cache before its response returns.

Two processes share one PostgreSQL database and keyring: this one serves the withdrawal, a
second (tests/participants/shred_reader.py) has just read the participant, so their data key
sits in its cache. One millisecond after the withdrawal's response, the second process must
neither hold the key in memory (the notification reached it) nor serve it to a read; and
with every notification lost, the generation check alone must still refuse it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from registry.auth.permissions import Role
from tests.conftest import (
    PASSWORD,
    committed_accounts,
    enrolment_body,
    isolated_app,
    key_provider_settings,
    on_postgresql,
)

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not on_postgresql(), reason="two processes share PostgreSQL")


def _withdraw_while_another_process_reads(tmp_path: Path, mode: str) -> dict[str, Any]:
    with isolated_app(tmp_path) as (app, url):
        clinician, admin = committed_accounts(app, "RXP", [Role.CLINICIAN, Role.ADMIN])
        client = app.test_client()
        enrolled = client.post("/api/v1/participants", json=enrolment_body(), headers=clinician)
        assert enrolled.status_code == 201, enrolled.get_json()
        participant_id = enrolled.get_json()["participant_id"]
        with subprocess.Popen(  # noqa: S603 (our own test helper, fixed arguments)
            [
                sys.executable,
                "-m",
                "tests.participants.shred_reader",
                url,
                str(tmp_path / "keyring.json"),
                str(tmp_path / "reader-instance"),
                participant_id,
                mode,
                json.dumps(key_provider_settings(tmp_path / "keyring.json")),
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as reader:
            assert reader.stdout is not None and reader.stdin is not None
            assert reader.stdout.readline().strip() == "ready"

            withdrawn = client.post(
                f"/api/v1/participants/{participant_id}/withdrawal",
                json={"level": "full", "reason": "Moving away", "password": PASSWORD},
                headers=admin,
            )
            assert withdrawn.status_code == 201, withdrawn.get_json()
            reader.stdin.write("go\n")
            reader.stdin.flush()
            answer: dict[str, Any] = json.loads(reader.stdout.readline())
    return answer


def test_withdrawal_empties_another_processs_key_cache_at_once(tmp_path: Path) -> None:
    answer = _withdraw_while_another_process_reads(tmp_path, "listen")

    # Forgotten without any read to prompt it (typically within a millisecond or two of
    # the response; a busy machine may take longer to schedule the listener), never served.
    assert answer["forgotten_ms"] is not None
    assert answer["served"] is False


def test_another_process_that_missed_the_notification_still_refuses_the_key(
    tmp_path: Path,
) -> None:
    answer = _withdraw_while_another_process_reads(tmp_path, "deaf")

    # 1 ms after the response the key still sits in that process's memory (nothing told it),
    # and its cache refuses to serve it: the generation moved.
    assert answer == {"in_memory": True, "served": False}
