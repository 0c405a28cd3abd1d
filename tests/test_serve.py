"""`registry serve` runs the app under gunicorn, as production does."""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import cheap_hashing_config, fresh_database

LISTENING = re.compile(r"Listening at: http://127\.0\.0\.1:(\d+)")


@dataclass(frozen=True)
class Served:
    port: int

    def get(self, path: str, headers: dict[str, str] | None = None) -> Any:
        """GET a path (with optional headers) once the server answers; the parsed JSON."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}{path}", headers=headers or {}
            )
            try:
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310
                    return json.load(response)
            except OSError:
                time.sleep(0.2)
        return None


def _listening_port(server: subprocess.Popen[bytes], log: Path) -> int:
    """The port gunicorn bound, from its log (it was asked for port 0: a free port picked
    beforehand could be taken by a parallel test before gunicorn binds it)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text(errors="replace"))
        if found:
            return int(found.group(1))
        if server.poll() is not None:
            break
        time.sleep(0.1)
    pytest.fail(f"registry serve did not start listening:\n{log.read_text(errors='replace')}")


@contextmanager
def _serving(
    keyring_path: Path,
    tmp_path: Path,
    stdout: Any = subprocess.DEVNULL,
    **environ: str,
) -> Iterator[Served]:
    """`registry serve` on a port the system picks, with extra environment."""
    registry = Path(sys.executable).with_name("registry")
    with fresh_database(tmp_path) as url:
        env = {
            **os.environ,
            "REGISTRY_MODE": "test",
            "REGISTRY_CONFIG": str(cheap_hashing_config(tmp_path)),
            "DATABASE_URL": url,
            "REGISTRY_KEYRING": str(keyring_path),
            "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"),
            "REGISTRY_WORKERS": "1",
            **environ,
        }
        log = tmp_path / "gunicorn.log"
        with log.open("wb") as errors:
            server = subprocess.Popen(  # noqa: S603 - our own console script
                [str(registry), "serve", "--bind", "127.0.0.1:0"],
                env=env,
                stdout=stdout,
                stderr=errors,
            )
        try:
            yield Served(_listening_port(server, log))
        finally:
            server.terminate()
            server.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.once
def test_serve_answers_health_under_gunicorn(keyring_path: Path, tmp_path: Path) -> None:
    with _serving(keyring_path, tmp_path) as served:
        body = served.get("/api/v1/health")

    assert body == {"status": "ok", "database": "ok"}


@pytest.mark.slow
@pytest.mark.once
@pytest.mark.parametrize(
    ("proxy_hops", "logged_address"), [("1", "203.0.113.9"), ("0", "127.0.0.1")]
)
def test_access_log_names_the_client_the_proxies_forwarded_and_only_then(
    keyring_path: Path, tmp_path: Path, proxy_hops: str, logged_address: str
) -> None:
    access_log = tmp_path / "access.log"
    with (
        access_log.open("wb") as out,
        _serving(keyring_path, tmp_path, stdout=out, REGISTRY_PROXY_HOPS=proxy_hops) as served,
    ):
        body = served.get("/api/v1/health", {"X-Forwarded-For": "203.0.113.9"})

    lines = [line for line in access_log.read_text().splitlines() if "/api/v1/health" in line]
    assert body is not None
    assert lines and all(line.split()[0] == logged_address for line in lines)


def _test_redis_url() -> str | None:
    """The Redis to test shared throttles against (CI sets it; this machine runs one)."""
    return os.environ.get("TEST_REDIS_URL") or None


@pytest.mark.slow
@pytest.mark.once
def test_serve_refuses_several_workers_without_a_shared_throttle_store_in_production(
    keyring_path: Path, tmp_path: Path
) -> None:
    """Throttle counters in process memory would let each worker count on its own (the
    attack: 31 wrong passwords before a 429 with 4 workers)."""
    env = {
        **os.environ,
        "REGISTRY_MODE": "production",
        "DATABASE_URL": "postgresql+psycopg://registry@127.0.0.1:5432/registry",
        "SECRET_KEY": "s" * 40,
        "REGISTRY_KEYRING": str(keyring_path),
        "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"),
        "REGISTRY_WORKERS": "2",
    }
    env.pop("REDIS_URL", None)
    registry = Path(sys.executable).with_name("registry")

    finished = subprocess.run(  # noqa: S603 - our own console script
        [str(registry), "serve", "--bind", "127.0.0.1:0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert finished.returncode != 0
    assert "2 workers need REDIS_URL" in finished.stderr


def _sign_in_attempts(port: int, attempts: int) -> list[int]:
    """Wrong passwords for one account, each on a new connection (so the workers share
    them out), as a browser would send them: page, CSRF token, post."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            page = opener.open(f"{base}/sign-in", timeout=5).read().decode()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token is not None
    statuses = []
    for _ in range(attempts):
        body = urllib.parse.urlencode(
            {
                "email": "someone@example.nhs.uk",
                "password": "not the password",
                "csrf_token": token[1],
            }
        ).encode()
        try:
            with opener.open(f"{base}/sign-in", data=body, timeout=10) as response:
                statuses.append(response.status)
        except urllib.error.HTTPError as refused:
            statuses.append(refused.code)
    return statuses


@pytest.mark.slow
@pytest.mark.once
def test_serve_with_two_workers_and_redis_throttles_sign_in_once_for_all_workers(
    keyring_path: Path, tmp_path: Path
) -> None:
    redis_url = _test_redis_url()
    if redis_url is None:
        if os.environ.get("CI"):
            pytest.fail("CI must test shared throttles: set TEST_REDIS_URL (.ci/run does)")
        pytest.skip("TEST_REDIS_URL is not set (scripts/test sets it when Redis answers)")
    with _serving(
        keyring_path,
        tmp_path,
        REGISTRY_WORKERS="2",
        REDIS_URL=redis_url,
        REGISTRY_RATE_LIMIT_PREFIX=f"registry-test-{secrets.token_hex(6)}",
    ) as served:
        assert served.get("/api/v1/health") is not None
        statuses = _sign_in_attempts(served.port, 14)

    # Ten failures per account in fifteen minutes, counted once for both workers.
    assert statuses == [200] * 10 + [429] * 4
