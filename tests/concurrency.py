"""Racing API calls from threads released together, for the PostgreSQL concurrency tests."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask


@dataclass(frozen=True)
class Call:
    headers: dict[str, str]
    method: str
    path: str
    body: dict[str, Any]


def race(app: Flask, *calls: Call) -> list[tuple[int, Any]]:
    """Make the calls at once, one thread each; (status, body) of each, in call order."""
    start = threading.Barrier(len(calls), timeout=30)
    answers: list[tuple[int, Any]] = [(0, "did not finish")] * len(calls)

    def run(index: int, call: Call) -> None:
        client = app.test_client()
        try:
            start.wait()
            response = client.open(
                call.path, method=call.method, json=call.body, headers=call.headers
            )
            answers[index] = (response.status_code, response.get_json())
        except BaseException as exc:  # reported in the assertion, not lost in the thread
            answers[index] = (0, type(exc).__name__)

    threads = [threading.Thread(target=run, args=(i, call)) for i, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers
