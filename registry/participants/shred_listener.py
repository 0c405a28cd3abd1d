"""Every worker process forgets a shredded participant's data key the moment the shred
commits: a thread per process LISTENs on PostgreSQL for the notification the shred sends.

This empties memory promptly; it is not what makes shredding correct. A lost notification
(the listening connection dropped, the process paused) is covered by the generation check
in ``dek_cache``: no process serves a key once a shred has committed. SQLite deployments run
one process, whose own cache the shred empties directly.
"""

from __future__ import annotations

import logging
import os
import threading
import time

import psycopg
from sqlalchemy.engine import URL

from registry.participants import dek_cache

CHANNEL = "registry_dek_cache"
# A notification's payload: one participant's public id, or this for "every key".
EVERYTHING = "*"
# Give up after this many failed connections in a row (the database was dropped, say); the
# next read starts a new listener.
MAX_FAILURES = 5

log = logging.getLogger(__name__)
_lock = threading.Lock()
# (process id, database URL) -> set once that listener's LISTEN has taken effect
_listening: dict[tuple[int, str], threading.Event] = {}


def ensure_listening(url: URL) -> threading.Event:
    """Start this process's listener for the database at ``url``, once (cheap when started);
    the event is set once it listens."""
    key = (os.getpid(), url.render_as_string(hide_password=True))
    listening = _listening.get(key)
    if listening is not None:
        return listening
    with _lock:
        if key in _listening:
            return _listening[key]
        listening = _listening[key] = threading.Event()
    conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
    thread = threading.Thread(
        target=_listen, args=(conninfo, key, listening), name="dek-cache-listener", daemon=True
    )
    thread.start()
    return listening


def _listen(conninfo: str, key: tuple[int, str], listening: threading.Event) -> None:
    failures = 0
    try:
        while failures < MAX_FAILURES:
            try:
                with psycopg.connect(conninfo, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    listening.set()
                    failures = 0
                    for note in connection.notifies():
                        _apply(note.payload)
            except psycopg.errors.InvalidCatalogName:
                return  # the database is gone (dropped); nothing left to listen to
            except psycopg.Error as exc:
                listening.clear()
                failures += 1
                log.warning(
                    "data-key cache listener lost its connection (%s); retrying",
                    type(exc).__name__,
                )
                time.sleep(min(2**failures, 30) / 10)
    finally:
        with _lock:
            _listening.pop(key, None)


def _apply(payload: str) -> None:
    if payload == EVERYTHING:
        dek_cache.clear()
    else:
        dek_cache.forget(payload)
