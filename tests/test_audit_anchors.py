"""Anchors: the chain head copied outside the database, so a truncation that rewinds the
head (which the chain alone cannot see) is still found."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask

from registry.audit.models import AuditEvent
from registry.cli import main
from registry.db import session
from tests.conftest import append_events


def _cli(app: Flask, *args: str) -> tuple[int, str, str]:
    result = app.test_cli_runner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def _truncate_and_rewind(run: Callable[[str], None], keep_through: int) -> None:
    """The attack of issue #16: delete the newest events, point the head at the last kept."""
    run(f"DELETE FROM audit_event WHERE seq > {keep_through}")
    run(
        f"UPDATE audit_chain_head SET last_seq = {keep_through}, "
        f"last_mac = (SELECT mac FROM audit_event WHERE seq = {keep_through}) WHERE id = 1"
    )


def test_truncation_with_a_rewound_head_is_found_by_the_anchors(
    app: Flask, tamper: Callable[[str], None], tmp_path: Path
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    seqs = append_events(app, 5)
    code, _out, err = _cli(app, "audit", "anchor", "--out", str(anchors))
    assert code == 0, err

    _truncate_and_rewind(tamper, keep_through=seqs[2])

    # The chain alone is consistent again: without anchors nothing can tell.
    code, out, _err = _cli(app, "audit", "verify")
    assert code == 0
    assert out.startswith(f"audit chain intact: {seqs[2]} events")
    code, out, err = _cli(app, "audit", "verify", "--anchors", str(anchors))
    assert code == 1
    assert err == (
        f"audit chain BROKEN: anchor line 1 of {anchors}: the chain ends at seq {seqs[2]}, "
        f"but it was anchored at seq {seqs[4]} (truncated)\n"
    )


def test_anchor_without_out_prints_one_signed_line(app: Flask) -> None:
    seqs = append_events(app, 2)

    code, out, err = _cli(app, "audit", "anchor")

    assert code == 0, err
    line = json.loads(out)
    assert out.count("\n") == 1
    assert set(line) == {"seq", "mac", "at", "signature"}
    assert line["seq"] == seqs[-1]
    with app.app_context():
        event = session().get(AuditEvent, seqs[-1])
        assert event is not None and bytes.fromhex(line["mac"]) == event.mac


def test_anchors_append_and_a_growing_chain_matches_them_all(app: Flask, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    append_events(app, 2)
    assert _cli(app, "audit", "anchor", "--out", str(anchors))[0] == 0
    seqs = append_events(app, 3)
    code, out, _err = _cli(app, "audit", "anchor", "--out", str(anchors))
    assert (code, out) == (0, f"anchored seq {seqs[-1]} to {anchors}\n")
    append_events(app, 1)

    code, out, err = _cli(app, "audit", "verify", "--anchors", str(anchors))

    assert code == 0, err
    assert len(anchors.read_text().splitlines()) == 2
    assert out == (
        f"audit chain intact: {seqs[-1] + 1} events; matches 2 anchors "
        f"(the latest at seq {seqs[-1]})\n"
    )


def test_history_rewritten_under_an_anchor_is_found(
    app: Flask, tamper: Callable[[str], None], tmp_path: Path
) -> None:
    """Truncate, rewind, then append new events: as long as before, and each MAC right."""
    anchors = tmp_path / "anchors.jsonl"
    seqs = append_events(app, 5)
    assert _cli(app, "audit", "anchor", "--out", str(anchors))[0] == 0

    _truncate_and_rewind(tamper, keep_through=seqs[1])
    append_events(app, 4)
    assert _cli(app, "audit", "verify")[0] == 0
    code, _out, err = _cli(app, "audit", "verify", "--anchors", str(anchors))

    assert code == 1
    assert err == (
        f"audit chain BROKEN: anchor line 1 of {anchors}: event {seqs[4]} differs from the "
        "anchored one (rewritten)\n"
    )


def test_forged_anchor_line_is_refused_by_its_line_number(app: Flask, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    append_events(app, 3)
    for _ in range(2):
        assert _cli(app, "audit", "anchor", "--out", str(anchors))[0] == 0
    first, second = anchors.read_text().splitlines()
    forged = json.loads(second)
    forged["seq"] -= 1  # an anchor that would let a truncation of the last event pass
    anchors.write_text(f"{first}\n{json.dumps(forged)}\n")

    code, _out, err = _cli(app, "audit", "verify", "--anchors", str(anchors))

    assert code == 1
    assert err == (
        f"anchor line 2 of {anchors} has a bad signature (altered, forged, or signed with "
        "another keyring)\n"
    )


@pytest.mark.parametrize(
    "bad_line",
    [
        b"not json",
        b'["seq", 1]',
        b'{"seq": 1, "mac": "00", "at": "2026-01-01T00:00:00+00:00"}',
        b'{"seq": true, "mac": "' + b"0" * 64 + b'", "at": "x", "signature": "' + b"0" * 64 + b'"}',
        b"\xff\xfe",
        b"",
    ],
    ids=["text", "list", "missing-fields", "bool-seq", "not-utf8", "blank"],
)
def test_unreadable_anchor_line_is_reported_by_its_line_number(
    app: Flask, tmp_path: Path, bad_line: bytes
) -> None:
    anchors = tmp_path / "anchors.jsonl"
    append_events(app, 1)
    assert _cli(app, "audit", "anchor", "--out", str(anchors))[0] == 0
    with anchors.open("ab") as fh:
        fh.write(bad_line + b"\n")

    code, _out, err = _cli(app, "audit", "verify", "--anchors", str(anchors))

    assert code == 1
    assert err == (
        f"anchor line 2 of {anchors} is unreadable (not a JSON object of seq, mac, at and "
        "signature)\n"
    )


def test_anchor_file_with_no_anchors_fails(app: Flask, tmp_path: Path) -> None:
    anchors = tmp_path / "anchors.jsonl"
    anchors.write_bytes(b"")

    code, _out, err = _cli(app, "audit", "verify", "--anchors", str(anchors))

    assert (code, err) == (1, f"no anchors in {anchors}\n")


def test_anchor_from_another_keyring_is_refused(app: Flask, tmp_path: Path) -> None:
    from registry.crypto.keys import LocalKeyring

    anchors = tmp_path / "anchors.jsonl"
    append_events(app, 1)
    original = app.extensions["registry.keys"]
    app.extensions["registry.keys"] = LocalKeyring.create(tmp_path / "other.json")
    try:
        assert _cli(app, "audit", "anchor", "--out", str(anchors))[0] == 0
    finally:
        app.extensions["registry.keys"] = original

    code, _out, err = _cli(app, "audit", "verify", "--anchors", str(anchors))

    assert code == 1
    assert "anchor line 1 of" in err and "bad signature" in err


def test_missing_anchor_file_is_a_usage_error(app: Flask, tmp_path: Path) -> None:
    code, _out, err = _cli(app, "audit", "verify", "--anchors", str(tmp_path / "absent.jsonl"))

    assert code == 2
    assert "does not exist" in err


def test_anchor_refuses_a_head_that_does_not_match_its_event(
    app: Flask, tamper: Callable[[str], None], tmp_path: Path
) -> None:
    seqs = append_events(app, 3)
    tamper(f"UPDATE audit_chain_head SET last_seq = {seqs[-1] + 1} WHERE id = 1")

    code, _out, err = _cli(app, "audit", "anchor", "--out", str(tmp_path / "anchors.jsonl"))

    assert code == 1
    assert f"the chain head does not match event {seqs[-1] + 1}" in err
    assert not (tmp_path / "anchors.jsonl").exists()
