"""`registry serve` runs the app under gunicorn, as production does."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fresh_database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def _serving(
    keyring_path: Path, tmp_path: Path, stdout: Any = subprocess.DEVNULL, **environ: str
) -> Iterator[Any]:
    """`registry serve` on a free port, with extra environment; yields a function that GETs
    a path (with optional headers) once the server answers and returns the parsed JSON."""
    port = _free_port()
    registry = Path(sys.executable).with_name("registry")
    with fresh_database(tmp_path) as url:
        env = {
            **os.environ,
            "REGISTRY_MODE": "test",
            "DATABASE_URL": url,
            "REGISTRY_KEYRING": str(keyring_path),
            "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"),
            "REGISTRY_WORKERS": "1",
            **environ,
        }
        server = subprocess.Popen(  # noqa: S603 - our own console script
            [str(registry), "serve", "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdout=stdout,
            stderr=subprocess.DEVNULL,
        )

        def get(path: str, headers: dict[str, str] | None = None) -> Any:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}{path}", headers=headers or {}
                )
                try:
                    with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                        return json.load(response)
                except OSError:
                    time.sleep(0.2)
            return None

        try:
            yield get
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.mark.slow
def test_serve_answers_health_under_gunicorn(keyring_path: Path, tmp_path: Path) -> None:
    with _serving(keyring_path, tmp_path) as get:
        body = get("/api/v1/health")

    assert body == {"status": "ok", "database": "ok"}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("proxy_hops", "logged_address"), [("1", "203.0.113.9"), ("0", "127.0.0.1")]
)
def test_access_log_names_the_client_the_proxies_forwarded_and_only_then(
    keyring_path: Path, tmp_path: Path, proxy_hops: str, logged_address: str
) -> None:
    access_log = tmp_path / "access.log"
    with (
        access_log.open("wb") as out,
        _serving(keyring_path, tmp_path, stdout=out, REGISTRY_PROXY_HOPS=proxy_hops) as get,
    ):
        body = get("/api/v1/health", {"X-Forwarded-For": "203.0.113.9"})

    lines = [line for line in access_log.read_text().splitlines() if "/api/v1/health" in line]
    assert body is not None
    assert lines and all(line.split()[0] == logged_address for line in lines)
