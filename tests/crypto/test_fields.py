"""Adversarial tests for the sealed-field format and data-key wrapping."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registry.crypto.errors import (
    CryptoError,
    DecryptionFailed,
    MalformedCiphertext,
    UnknownAlgorithm,
    UnknownFormatVersion,
)
from registry.crypto.fields import (
    HEADER_BYTES,
    MIN_FIELD_BYTES,
    NONCE_BYTES,
    TAG_BYTES,
    FieldContext,
    dek_version_of,
    length_prefixed,
    new_dek,
    open_field,
    open_text,
    seal_field,
)

DEK = bytes(range(32))
OTHER_DEK = bytes(range(32, 64))
SECRET = "Zoë Ó'Brien-Ñúñez 李"
ALICE = FieldContext("participants", "family_name", "P-000001")
BOB = FieldContext("participants", "family_name", "P-000002")

# Header offsets: version, algorithm, dek_version (4 bytes), nonce length.
VERSION_AT, ALGORITHM_AT, DEK_VERSION_AT, NONCE_LENGTH_AT = 0, 1, 2, 6


def flipped(blob: bytes, offset: int, mask: int = 0x01) -> bytes:
    return blob[:offset] + bytes([blob[offset] ^ mask]) + blob[offset + 1 :]


def replaced(blob: bytes, offset: int, value: int) -> bytes:
    return blob[:offset] + bytes([value]) + blob[offset + 1 :]


def assert_leaks_nothing(exc: BaseException, *secrets: bytes | str) -> None:
    """Neither str(), repr() nor args of ``exc`` contain any of ``secrets``, in any spelling."""
    shown = [str(exc), repr(exc), *(repr(arg) for arg in exc.args)]
    for secret in secrets:
        raw = secret.encode("utf-8") if isinstance(secret, str) else secret
        spellings = {raw.hex(), raw.hex().upper(), repr(raw)[2:-1]}
        if isinstance(secret, str):
            spellings.add(secret)
        for text in shown:
            for spelling in spellings:
                assert spelling not in text, f"exception text leaks {spelling!r}"
    for arg in exc.args:
        assert not isinstance(arg, bytes | bytearray | memoryview)


# -- round trips and format -----------------------------------------------------------------


@pytest.mark.parametrize(
    "plaintext",
    ["", "Smith*", "a\x00b", SECRET, "x" * 65536, "é" * 32768],
    ids=["empty", "wildcard", "nul", "unicode", "64KiB-ascii", "64KiB-two-byte"],
)
def test_open_text_valid_ciphertext_round_trips(plaintext: str) -> None:
    blob = seal_field(DEK, plaintext, context=ALICE)

    opened = open_text(DEK, blob, context=ALICE)

    assert opened == plaintext


def test_open_field_bytes_plaintext_round_trips_exactly() -> None:
    plaintext = bytes(range(256)) * 256  # 64 KiB, every byte value

    opened = open_field(DEK, seal_field(DEK, plaintext, context=ALICE), context=ALICE)

    assert opened == plaintext


def test_seal_field_header_layout_matches_spec() -> None:
    blob = seal_field(DEK, "Smith", context=ALICE, dek_version=0x01020304)

    assert blob[:HEADER_BYTES] == bytes([1, 1, 1, 2, 3, 4, 12])
    assert len(blob) == HEADER_BYTES + NONCE_BYTES + len("Smith") + TAG_BYTES
    assert MIN_FIELD_BYTES == 35


def test_seal_field_output_opens_with_bare_aesgcm_and_spec_associated_data() -> None:
    # Conformance with the documented format, independent of the module's own parser.
    blob = seal_field(DEK, SECRET, context=ALICE, dek_version=9)
    header, nonce = blob[:7], blob[7:19]
    aad = length_prefixed(header, b"participants", b"family_name", b"P-000001")

    assert AESGCM(DEK).decrypt(nonce, blob[19:], aad) == SECRET.encode()


def test_open_field_hand_built_spec_blob_opens() -> None:
    header = bytes([1, 1, 0, 0, 0, 5, 12])
    nonce = bytes(range(12))
    aad = length_prefixed(header, b"participants", b"family_name", b"P-000001")
    blob = header + nonce + AESGCM(DEK).encrypt(nonce, b"Smith", aad)

    assert open_text(DEK, blob, context=ALICE) == "Smith"
    assert dek_version_of(blob) == 5


@pytest.mark.parametrize("dek_version", [0, 1, 2, 0xFFFF_FFFF])
def test_dek_version_of_sealed_field_returns_its_version(dek_version: int) -> None:
    blob = seal_field(DEK, "Smith", context=ALICE, dek_version=dek_version)

    assert dek_version_of(blob) == dek_version


def test_seal_field_10000_encryptions_of_one_value_all_distinct() -> None:
    blobs = [seal_field(DEK, "9990123454", context=ALICE) for _ in range(10_000)]

    nonces = {blob[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES] for blob in blobs}
    assert len(set(blobs)) == 10_000
    assert len(nonces) == 10_000


def test_seal_field_ciphertext_does_not_contain_plaintext() -> None:
    plaintext = "A" * 64

    blob = seal_field(DEK, plaintext, context=ALICE)

    assert b"AAAAAAAA" not in blob


@pytest.mark.parametrize("dek_version", [-1, 2**32, True])
def test_seal_field_out_of_range_dek_version_raises_value_error(dek_version: int) -> None:
    with pytest.raises(ValueError, match="dek_version"):
        seal_field(DEK, "x", context=ALICE, dek_version=dek_version)


@pytest.mark.parametrize("key_length", [0, 16, 24, 31, 33])
def test_seal_and_open_non_256_bit_key_raises_value_error(key_length: int) -> None:
    blob = seal_field(DEK, "x", context=ALICE)

    with pytest.raises(ValueError, match="32 bytes"):
        seal_field(bytes(key_length), "x", context=ALICE)
    with pytest.raises(ValueError, match="32 bytes"):
        open_field(bytes(key_length), blob, context=ALICE)


def test_field_context_is_immutable() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ALICE.participant_id = "P-000002"  # type: ignore[misc]


# -- moved ciphertexts and wrong keys -------------------------------------------------------


@pytest.mark.parametrize(
    "opened_as",
    [
        BOB,
        FieldContext("participants", "given_name", "P-000001"),
        FieldContext("contacts", "family_name", "P-000001"),
    ],
    ids=["other-participant", "other-column", "other-table"],
)
def test_open_field_ciphertext_moved_to_other_context_raises_decryption_failed(
    opened_as: FieldContext,
) -> None:
    blob = seal_field(DEK, SECRET, context=ALICE)

    with pytest.raises(DecryptionFailed) as caught:
        open_field(DEK, blob, context=opened_as)

    assert_leaks_nothing(caught.value, SECRET, DEK, blob)


def test_open_field_swapped_between_participants_fails_both_ways() -> None:
    alice_blob = seal_field(DEK, "Smith", context=ALICE)
    bob_blob = seal_field(DEK, "Jones", context=BOB)

    with pytest.raises(DecryptionFailed):
        open_field(DEK, bob_blob, context=ALICE)
    with pytest.raises(DecryptionFailed):
        open_field(DEK, alice_blob, context=BOB)


def test_open_field_wrong_key_raises_decryption_failed() -> None:
    blob = seal_field(DEK, SECRET, context=ALICE)

    with pytest.raises(DecryptionFailed) as caught:
        open_field(OTHER_DEK, blob, context=ALICE)

    assert_leaks_nothing(caught.value, SECRET, DEK, OTHER_DEK, blob)


def test_decryption_failed_message_names_table_and_column_only() -> None:
    blob = seal_field(DEK, SECRET, context=ALICE)

    with pytest.raises(DecryptionFailed) as caught:
        open_field(DEK, blob, context=BOB)

    assert str(caught.value) == (
        "field ciphertext failed authentication (table participants, column family_name)"
    )
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize(
    ("sealed_as", "opened_as"),
    [
        (FieldContext("ab", "c", "P-1"), FieldContext("a", "bc", "P-1")),
        (FieldContext("t", "ab", "c"), FieldContext("t", "a", "bc")),
        (FieldContext("t", "c", "P-1"), FieldContext("tc", "", "P-1")),
    ],
    ids=["table|column", "column|participant", "empty-part"],
)
def test_open_field_context_split_differently_raises_decryption_failed(
    sealed_as: FieldContext, opened_as: FieldContext
) -> None:
    blob = seal_field(DEK, SECRET, context=sealed_as)

    with pytest.raises(DecryptionFailed):
        open_field(DEK, blob, context=opened_as)


def test_length_prefixed_different_splits_differ() -> None:
    assert length_prefixed(b"ab", b"c") != length_prefixed(b"a", b"bc")


def test_length_prefixed_encoding_is_four_byte_big_endian_length_then_bytes() -> None:
    encoded = length_prefixed(b"ab", b"", b"\x00")

    assert encoded == b"\x00\x00\x00\x02ab" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x01\x00"


def test_length_prefixed_every_split_of_a_string_is_distinct() -> None:
    text = b"abcab"
    # Every way to cut ``text`` into 1..4 (possibly empty) consecutive parts.
    encodings: dict[bytes, tuple[bytes, ...]] = {}
    for cuts in range(4):
        for points in itertools.combinations_with_replacement(range(len(text) + 1), cuts):
            bounds = [0, *points, len(text)]
            parts = tuple(text[a:b] for a, b in itertools.pairwise(bounds))
            encoded = length_prefixed(*parts)

            assert encodings.setdefault(encoded, parts) == parts


# -- header tampering -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "value", "expected"),
    [
        (VERSION_AT, 0, UnknownFormatVersion),
        (VERSION_AT, 2, UnknownFormatVersion),
        (VERSION_AT, 255, UnknownFormatVersion),
        (ALGORITHM_AT, 0, UnknownAlgorithm),
        (ALGORITHM_AT, 2, UnknownAlgorithm),
        (DEK_VERSION_AT, 1, DecryptionFailed),
        (DEK_VERSION_AT + 1, 1, DecryptionFailed),
        (DEK_VERSION_AT + 2, 1, DecryptionFailed),
        (DEK_VERSION_AT + 3, 2, DecryptionFailed),
        (NONCE_LENGTH_AT, 8, MalformedCiphertext),
        (NONCE_LENGTH_AT, 16, MalformedCiphertext),
        (NONCE_LENGTH_AT, 0, MalformedCiphertext),
    ],
)
def test_open_field_changed_header_byte_raises_specific_error(
    offset: int, value: int, expected: type[CryptoError]
) -> None:
    blob = seal_field(DEK, SECRET, context=ALICE, dek_version=1)
    tampered = replaced(blob, offset, value)

    with pytest.raises(expected) as caught:
        open_field(DEK, tampered, context=ALICE)

    assert type(caught.value) is expected
    assert_leaks_nothing(caught.value, SECRET, DEK, blob, tampered)


def test_dek_version_of_relabelled_version_is_read_but_does_not_open() -> None:
    # Re-labelling steers key choice but, as the header is authenticated, never decrypts.
    blob = seal_field(DEK, SECRET, context=ALICE, dek_version=1)
    relabelled = replaced(blob, DEK_VERSION_AT + 3, 2)

    assert dek_version_of(relabelled) == 2
    with pytest.raises(DecryptionFailed):
        open_field(DEK, relabelled, context=ALICE)


@pytest.mark.parametrize("nonce_length", [8, 16])
def test_open_field_declared_nonce_length_not_12_raises_malformed(nonce_length: int) -> None:
    # A self-consistent blob that really carries a nonce of the declared length.
    blob = seal_field(DEK, SECRET, context=ALICE)
    body = blob[HEADER_BYTES + NONCE_BYTES :]
    forged = blob[:NONCE_LENGTH_AT] + bytes([nonce_length]) + bytes(nonce_length) + body

    with pytest.raises(MalformedCiphertext, match="nonce must be 12 bytes"):
        open_field(DEK, forged, context=ALICE)
    with pytest.raises(MalformedCiphertext, match="nonce must be 12 bytes"):
        dek_version_of(forged)


def test_dek_version_of_unknown_format_version_raises_unknown_format_version() -> None:
    blob = replaced(seal_field(DEK, "x", context=ALICE), VERSION_AT, 2)

    with pytest.raises(UnknownFormatVersion, match="format version 2"):
        dek_version_of(blob)


def test_dek_version_of_unknown_algorithm_raises_unknown_algorithm() -> None:
    blob = replaced(seal_field(DEK, "x", context=ALICE), ALGORITHM_AT, 7)

    with pytest.raises(UnknownAlgorithm, match="algorithm 7"):
        dek_version_of(blob)


# -- bit flips and truncation ---------------------------------------------------------------


def test_open_field_bit_flip_at_every_offset_never_returns_plaintext() -> None:
    blob = seal_field(DEK, "Smith", context=ALICE)
    failures: list[tuple[int, int]] = []

    for offset in range(len(blob)):
        for bit in range(8):
            tampered = flipped(blob, offset, 1 << bit)
            try:
                open_field(DEK, tampered, context=ALICE)
            except CryptoError as exc:
                assert_leaks_nothing(exc, "Smith", DEK, blob, tampered)
            else:
                failures.append((offset, bit))

    assert failures == []


@pytest.mark.parametrize(
    ("offset", "expected"),
    [
        (VERSION_AT, UnknownFormatVersion),
        (ALGORITHM_AT, UnknownAlgorithm),
        (DEK_VERSION_AT + 3, DecryptionFailed),
        (NONCE_LENGTH_AT, MalformedCiphertext),
        (HEADER_BYTES, DecryptionFailed),  # nonce
        (HEADER_BYTES + NONCE_BYTES, DecryptionFailed),  # ciphertext
        (-1, DecryptionFailed),  # tag
    ],
    ids=["version", "algorithm", "dek_version", "nonce_length", "nonce", "ciphertext", "tag"],
)
def test_open_field_bit_flip_in_each_region_raises_specific_error(
    offset: int, expected: type[CryptoError]
) -> None:
    blob = seal_field(DEK, "Smith", context=ALICE)

    with pytest.raises(expected):
        open_field(DEK, flipped(blob, offset % len(blob)), context=ALICE)


def test_open_field_every_truncation_of_sealed_empty_string_raises_malformed() -> None:
    blob = seal_field(DEK, "", context=ALICE)
    assert len(blob) == MIN_FIELD_BYTES

    for length in range(len(blob)):
        with pytest.raises(MalformedCiphertext):
            open_field(DEK, blob[:length], context=ALICE)
        with pytest.raises(MalformedCiphertext):
            dek_version_of(blob[:length])


def test_open_field_every_truncation_raises_malformed_or_decryption_failed() -> None:
    # Without a length field, a cut that keeps header + nonce + 16 bytes is structurally
    # valid; authentication is then what rejects it.
    blob = seal_field(DEK, SECRET, context=ALICE)

    for length in range(len(blob)):
        expected = MalformedCiphertext if length < MIN_FIELD_BYTES else DecryptionFailed
        with pytest.raises(expected) as caught:
            open_field(DEK, blob[:length], context=ALICE)
        assert type(caught.value) is expected
        assert_leaks_nothing(caught.value, SECRET, DEK, blob)


def test_open_field_empty_bytes_raises_malformed() -> None:
    with pytest.raises(MalformedCiphertext, match="empty"):
        open_field(DEK, b"", context=ALICE)


def test_open_field_appended_byte_raises_decryption_failed() -> None:
    blob = seal_field(DEK, SECRET, context=ALICE)

    with pytest.raises(DecryptionFailed):
        open_field(DEK, blob + b"\x00", context=ALICE)


# -- plaintext never escapes ----------------------------------------------------------------


def test_open_text_authentic_non_utf8_raises_malformed_without_plaintext() -> None:
    plaintext = b"Smith\xff\xfe-secret"
    blob = seal_field(DEK, plaintext, context=ALICE)

    with pytest.raises(MalformedCiphertext, match="not UTF-8") as caught:
        open_text(DEK, blob, context=ALICE)

    assert_leaks_nothing(caught.value, plaintext, b"secret", DEK, blob)
    assert caught.value.__context__ is None  # the codec error held the plaintext


def test_seal_field_lone_surrogate_raises_value_error_without_plaintext() -> None:
    plaintext = "Smith\ud800secret"

    with pytest.raises(ValueError, match="UTF-8") as caught:
        seal_field(DEK, plaintext, context=ALICE)

    assert_leaks_nothing(caught.value, "Smith", "secret")
    assert caught.value.__context__ is None


def test_new_dek_returns_distinct_256_bit_keys() -> None:
    keys = {new_dek() for _ in range(1000)}

    assert len(keys) == 1000
    assert {len(key) for key in keys} == {32}
