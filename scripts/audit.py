"""Audit the locked dependencies for known vulnerabilities; scripts/lint runs this.

    .venv/bin/python scripts/audit.py [LOCK ...]

LOCK defaults to requirements/test-lock.txt, which holds every pin of lock.txt too. Exit 1
when a pinned release has a known vulnerability that a newer release fixes (move to it with
`scripts/lock --upgrade-package NAME`). A vulnerability with no fix yet is a warning, and so
is a pin that could not be checked.

pip-audit asks PyPI for each pinned release's record (`--vulnerability-service pypi`). Where
that per-release record is not served (a registry mirror may serve only the per-project
one), pip-audit skips the pin yet still says "No known vulnerabilities found". Skipped pins
are checked here against the per-project record instead, whose vulnerabilities are those of
the project's latest release: exact for a pin that is the latest release, while a pin that
pyproject's ranges hold back stays unchecked and is listed.

When PyPI cannot be reached, even after retries, CI (CI set) fails: a gate that passes
because it could not look is no gate, and CI installs from the same registry anyway.
Elsewhere it warns and exits 0, so that lint and the tests still run offline.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

# pip's own record of PyPI's address: the index the locks are compiled against and
# installed from (pip is pinned in the locks).
from pip._internal.models.index import PyPI

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_LOCKS = (ROOT / "requirements" / "test-lock.txt",)
ATTEMPTS = 3
BACKOFF_SECONDS = (2.0, 5.0)
TIMEOUT_SECONDS = 15
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)

Report = dict[str, Any]
Record = dict[str, Any]


class Unreachable(Exception):
    """The vulnerability service did not answer, even after retries."""


@dataclass(frozen=True)
class Finding:
    name: str
    version: str
    vuln_id: str
    fixed_in: tuple[str, ...]


@dataclass
class Assessment:
    fixable: list[Finding] = field(default_factory=list)
    unfixed: list[Finding] = field(default_factory=list)
    unchecked: list[tuple[str, str, str]] = field(default_factory=list)  # name, pin, latest
    checked: int = 0


def read_pins(locks: Iterable[Path]) -> dict[str, str]:
    """Canonical name -> pinned version, from `name==version` lines of the lock files."""
    pins: dict[str, str] = {}
    for lock in locks:
        for name, version in PIN.findall(lock.read_text(encoding="utf-8")):
            pins[canonicalize_name(name)] = version
    return pins


def run_pip_audit(locks: Sequence[Path]) -> Report:
    """pip-audit's JSON report on the locks; raises Unreachable if it never produced one."""
    command = [sys.executable, "-m", "pip_audit", "--disable-pip", "--require-hashes"]
    for lock in locks:
        command += ["-r", str(lock)]
    command += ["--vulnerability-service", "pypi", "--format", "json"]
    command += ["--progress-spinner", "off", "--timeout", str(TIMEOUT_SECONDS)]
    error = ""
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF_SECONDS[attempt - 1])
        # Exit 1 with a report means "vulnerabilities found"; without one, it failed.
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        try:
            report: Report = json.loads(done.stdout)
            return report
        except ValueError:
            error = (done.stderr.strip().splitlines() or ["no output"])[-1]
    raise Unreachable(f"pip-audit failed {ATTEMPTS} times; last: {error}")


def latest_record(name: str) -> Record:
    """PyPI's per-project record: the latest version and that release's vulnerabilities."""
    url = f"{PyPI.pypi_url}/{name}/json"
    for attempt in range(ATTEMPTS):
        if attempt:
            time.sleep(BACKOFF_SECONDS[attempt - 1])
        try:
            with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310
                data = json.load(response)
            return {"version": data["info"]["version"], "vulnerabilities": data["vulnerabilities"]}
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return {"version": None, "vulnerabilities": []}
            last: Exception = error
        except (OSError, ValueError, KeyError) as error:
            last = error
    raise Unreachable(f"no record of {name}: {last}")


def assess(report: Report, pins: Mapping[str, str], fetch: Callable[[str], Record]) -> Assessment:
    """Sort pip-audit's findings, and check the pins it skipped against `fetch`."""
    result = Assessment()
    skipped: list[str] = []
    for dependency in report.get("dependencies", []):
        name: str = canonicalize_name(dependency["name"])
        if "skip_reason" in dependency:
            if name in pins:
                skipped.append(name)
            continue
        result.checked += 1
        for vuln in dependency.get("vulns", []):
            _sort(result, name, dependency["version"], vuln["id"], vuln.get("fix_versions", []))
    if skipped:
        # One request first, so that an unreachable service fails once, not per package.
        records = {skipped[0]: fetch(skipped[0])}
        with ThreadPoolExecutor(max_workers=8) as pool:
            records.update(zip(skipped[1:], pool.map(fetch, skipped[1:]), strict=True))
        for name in skipped:
            record, pinned = records[name], pins[name]
            if record["version"] != pinned:
                result.unchecked.append((name, pinned, record["version"] or "not found"))
                continue
            result.checked += 1
            for vuln in record["vulnerabilities"]:
                if vuln.get("withdrawn") is None:
                    _sort(result, name, pinned, vuln["id"], vuln.get("fixed_in") or [])
    return result


def _sort(result: Assessment, name: str, version: str, vuln_id: str, fixed: list[str]) -> None:
    finding = Finding(name, version, vuln_id, tuple(fixed))
    (result.fixable if fixed else result.unfixed).append(finding)


def main(
    argv: Sequence[str],
    *,
    run: Callable[[Sequence[Path]], Report] = run_pip_audit,
    fetch: Callable[[str], Record] = latest_record,
    environ: Mapping[str, str] = os.environ,
) -> int:
    locks = [Path(arg) for arg in argv] or list(DEFAULT_LOCKS)
    pins = read_pins(locks)
    try:
        result = assess(run(locks), pins, fetch)
    except Unreachable as error:
        if environ.get("CI", "").lower() not in ("", "0", "false"):
            print(f"audit: FAILED: could not reach the vulnerability service: {error}")
            return 1
        print(f"audit: WARNING: not audited, could not reach the vulnerability service: {error}")
        return 0
    for f in result.unfixed:
        print(f"audit: warning: {f.name} {f.version}: {f.vuln_id} has no fixed release yet")
    if result.unchecked:
        held = ", ".join(
            f"{name} {pin} (latest {latest})" for name, pin, latest in result.unchecked
        )
        print(f"audit: warning: no vulnerability record for these pinned releases: {held}")
    for f in result.fixable:
        print(
            f"audit: FAILED: {f.name} {f.version}: {f.vuln_id}, fixed in {', '.join(f.fixed_in)}:"
            f" scripts/lock --upgrade-package {f.name}"
        )
    print(
        f"audit: {len(pins)} pins, {result.checked} checked, {len(result.fixable)} with a fixed"
        f" vulnerability, {len(result.unfixed)} with an unfixed one"
    )
    return 1 if result.fixable else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
