"""Tests for per-study pseudonyms."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pytest

from registry.crypto.fields import length_prefixed
from registry.crypto.pseudonyms import study_pseudonym

KEY = hashlib.sha256(b"test pseudonym key").digest()
OTHER_KEY = hashlib.sha256(b"another pseudonym key").digest()
PSEUDONYM = re.compile(r"S-[0-9A-HJKMNP-TV-Z]{16}")  # Crockford base32, no I L O U


def test_study_pseudonym_same_study_and_participant_is_stable() -> None:
    first = study_pseudonym(KEY, "EPIC-2025", "P-000001")

    second = study_pseudonym(KEY, "EPIC-2025", "P-000001")

    assert first == second


def test_study_pseudonym_has_prefix_and_16_crockford_characters() -> None:
    pseudonym = study_pseudonym(KEY, "EPIC-2025", "P-000001")

    assert PSEUDONYM.fullmatch(pseudonym)


def test_study_pseudonym_different_studies_differ() -> None:
    in_first = study_pseudonym(KEY, "EPIC-2025", "P-000001")

    in_second = study_pseudonym(KEY, "TRD-STAR", "P-000001")

    assert in_first != in_second


def test_study_pseudonym_is_not_the_participant_id() -> None:
    participant_id = "P-000001"

    pseudonym = study_pseudonym(KEY, "EPIC-2025", participant_id)

    assert pseudonym != participant_id
    assert participant_id not in pseudonym
    assert "000001" not in pseudonym


def test_study_pseudonym_different_keys_differ() -> None:
    assert study_pseudonym(KEY, "EPIC-2025", "P-1") != study_pseudonym(
        OTHER_KEY, "EPIC-2025", "P-1"
    )


def test_study_pseudonym_study_participant_split_is_unambiguous() -> None:
    assert study_pseudonym(KEY, "ab", "c") != study_pseudonym(KEY, "a", "bc")


def test_study_pseudonym_10000_participants_in_one_study_are_distinct() -> None:
    pseudonyms = {study_pseudonym(KEY, "EPIC-2025", f"P-{n:06d}") for n in range(10_000)}

    assert len(pseudonyms) == 10_000
    assert all(PSEUDONYM.fullmatch(p) for p in pseudonyms)


def test_study_pseudonym_matches_independent_computation() -> None:
    # Standard base32 of the first 80 HMAC bits, re-spelt in the Crockford alphabet.
    message = length_prefixed(b"study-pseudonym", b"EPIC-2025", b"P-000001")
    digest = hmac.new(KEY, message, hashlib.sha256).digest()
    rfc4648 = base64.b32encode(digest[:10]).decode("ascii")
    crockford = rfc4648.translate(
        str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", "0123456789ABCDEFGHJKMNPQRSTVWXYZ")
    )

    assert study_pseudonym(KEY, "EPIC-2025", "P-000001") == "S-" + crockford


def test_study_pseudonym_short_key_raises_value_error() -> None:
    with pytest.raises(ValueError, match="key"):
        study_pseudonym(b"short", "EPIC-2025", "P-000001")
