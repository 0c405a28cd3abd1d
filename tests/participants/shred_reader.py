"""A second registry process for tests/participants/test_shred_across_processes.py.

It reads one participant (so their data key is in this process's cache), says "ready",
waits for a line on stdin (the other process's withdrawal has returned), waits 1 ms, and
prints what it still holds. Listening: how many milliseconds the key stayed in memory, then
whether its cache serves it to a read in a new transaction. Deaf: whether the key is still
in memory 1 ms after the response, and whether the cache serves it then. Arguments:
database URL, keyring path, instance folder, participant id, "listen" or "deaf" (deaf: as
if every notification were lost), and the settings of the other process's SoftHSM2 token
as JSON (``{}`` with a keyring file).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from registry import create_app
from registry.audit.actions import Actor
from registry.db import database, session
from registry.participants import dek_cache, identity, shred_listener
from registry.participants.models import Participant, ParticipantKey
from tests import conftest
from tests.conftest import make_settings


def main(url: str, keyring: str, instance: str, participant_id: str, mode: str, keys: str) -> None:
    if keys != "{}":  # the keys are in the other process's SoftHSM2 token: use that one
        conftest._softhsm_tokens[Path(keyring)] = json.loads(keys)
    app = create_app(make_settings(url, Path(keyring), Path(instance)))
    with app.app_context():
        if mode == "listen":
            assert shred_listener.ensure_listening(database().engine.url).wait(timeout=10)
        else:
            _deafen()
        participant = (
            session()
            .scalars(select(Participant).where(Participant.participant_id == participant_id))
            .one()
        )
        key = session().get(ParticipantKey, participant.id)
        assert key is not None
        version = key.dek_version
        identity.read_identity(participant, by=Actor.command_line(), purpose="direct care")
        session().commit()
        assert dek_cache.holds(participant_id)
    print("ready", flush=True)
    sys.stdin.readline()
    told = time.perf_counter()
    time.sleep(0.001)
    answer: dict[str, object] = {}
    if mode == "listen":
        # How long the key stayed in memory with no read to empty it (the notification's
        # work), polled for up to 2 s.
        while dek_cache.holds(participant_id) and time.perf_counter() - told < 2:
            time.sleep(0.0002)
        forgotten = not dek_cache.holds(participant_id)
        answer["forgotten_ms"] = (
            round((time.perf_counter() - told) * 1000, 2) if forgotten else None
        )
    else:
        answer["in_memory"] = dek_cache.holds(participant_id)
    with app.app_context():
        generation = identity._cache_generation()
        answer["served"] = dek_cache.get(participant_id, version, generation=generation) is not None
    print(json.dumps(answer), flush=True)


def _deafen() -> None:
    """No listener in this process: only the generation check stands."""

    def never(url: object) -> threading.Event:
        return threading.Event()

    shred_listener.ensure_listening = never


if __name__ == "__main__":
    main(*sys.argv[1:7])
