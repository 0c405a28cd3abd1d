"""Per-study participant pseudonyms.

A pseudonym is a keyed hash of (study, participant): stable within a study, so a research
export can be re-joined, and unlinkable across studies without the key, so two studies'
exports cannot be matched on it.
"""

from __future__ import annotations

from collections.abc import Callable

from registry.crypto.blind_index import hmac_sha256
from registry.crypto.fields import length_prefixed

PREFIX = "S-"
# Crockford base32: no I, L, O or U, so pseudonyms survive being read aloud or retyped.
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CHARS = 16  # 16 x 5 = 80 bits: no birthday collision expected below ~10**12 participants
MIN_KEY_BYTES = 32


def study_pseudonym(
    key: bytes | Callable[[bytes], bytes], study_id: str, participant_id: str
) -> str:
    """The participant's pseudonym in ``study_id``, e.g. ``S-7K3M0QX2V9HDBN4R``; ``key`` is
    the key or the key provider's HMAC under it (``crypto.mac_for``)."""
    message = length_prefixed(
        b"study-pseudonym", study_id.encode("utf-8"), participant_id.encode("utf-8")
    )
    digest = hmac_sha256(key, message, what="pseudonym")
    value = int.from_bytes(digest[: _CHARS * 5 // 8], "big")
    chars = [_ALPHABET[(value >> shift) & 31] for shift in range(5 * (_CHARS - 1), -1, -5)]
    return PREFIX + "".join(chars)
