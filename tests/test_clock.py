"""The registry's day comes from one place, so a test run that crosses midnight keeps one day.

CI once failed because a run began before midnight and ended after it: dates the tests had
written at collection ("tomorrow", "66 years ago less a day") were judged by the next day.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path
from typing import TypeGuard

import time_machine
from flask.testing import FlaskClient

from registry import clock
from tests.conftest import ApiUser, enrolment_body

REGISTRY = Path(__file__).resolve().parent.parent / "registry"
WRITTEN_AT_COLLECTION = clock.today() + dt.timedelta(days=1)


def test_a_birth_written_as_tomorrow_is_still_in_the_future_after_midnight(
    client: FlaskClient, clinician: ApiUser
) -> None:
    body = enrolment_body("TRD")
    body["date_of_birth"] = WRITTEN_AT_COLLECTION.isoformat()
    just_after_midnight = dt.datetime.combine(WRITTEN_AT_COLLECTION, dt.time(0, 0, 1))

    with time_machine.travel(just_after_midnight, tick=True):
        assert dt.date.today() == WRITTEN_AT_COLLECTION  # the machine's day has moved on
        response = client.post("/api/v1/participants", json=body, headers=clinician.headers)

    assert response.status_code == 422, response.get_json()
    assert "This date is in the future." in response.get_json()["error"]["fields"]["date_of_birth"]


def _asks_the_machine_for_the_day(node: ast.AST) -> TypeGuard[ast.Call]:
    """``date.today()``, ``datetime.now().date()`` and ``datetime.utcnow().date()``."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return False
    if node.func.attr == "today":
        return ast.unparse(node.func.value).endswith("date")
    if node.func.attr == "date" and isinstance(node.func.value, ast.Call):
        inner = node.func.value.func
        return isinstance(inner, ast.Attribute) and inner.attr in {"now", "utcnow"}
    return False


def test_only_the_clock_asks_the_machine_for_the_day() -> None:
    askers = [
        f"{path.relative_to(REGISTRY.parent)}:{node.lineno}"
        for path in sorted(REGISTRY.rglob("*.py"))
        if path != REGISTRY / "clock.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if _asks_the_machine_for_the_day(node)
    ]

    assert askers == []
