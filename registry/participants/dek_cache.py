"""A small in-process cache of unwrapped data keys.

Unwrapping goes to the key provider (a network round trip with a managed KMS); a list page
reads many participants. Entries live at most ``TTL_SECONDS`` and shredding drops the
participant's entries at once, so a shredded key does not outlive its row in this process.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

MAX_ENTRIES = 1024
TTL_SECONDS = 60.0

_lock = threading.Lock()
_entries: OrderedDict[tuple[str, int], tuple[float, bytes]] = OrderedDict()


def get(participant_id: str, dek_version: int) -> bytes | None:
    key = (participant_id, dek_version)
    with _lock:
        entry = _entries.get(key)
        if entry is None:
            return None
        expires, dek = entry
        if expires <= time.monotonic():
            del _entries[key]
            return None
        _entries.move_to_end(key)
        return dek


def put(participant_id: str, dek_version: int, dek: bytes) -> None:
    with _lock:
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
    """Drop everything (after a KEK epoch is destroyed, and between tests)."""
    with _lock:
        _entries.clear()


def size() -> int:
    with _lock:
        return len(_entries)
