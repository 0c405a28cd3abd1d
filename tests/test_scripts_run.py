"""`scripts/run` serves on 127.0.0.1:5000, or on the port --port names; a bad port is
refused before anything is installed or migrated. Run against a copy of the scripts whose
virtualenv is a stub that records each command, so nothing is installed or served."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"

STUB = """#!/usr/bin/env bash
echo "$(basename "$0") $*" >> "{log}"
"""


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    """A checkout with scripts/run and its helpers, and a virtualenv already installed."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    for name in ("run", "_venv.sh"):
        shutil.copy2(SCRIPTS / name, root / "scripts" / name)
    (root / "pyproject.toml").write_text("")
    (root / "requirements").mkdir()
    (root / "requirements" / "lock.txt").write_text("")
    log = root / "commands.log"
    for stub in (root / "scripts" / "install-frontend", root / ".venv/bin/registry"):
        stub.parent.mkdir(parents=True, exist_ok=True)
        stub.write_text(STUB.format(log=log))
        stub.chmod(0o755)
    python = root / ".venv/bin/python"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    stamp = root / ".venv" / ".installed"
    stamp.touch()
    later = stamp.stat().st_mtime + 10
    os.utime(stamp, (later, later))  # newer than the lock: nothing to install
    return root


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [str(root / "scripts" / "run"), *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _commands(root: Path) -> list[str]:
    log = root / "commands.log"
    return log.read_text().splitlines() if log.exists() else []


def test_serves_on_port_5000_by_default(checkout: Path) -> None:
    result = _run(checkout)

    assert result.returncode == 0, result.stderr
    assert "serving on http://127.0.0.1:5000" in result.stdout
    assert _commands(checkout)[-1] == "registry serve --bind 127.0.0.1:5000"


@pytest.mark.parametrize("args", [("--port", "5001"), ("--port=5001",)])
def test_serves_on_the_port_asked_for(checkout: Path, args: tuple[str, ...]) -> None:
    result = _run(checkout, *args)

    assert result.returncode == 0, result.stderr
    assert "serving on http://127.0.0.1:5001" in result.stdout
    assert _commands(checkout)[-2:] == [
        "registry db upgrade",
        "registry serve --bind 127.0.0.1:5001",
    ]


def test_demo_and_port_together(checkout: Path) -> None:
    result = _run(checkout, "--demo", "--port", "5002")

    assert result.returncode == 0, result.stderr
    assert "registry demo users" in _commands(checkout)
    assert _commands(checkout)[-1] == "registry serve --bind 127.0.0.1:5002"


@pytest.mark.parametrize("args", [("--port",), ("--port", "abc"), ("--port", "70000"), ("--nope",)])
def test_a_bad_option_is_refused_before_anything_runs(
    checkout: Path, args: tuple[str, ...]
) -> None:
    result = _run(checkout, *args)

    assert result.returncode == 2
    assert result.stderr.startswith("scripts/run: ")
    assert _commands(checkout) == []
