"""KEK rotation from the command line: re-wrapping, per-epoch counts, destroying epochs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from registry.audit.models import AuditEvent
from registry.cli import main
from registry.crypto import key_provider
from registry.crypto.errors import KeyUnavailable
from registry.crypto.keys import wrapped_epoch
from registry.db import session
from registry.participants import dek_cache
from registry.participants.identity import read_identity, rewrap_all_keys
from registry.participants.models import Participant, ParticipantKey
from tests.participants.test_identity import ACTOR, add_site, enrol, fresh_app


@pytest.fixture
def keys_app(tmp_path: Path) -> Iterator[Flask]:
    """Its own keyring and database: rotation changes the keyring file for good."""
    dek_cache.clear()
    with fresh_app(tmp_path) as app:
        yield app
    dek_cache.clear()


def _enrol(app: Flask, count: int) -> list[int]:
    site = add_site(app)
    with app.test_request_context():
        ids = [enrol(site).id for _ in range(count)]
        session().commit()
    return ids


def _invoke(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(main, ["keys", *args])
    return result.exit_code, result.output


def _read_all(app: Flask) -> list[str]:
    dek_cache.clear()  # unwrap through the keyring, not from memory
    with app.test_request_context():
        names = [
            read_identity(p, by=ACTOR, purpose="key check").given_name
            for p in session().scalars(select(Participant))
        ]
        session().commit()
    return names


def test_status_counts_data_keys_per_epoch(keys_app: Flask) -> None:
    _enrol(keys_app, 3)

    code, output = _invoke(keys_app, "status")

    assert code == 0
    assert "current KEK epoch: 1" in output
    assert "epoch 1: wraps 3 data keys" in output


def test_rotate_rewraps_every_key_under_the_new_epoch(keys_app: Flask) -> None:
    _enrol(keys_app, 3)

    code, output = _invoke(keys_app, "rotate")

    assert code == 0, output
    assert "rotated to KEK epoch 2; re-wrapped 3 data keys" in output
    with keys_app.app_context():
        keys = session().scalars(select(ParticipantKey)).all()
        event = (
            session().scalars(select(AuditEvent).where(AuditEvent.action == "keys.rotate")).one()
        )
    assert {(k.kek_epoch, wrapped_epoch(k.wrapped_dek)) for k in keys} == {(2, 2)}
    assert json.loads(event.details) == {"epoch": 2, "rewrapped": 3}
    assert _read_all(keys_app) == ["Ada"] * 3
    assert "epoch 2: wraps 3 data keys" in _invoke(keys_app, "status")[1]


def test_destroying_an_epoch_still_in_use_is_refused(keys_app: Flask) -> None:
    _enrol(keys_app, 2)
    with keys_app.app_context():
        key_provider().add_epoch()  # a new epoch, but nothing re-wrapped yet

    code, output = _invoke(keys_app, "destroy-epoch", "--epoch", "1")

    assert code == 1
    assert output.strip().splitlines() == [
        "Error: KEK epoch 1 still wraps 2 data keys; run `registry keys rotate` first"
    ]
    assert _read_all(keys_app) == ["Ada"] * 2


def test_old_epoch_can_be_destroyed_after_rotation(keys_app: Flask) -> None:
    _enrol(keys_app, 2)
    assert _invoke(keys_app, "rotate")[0] == 0

    code, output = _invoke(keys_app, "destroy-epoch", "--epoch", "1")

    assert code == 0, output
    assert "destroyed KEK epoch 1" in output
    with keys_app.app_context():
        assert key_provider().epochs() == [2]
    assert _read_all(keys_app) == ["Ada"] * 2


def test_current_epoch_cannot_be_destroyed(keys_app: Flask) -> None:
    code, output = _invoke(keys_app, "destroy-epoch", "--epoch", "1")

    assert code == 1
    assert "current KEK epoch cannot be destroyed" in output


def test_key_left_under_a_destroyed_epoch_is_unreadable(keys_app: Flask) -> None:
    (participant_id,) = _enrol(keys_app, 1)
    with keys_app.app_context():
        keyring = key_provider()
        keyring.add_epoch()
        keyring.destroy_epoch(1)  # bypassing the command's check, as a lost key would
    dek_cache.clear()

    with keys_app.test_request_context():
        participant = session().get(Participant, participant_id)
        assert participant is not None
        with pytest.raises(KeyUnavailable, match="epoch 1"):
            read_identity(participant, by=ACTOR, purpose="key check")


def test_rewrap_works_in_batches_and_reports_progress(keys_app: Flask) -> None:
    _enrol(keys_app, 5)
    steps: list[int] = []

    with keys_app.app_context():
        key_provider().add_epoch()
        count = rewrap_all_keys(batch_size=2, progress=steps.append)
        again = rewrap_all_keys(batch_size=2)
        session().commit()

    assert (count, steps, again) == (5, [2, 2, 1], 0)
    assert _read_all(keys_app) == ["Ada"] * 5
