"""`registry serve` runs the app under gunicorn, as production does."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import fresh_database


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_answers_health_under_gunicorn(keyring_path: Path, tmp_path: Path) -> None:
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
        }
        server = subprocess.Popen(  # noqa: S603 - our own console script
            [str(registry), "serve", "--bind", f"127.0.0.1:{port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            body = None
            deadline = time.monotonic() + 30
            while body is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/api/v1/health", timeout=2
                    ) as response:
                        body = json.load(response)
                except OSError:
                    time.sleep(0.2)
        finally:
            server.terminate()
            server.wait(timeout=30)

    assert body == {"status": "ok", "database": "ok"}
