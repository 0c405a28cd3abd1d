"""The lock files pin what pyproject.toml declares, and scripts/audit.py fails on what it should.

No test here uses the network: the audit is fed pip-audit reports and PyPI records.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import re
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements" / "lock.txt"
TEST_LOCK = ROOT / "requirements" / "test-lock.txt"
HASH = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def _pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)


def _locked(path: Path) -> dict[str, tuple[str, list[str]]]:
    """Canonical name -> (pinned version, hashes), from a `--generate-hashes` lock file."""
    entries: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            pinned, _, version = line.split()[0].partition("==")
            name = canonicalize_name(pinned)
            entries[name] = (version, [])
        entries[name][1].extend(HASH.findall(line))
    return entries


def _declared(*extras: str) -> list[Requirement]:
    pyproject = _pyproject()
    declared = list(pyproject["project"]["dependencies"])
    declared += pyproject["build-system"]["requires"]  # installed with --no-build-isolation
    for extra in extras:
        declared += pyproject["project"]["optional-dependencies"][extra]
    return [Requirement(text) for text in declared]


@pytest.mark.parametrize(("lock", "extras"), [(LOCK, ()), (TEST_LOCK, ("test",))])
def test_every_declared_dependency_is_pinned_with_hashes_within_its_range(
    lock: Path, extras: tuple[str, ...]
) -> None:
    locked = _locked(lock)
    unlocked = []
    for requirement in _declared(*extras):
        pin = locked.get(canonicalize_name(requirement.name))
        if (
            pin is None
            or not pin[1]
            or not requirement.specifier.contains(pin[0], prereleases=True)
        ):
            unlocked.append(str(requirement))
    assert unlocked == [], f"not pinned in {lock.name}: run scripts/lock"


@pytest.mark.parametrize("lock", [LOCK, TEST_LOCK])
def test_every_pin_carries_a_hash_and_an_exact_version(lock: Path) -> None:
    # pip's --require-hashes refuses the whole file if one line lacks either.
    locked = _locked(lock)
    assert locked
    assert [name for name, (version, hashes) in locked.items() if not version or not hashes] == []


def _third_party_imports(package: Path) -> set[str]:
    """Top-level names of the modules the product imports, the standard library's and its
    own left out (imports under ``if TYPE_CHECKING`` included: harmless over-reach)."""
    names: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"registry", "__future__"}


def test_every_library_the_product_imports_is_a_locked_runtime_dependency() -> None:
    """A library only the test lock brings in works in tests and fails on a fresh install
    (scripts/run installs lock.txt alone): `requests`, imported for single sign-on, did."""
    providers = importlib.metadata.packages_distributions()
    # Optional features' libraries (Parquet) are imported only when installed.
    optional = _pyproject()["project"]["optional-dependencies"]
    locked = set(_locked(LOCK)) | {
        canonicalize_name(Requirement(text).name)
        for extra, requirements in optional.items()
        if extra != "test"
        for text in requirements
    }
    missing = {
        module: providers.get(module, ["(no installed distribution)"])
        for module in sorted(_third_party_imports(ROOT / "registry"))
        if not any(canonicalize_name(d) in locked for d in providers.get(module, []))
    }
    assert missing == {}


def test_the_test_lock_keeps_every_runtime_pin() -> None:
    runtime = {name: version for name, (version, _) in _locked(LOCK).items()}
    test = {name: version for name, (version, _) in _locked(TEST_LOCK).items()}
    assert {name: test.get(name) for name in runtime} == runtime


# scripts/audit.py, fed without the network


def _audit_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("scripts_audit", ROOT / "scripts" / "audit.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


audit = _audit_module()


def _lock_file(tmp_path: Path, pins: Mapping[str, str]) -> Path:
    path = tmp_path / "lock.txt"
    path.write_text(
        "".join(
            f"{name}=={version} \\\n    --hash=sha256:{'0' * 64}\n"
            for name, version in pins.items()
        )
    )
    return path


def _run(
    tmp_path: Path,
    pins: Mapping[str, str],
    report: dict[str, Any] | None,
    records: Mapping[str, dict[str, Any]] | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    def run(locks: Sequence[Path]) -> dict[str, Any]:
        if report is None:
            raise audit.Unreachable("connection refused")
        return report

    def fetch(name: str) -> dict[str, Any]:
        if records is None:
            raise audit.Unreachable("connection refused")
        return records[name]

    result: int = audit.main(
        [str(_lock_file(tmp_path, pins))], run=run, fetch=fetch, environ=environ or {}
    )
    return result


def _vuln(vuln_id: str, fixed: list[str]) -> dict[str, Any]:
    return {"id": vuln_id, "fix_versions": fixed, "aliases": [], "description": "..."}


def test_audit_fails_on_a_known_vulnerability_with_a_fixed_release(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = {
        "dependencies": [
            {"name": "jinja2", "version": "3.1.2", "vulns": [_vuln("PYSEC-1", ["3.1.3"])]},
            {"name": "flask", "version": "3.1.3", "vulns": []},
        ]
    }
    assert _run(tmp_path, {"jinja2": "3.1.2", "flask": "3.1.3"}, report) == 1
    out = capsys.readouterr().out
    assert "FAILED: jinja2 3.1.2: PYSEC-1, fixed in 3.1.3" in out
    assert "scripts/lock --upgrade-package jinja2" in out


def test_audit_warns_but_passes_on_a_vulnerability_with_no_fix_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = {
        "dependencies": [{"name": "ecdsa", "version": "0.19.2", "vulns": [_vuln("GHSA-1", [])]}]
    }
    assert _run(tmp_path, {"ecdsa": "0.19.2"}, report) == 0
    assert "ecdsa 0.19.2: GHSA-1 has no fixed release yet" in capsys.readouterr().out


def test_audit_checks_pins_the_service_skipped_against_the_latest_release_record(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A mirror without per-release records: pip-audit skips every pin and reports nothing.
    skipped = "Dependency not found on PyPI and could not be audited"
    report = {
        "dependencies": [
            {"name": "jinja2", "skip_reason": skipped},
            {"name": "Deprecated", "skip_reason": skipped},
        ]
    }
    records: dict[str, dict[str, Any]] = {
        "jinja2": {
            "version": "3.1.6",
            "vulnerabilities": [
                {"id": "PYSEC-2", "fixed_in": ["3.1.7"], "withdrawn": None},
                {"id": "PYSEC-3", "fixed_in": ["3.1.7"], "withdrawn": "2026-01-01T00:00:00Z"},
            ],
        },
        "deprecated": {"version": "3.0.1", "vulnerabilities": []},
    }
    assert _run(tmp_path, {"jinja2": "3.1.6", "Deprecated": "1.3.1"}, report, records) == 1
    out = capsys.readouterr().out
    assert "FAILED: jinja2 3.1.6: PYSEC-2, fixed in 3.1.7" in out
    assert "PYSEC-3" not in out  # withdrawn
    assert (
        "no vulnerability record for these pinned releases: deprecated 1.3.1 (latest 3.0.1)" in out
    )
    assert "2 pins, 1 checked" in out


@pytest.mark.parametrize(("ci", "status"), [("true", 1), ("", 0)])
def test_audit_that_cannot_reach_the_service_fails_in_ci_and_warns_elsewhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], ci: str, status: int
) -> None:
    assert _run(tmp_path, {"flask": "3.1.3"}, None, environ={"CI": ci}) == status
    out = capsys.readouterr().out
    assert "could not reach the vulnerability service" in out
    assert ("FAILED" in out) == (status == 1)


def test_audit_that_reaches_pip_audit_but_not_the_fallback_is_unreachable_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = {"dependencies": [{"name": "flask", "skip_reason": "not found"}]}
    assert _run(tmp_path, {"flask": "3.1.3"}, report, None, {"CI": "true"}) == 1
    assert "could not reach the vulnerability service" in capsys.readouterr().out
