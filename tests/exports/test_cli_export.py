"""`registry export --grant GRANT_ID --out DIR [--format csv|parquet]`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from registry.cli import main
from tests.exports.conftest import PHQ9_ITEMS, World


def _invoke(world: World, *args: str) -> tuple[int, str, str]:
    result = world.app.test_cli_runner().invoke(main, ["export", *args])
    return result.exit_code, result.stdout, result.stderr


def test_export_writes_the_extract_into_the_directory(world: World, tmp_path: Path) -> None:
    for _ in range(2):
        participant_id = world.enrol()
        assert world.assess(participant_id, items=PHQ9_ITEMS).status_code == 201
    grant_id = world.grant()
    out = tmp_path / "extract"

    code, stdout, stderr = _invoke(world, "--grant", grant_id, "--out", str(out))

    assert code == 0, stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["participants"] == 2
    for entry in manifest["files"]:
        assert hashlib.sha256((out / entry["name"]).read_bytes()).hexdigest() == entry["sha256"]
    assert f"grant {grant_id}: 2 participants" in stdout
    assert "exporting" in stderr  # the progress bar
    assert not list(tmp_path.glob(".registry-export-*"))


@pytest.mark.slow
def test_export_as_parquet(world: World, tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    world.enrol()
    grant_id = world.grant()

    code, _, stderr = _invoke(
        world, "--grant", grant_id, "--out", str(tmp_path / "x"), "--format", "parquet"
    )

    assert code == 0, stderr
    assert pq.read_table(tmp_path / "x" / "participants.parquet").num_rows == 1


def test_expired_grant_exits_1_with_one_line(world: World, tmp_path: Path) -> None:
    grant_id = world.grant()
    world.expire(grant_id)

    code, stdout, stderr = _invoke(world, "--grant", grant_id, "--out", str(tmp_path / "x"))

    assert code == 1
    assert stdout == ""
    assert len(stderr.strip().splitlines()) == 1
    assert "expired" in stderr
    assert not (tmp_path / "x").exists()


def test_unknown_grant_exits_1(world: World, tmp_path: Path) -> None:
    code, _, stderr = _invoke(world, "--grant", "nope", "--out", str(tmp_path / "x"))

    assert code == 1
    assert "no data-access grant" in stderr


def test_a_directory_with_files_in_it_is_a_usage_error(world: World, tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text("x\n")

    code, _, stderr = _invoke(world, "--grant", world.grant(), "--out", str(tmp_path))

    assert code == 2
    assert "not empty" in stderr
