"""`registry keys` across providers: moving a keyring into an HSM, and a rotation that
commits per batch, survives being killed, and finishes when run again."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select

from registry import create_app
from registry.audit.actions import verify_chain
from registry.audit.models import AuditEvent
from registry.auth.models import Site
from registry.cli import main
from registry.crypto import key_provider
from registry.crypto.keys import AEAD_PURPOSES, MAC_PURPOSES
from registry.crypto.pkcs11 import Pkcs11Provider
from registry.db import session
from registry.participants import dek_cache
from registry.participants.identity import (
    find_by_nhs_number,
    keys_per_epoch,
    pseudonym_for,
    read_identities,
    rewrap_batch,
)
from registry.participants.models import Participant
from tests.conftest import (
    SOFTHSM_MODULE,
    cheap_hashing_config,
    isolated_app,
    make_settings,
    new_nhs_number,
    on_postgresql,
    softhsm_token,
)
from tests.participants.test_identity import ACTOR, add_site, enrol

needs_softhsm = pytest.mark.skipif(
    not Path(SOFTHSM_MODULE).is_file(), reason="SoftHSM2 is not installed"
)


@pytest.fixture(autouse=True)
def _empty_dek_cache() -> Iterator[None]:
    dek_cache.clear()
    yield
    dek_cache.clear()


def _invoke(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(main, ["keys", *args])
    return result.exit_code, result.output


def _enrol(app: Flask, count: int) -> dict[str, str]:
    """``count`` participants more, committed: their NHS numbers by registry id."""
    with app.app_context():
        has_site = session().scalars(select(Site)).first() is not None
    if not has_site:
        add_site(app)
    numbers = {}
    with app.test_request_context():
        site = session().scalars(select(Site)).one()
        for _ in range(count):
            number = new_nhs_number()
            numbers[enrol(site, number).participant_id] = number
        session().commit()
    return numbers


def _read_everyone(app: Flask) -> dict[str, str]:
    """Every participant's NHS number, by registry id, through the app's key provider."""
    dek_cache.clear()
    with app.test_request_context():
        participants = session().scalars(select(Participant)).all()
        identities = read_identities(participants, by=ACTOR, purpose="key check")
        session().commit()
    return {i.participant_id: i.nhs_number for i in identities}


# -- migrate --to pkcs11 ------------------------------------------------------------------


@needs_softhsm
def test_migrate_moves_a_populated_registry_into_a_token(tmp_path: Path) -> None:
    token = softhsm_token(tmp_path / "hsm")
    with isolated_app(tmp_path, **{**token, "key_provider": "file"}) as (file_app, url):
        numbers = _enrol(file_app, 3)
        with file_app.app_context():
            key_provider().add_epoch()  # two epochs in use: 3 keys under 1, 2 under 2
        numbers.update(_enrol(file_app, 2))
        with file_app.test_request_context():
            pseudonyms = {p.participant_id: pseudonym_for("STUDY-1", p) for p in _everyone()}

        code, output = _invoke(file_app, "migrate", "--to", "pkcs11")
        assert code == 0, output
        # two epochs' KEKs, and one key per HMAC and per AES-GCM purpose
        moved = 2 + len(MAC_PURPOSES) + len(AEAD_PURPOSES)
        assert f"moved {moved} keys into PKCS#11 token" in output
        assert "a data key of each epoch in use (1, 2) opens" in output
        (tmp_path / "keyring.json").unlink()  # the operator removes the file
        hsm_app = create_app(
            make_settings(url, tmp_path / "keyring.json", tmp_path / "i2", **token)
        )
        try:
            assert _read_everyone(hsm_app) == numbers
            with hsm_app.test_request_context():
                provider = key_provider()
                found = {
                    n: getattr(find_by_nhs_number(n), "participant_id", None)
                    for n in numbers.values()
                }
                same_pseudonyms = {
                    p.participant_id: pseudonym_for("STUDY-1", p) for p in _everyone()
                }
                chain = verify_chain(session())
            assert isinstance(provider, Pkcs11Provider)
            assert found == {n: pid for pid, n in numbers.items()}
            assert same_pseudonyms == pseudonyms
            assert chain.intact and chain.events > 0
            assert "epoch 1: wraps 3 data keys" in _invoke(hsm_app, "status")[1]
        finally:
            hsm_app.extensions["registry.db"].engine.dispose()


def _everyone() -> list[Participant]:
    return list(session().scalars(select(Participant).order_by(Participant.id)))


def test_migrate_refuses_without_the_token_settings(tmp_path: Path) -> None:
    no_token = {"pkcs11_module": None, "pkcs11_token": None, "pkcs11_pin_file": None}
    with isolated_app(tmp_path, key_provider="file", **no_token) as (app, _url):
        code, output = _invoke(app, "migrate", "--to", "pkcs11")

    assert code == 1
    assert "REGISTRY_PKCS11_MODULE is not set" in output


# -- rotation in batches, resumed ---------------------------------------------------------


def test_rotate_resumes_an_interrupted_rotation_without_a_new_epoch(tmp_path: Path) -> None:
    with isolated_app(tmp_path) as (app, _url):
        _enrol(app, 5)
        with app.app_context():
            key_provider().add_epoch()
            rewrap_batch(after=0, batch_size=2)  # a run stopped after its first batch
            session().commit()
        assert "rotation unfinished: 3 data keys" in _invoke(app, "status")[1]

        code, output = _invoke(app, "rotate", "--batch-size", "2")

        assert code == 0, output
        assert "resuming the rotation to KEK epoch 2: 3 data keys left" in output
        assert "rewrapped 4 of 5 data keys" in output
        assert "rotated to KEK epoch 2; re-wrapped 3 data keys" in output
        with app.app_context():
            assert (key_provider().epochs(), keys_per_epoch()) == ([1, 2], {2: 5})
            event = (
                session()
                .scalars(select(AuditEvent).where(AuditEvent.action == "keys.rotate"))
                .one()
            )
        assert json.loads(event.details) == {"epoch": 2, "rewrapped": 3, "resumed": True}


@pytest.mark.slow
@pytest.mark.skipif(not on_postgresql(), reason="the kill test runs on PostgreSQL")
def test_rotate_killed_mid_run_leaves_every_key_readable_and_finishes_after(tmp_path: Path) -> None:
    with isolated_app(tmp_path) as (app, url):
        numbers = _enrol(app, 300)
        settings = app.config["SETTINGS"]
        env = {
            **os.environ,
            "REGISTRY_MODE": "test",
            "REGISTRY_CONFIG": str(cheap_hashing_config(tmp_path)),
            "DATABASE_URL": url,
            "REGISTRY_KEYRING": str(settings.keyring_path),
            "REGISTRY_INSTANCE_PATH": str(tmp_path / "instance"),
            "REGISTRY_KEY_PROVIDER": settings.key_provider,
            **{
                f"REGISTRY_PKCS11_{name.upper()}": getattr(settings, f"pkcs11_{name}")
                for name in ("module", "token", "pin_file")
                if getattr(settings, f"pkcs11_{name}")
            },
        }
        command = [str(Path(sys.executable).with_name("registry")), "keys", "rotate"]
        done = 0
        with subprocess.Popen(  # noqa: S603 - our own console script
            [*command, "--batch-size", "5"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        ) as rotation:
            assert rotation.stderr is not None
            for line in rotation.stderr:
                progress = re.match(r"rewrapped (\d+) of ([\d,]+) data keys", line)
                if progress and int(progress[1]) >= 50:
                    done = int(progress[1])
                    rotation.send_signal(signal.SIGKILL)
                    break
            rotation.wait(timeout=60)
        assert rotation.returncode == -signal.SIGKILL, "the rotation ended before it was killed"

        fresh = create_app(app.config["SETTINGS"])  # the keys as the killed run left them
        try:
            assert _read_everyone(fresh) == numbers
            with fresh.app_context():
                split = keys_per_epoch()
            assert sum(split.values()) == len(numbers)
            assert done <= split[2] < len(numbers)
            code, output = _invoke(fresh, "rotate", "--batch-size", "50")
            assert code == 0, output
            assert "resuming the rotation to KEK epoch 2" in output
            with fresh.app_context():
                assert keys_per_epoch() == {2: len(numbers)}
            assert _read_everyone(fresh) == numbers
        finally:
            fresh.extensions["registry.db"].engine.dispose()
