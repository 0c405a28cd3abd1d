"""The data-key cache drops everything when the shred generation moves."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from registry.participants import dek_cache

KEY = b"k" * 32


@pytest.fixture(autouse=True)
def _empty() -> Iterator[None]:
    dek_cache.clear()
    yield
    dek_cache.clear()


def test_key_is_served_at_the_generation_it_was_cached_under() -> None:
    dek_cache.put("P-1", 1, KEY, generation=4)

    assert dek_cache.get("P-1", 1, generation=4) == KEY


def test_newer_generation_drops_every_key_before_answering() -> None:
    dek_cache.put("P-1", 1, KEY, generation=4)
    dek_cache.put("P-2", 1, KEY, generation=4)

    assert dek_cache.get("P-2", 1, generation=5) is None
    assert not dek_cache.holds("P-1")
    assert dek_cache.size() == 0


def test_read_from_an_older_generation_is_neither_served_nor_cached() -> None:
    dek_cache.put("P-1", 1, KEY, generation=5)

    assert dek_cache.get("P-1", 1, generation=4) is None
    dek_cache.put("P-2", 1, KEY, generation=4)
    assert not dek_cache.holds("P-2")
