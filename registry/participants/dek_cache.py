"""A small in-process cache of unwrapped data keys, that a shred anywhere empties.

Unwrapping goes to the key provider (a network round trip with a managed KMS or an HSM); a
list page reads many participants. Entries live at most ``TTL_SECONDS``.

A full withdrawal must reach every worker process, not only the one that served it, so two
mechanisms stand behind each other:

- The shred bumps a generation counter in the database in its own transaction
  (``DekCacheGeneration``). Callers pass the generation they read in the current transaction
  to ``get`` and ``put``; a cache that sees a newer one drops every entry before answering.
  So no process serves a key after a shred has committed, even one whose notification was
  lost (the correctness guarantee).
- On PostgreSQL the shred also sends a notification (``pg_notify``, delivered at commit);
  every process listens (``registry.participants.shred_listener``) and forgets that
  participant's key at once, so it does not linger in an idle worker's memory either.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

MAX_ENTRIES = 1024
TTL_SECONDS = 60.0

_lock = threading.Lock()
_entries: OrderedDict[tuple[str, int], tuple[float, bytes]] = OrderedDict()
# The database generation the entries were cached under; None before the first read.
_generation: int | None = None


def _catch_up(generation: int) -> bool:
    """Under the lock: adopt a newer generation, dropping every entry; False when the
    caller's generation is older than what this cache has already seen (a stale read)."""
    global _generation
    if _generation is None or generation > _generation:
        _entries.clear()
        _generation = generation
        return True
    return generation == _generation


def get(participant_id: str, dek_version: int, *, generation: int) -> bytes | None:
    key = (participant_id, dek_version)
    with _lock:
        if not _catch_up(generation):
            return None
        entry = _entries.get(key)
        if entry is None:
            return None
        expires, dek = entry
        if expires <= time.monotonic():
            del _entries[key]
            return None
        _entries.move_to_end(key)
        return dek


def put(participant_id: str, dek_version: int, dek: bytes, *, generation: int) -> None:
    with _lock:
        if not _catch_up(generation):
            return
        _entries[(participant_id, dek_version)] = (time.monotonic() + TTL_SECONDS, dek)
        _entries.move_to_end((participant_id, dek_version))
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)


def forget(participant_id: str) -> None:
    """Drop every version of one participant's key."""
    with _lock:
        for key in [k for k in _entries if k[0] == participant_id]:
            del _entries[key]


def clear() -> None:
    """Drop everything (after a KEK epoch is destroyed, a missed notification, and between
    tests)."""
    global _generation
    with _lock:
        _entries.clear()
        _generation = None


def holds(participant_id: str) -> bool:
    """Whether any key of this participant is in memory (for the cross-process test)."""
    with _lock:
        return any(k[0] == participant_id for k in _entries)


def size() -> int:
    with _lock:
        return len(_entries)
