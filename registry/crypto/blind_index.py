"""Truncated blind indexes (CipherSweet-style) for exact-match search on sealed fields.

A blind index is HMAC-SHA-256 of the canonical value, cut down to a few bits. Truncation is
the point: each index value is shared by a handful of registry rows, so the index narrows a
search to candidates (which are then decrypted and compared) without letting someone holding
the table link or confirm a value from the index alone.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable

MIN_KEY_BYTES = 32
MAX_BITS = 63  # stays non-negative in a PostgreSQL bigint (signed 64-bit)


def plan_index_bits(expected_population: int, *, min_bits: int = 8, max_bits: int = 32) -> int:
    """Choose the index width L for a registry of R = ``expected_population`` rows.

    CipherSweet's rule: the expected number of rows sharing one index value, R / 2**L,
    should satisfy ``2 <= R / 2**L <= sqrt(R)``. We take the largest such L (the most
    selective index that still guarantees collisions)::

        L = max{ L : R / 2**L >= 2 } = floor(log2(R / 2)) = R.bit_length() - 2

    which gives 2 <= R / 2**L < 4 rows per value, within sqrt(R) for any R >= 16.
    The result is then clamped to [min_bits, max_bits]; a clamp takes precedence over the
    rule (for a tiny R, ``min_bits`` leaves fewer than 2 rows per value).

    Examples: R = 100,000 -> 15 bits (~3.1 rows per value); R = 1,000,000 -> 18 bits (~3.8).
    """
    if expected_population < 1:
        raise ValueError("expected_population must be at least 1")
    if not 1 <= min_bits <= max_bits <= MAX_BITS:
        raise ValueError(f"need 1 <= min_bits <= max_bits <= {MAX_BITS}")
    bits = expected_population.bit_length() - 2  # exact integer floor(log2(R / 2))
    return max(min_bits, min(max_bits, bits))


def blind_index(key: bytes | Callable[[bytes], bytes], canonical_value: str, *, bits: int) -> int:
    """HMAC-SHA-256(key, value) truncated to its top ``bits`` bits, as an int in [0, 2**bits).

    ``canonical_value`` must already be normalised (e.g. an NHS number as 10 digits, no
    spaces); the key must be dedicated to this one index. ``key`` is the key itself or the
    key provider's HMAC under it (``crypto.mac_for``), when an HSM keeps the key.
    """
    if not 1 <= bits <= MAX_BITS:
        raise ValueError(f"bits must be in 1..{MAX_BITS}")
    digest = hmac_sha256(key, canonical_value.encode("utf-8"), what="blind index")
    return int.from_bytes(digest[:8], "big") >> (64 - bits)


def hmac_sha256(key: bytes | Callable[[bytes], bytes], message: bytes, *, what: str) -> bytes:
    """HMAC-SHA-256 under a key given as bytes, or by the function that computes it."""
    if callable(key):
        return key(message)
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"{what} key must be at least {MIN_KEY_BYTES} bytes")
    return hmac.digest(key, message, hashlib.sha256)
