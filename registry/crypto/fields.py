"""Field-level encryption: the sealed-field format and data-key wrapping.

A sealed field is::

    format_version (1) || algorithm (1) || dek_version (4, big-endian) || nonce_length (1)
    || nonce (12) || ciphertext || tag (16)

AES-256-GCM with a fresh random 96-bit nonce per seal. The associated data binds the header
and the field's location (table, column, participant), so a ciphertext copied to another row
or column, or a header byte edited to steer key selection, fails authentication instead of
decrypting under the wrong label.

Each participant has their own data key (DEK), wrapped by the keyring (``crypto.keys``) under
a key-encryption key epoch, bound to the participant and DEK version.

Parsing is strict and each failure has its own exception (see ``errors``). There is
deliberately no "try every key" fallback: the header names the DEK version and the caller
fetches exactly that key.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registry.crypto.errors import (
    DecryptionFailed,
    MalformedCiphertext,
    UnknownAlgorithm,
    UnknownFormatVersion,
)
from registry.crypto.keys import Aead

FORMAT_VERSION = 1
ALGORITHM_AES_256_GCM = 1
KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_UINT32 = 0xFFFF_FFFF

_HEADER = struct.Struct(">BBIB")  # format version, algorithm, DEK version, nonce length
HEADER_BYTES = _HEADER.size
_U32 = struct.Struct(">I").pack
_U32_HEADER_BYTES = _U32(HEADER_BYTES)
MIN_FIELD_BYTES = HEADER_BYTES + NONCE_BYTES + TAG_BYTES  # sealed empty string


@dataclass(frozen=True, slots=True)
class FieldContext:
    """Where a sealed value lives; bound into its associated data."""

    table: str
    column: str
    participant_id: str


def length_prefixed(*parts: bytes) -> bytes:
    """Concatenate ``parts`` as ``len (4 bytes, big-endian) || bytes`` each.

    Unlike plain concatenation this is injective: ("ab", "c") and ("a", "bc") differ.
    """
    chunks: list[bytes] = []
    for part in parts:
        if len(part) > MAX_UINT32:
            raise ValueError("length_prefixed part is longer than 2**32 - 1 bytes")
        chunks.append(_U32(len(part)))
        chunks.append(part)
    return b"".join(chunks)


def new_dek() -> bytes:
    """A fresh random 256-bit data key."""
    return os.urandom(KEY_BYTES)


# -- sealed fields ---------------------------------------------------------------------------


class FieldCipher:
    """Seals and opens one participant's fields under one data key.

    Build it once per participant after unwrapping their DEK: constructing AESGCM costs
    about as much as sealing a short field, so a whole record pays for it once, not per field.
    """

    __slots__ = ("_aad", "_aead", "_header", "dek_version")

    def __init__(
        self, dek: bytes | None, *, dek_version: int = 1, aead: Aead | None = None
    ) -> None:
        """Under ``dek``, or (dek None) under ``aead``: a key provider's AES-256-GCM whose
        key the app never holds (``KeyProvider.aead``, for TOTP secrets)."""
        _check_uint32(dek_version, "dek_version")
        if aead is None:
            assert dek is not None, "FieldCipher needs a data key or an AEAD"
            _check_key(dek, "data key")
            aead = AESGCM(dek)
        self._aead: Aead = aead
        self.dek_version = dek_version
        self._header = _HEADER.pack(FORMAT_VERSION, ALGORITHM_AES_256_GCM, dek_version, NONCE_BYTES)
        # A participant has a handful of fields: remember each one's associated data.
        self._aad: dict[tuple[bytes, FieldContext], bytes] = {}

    def _associated_data(self, header: bytes, context: FieldContext) -> bytes:
        aad = self._aad.get((header, context))
        if aad is None:
            aad = self._aad[(header, context)] = _field_aad(header, context)
        return aad

    def seal(self, plaintext: str | bytes, *, context: FieldContext) -> bytes:
        if isinstance(plaintext, str):
            plaintext = _encode_text(plaintext)
        header = self._header
        nonce = os.urandom(NONCE_BYTES)
        aad = self._associated_data(header, context)
        return header + nonce + self._aead.encrypt(nonce, plaintext, aad)

    def open(self, blob: bytes, *, context: FieldContext) -> bytes:
        _parse_field(blob, context)
        header = blob[:HEADER_BYTES]
        nonce = blob[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
        try:
            return self._aead.decrypt(
                nonce, blob[HEADER_BYTES + NONCE_BYTES :], self._associated_data(header, context)
            )
        except InvalidTag:
            raise DecryptionFailed(
                f"field ciphertext failed authentication {_where(context)}"
            ) from None

    def open_text(self, blob: bytes, *, context: FieldContext) -> str:
        """``open`` for text columns: the plaintext decoded as UTF-8."""
        plaintext = self.open(blob, context=context)
        # Raised outside the ``except``: a codec error holds the whole plaintext in ``.object``
        # and would otherwise stay reachable as ``__context__`` of ours (and in tracebacks).
        text: str | None
        try:
            text = plaintext.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if text is None:
            raise MalformedCiphertext(f"field plaintext is not UTF-8 text {_where(context)}")
        return text

    def __repr__(self) -> str:  # never show key material
        return f"<FieldCipher dek_version={self.dek_version}>"


def seal_field(
    dek: bytes, plaintext: str | bytes, *, context: FieldContext, dek_version: int = 1
) -> bytes:
    """Encrypt one field value for ``context`` under ``dek`` (whose version is ``dek_version``)."""
    return FieldCipher(dek, dek_version=dek_version).seal(plaintext, context=context)


def open_field(dek: bytes, blob: bytes, *, context: FieldContext) -> bytes:
    """Decrypt a sealed field, checking it belongs to ``context``; returns the raw bytes."""
    return FieldCipher(dek).open(blob, context=context)


def open_text(dek: bytes, blob: bytes, *, context: FieldContext) -> str:
    """``open_field`` for text columns: the plaintext decoded as UTF-8."""
    return FieldCipher(dek).open_text(blob, context=context)


def dek_version_of(blob: bytes) -> int:
    """The DEK version a sealed field names, so the caller can fetch exactly that key.

    Checks the whole structure, raising the same specific errors ``open_field`` would.
    """
    _, dek_version = _parse_field(blob, None)
    return dek_version


def _parse_field(blob: bytes, context: FieldContext | None) -> tuple[int, int]:
    """Validate the structure of a sealed field; returns (algorithm, dek_version)."""
    size = len(blob)
    if size < HEADER_BYTES:
        problem = "is empty" if size == 0 else "is truncated inside its header"
        raise MalformedCiphertext(f"field ciphertext {problem}{_where(context, ' ')}")
    version, algorithm, dek_version, nonce_length = _HEADER.unpack_from(blob)
    if version != FORMAT_VERSION:
        raise UnknownFormatVersion(
            f"unknown field ciphertext format version {version}{_where(context, ' ')}"
        )
    if algorithm != ALGORITHM_AES_256_GCM:
        raise UnknownAlgorithm(
            f"unknown field ciphertext algorithm {algorithm}{_where(context, ' ')}"
        )
    if nonce_length != NONCE_BYTES:
        raise MalformedCiphertext(f"nonce must be 12 bytes{_where(context, ' ')}")
    if size < MIN_FIELD_BYTES:
        raise MalformedCiphertext(f"field ciphertext is too short{_where(context, ' ')}")
    return algorithm, dek_version


def _encode_text(text: str) -> bytes:
    # As in open_text, keep the codec error (which holds the plaintext) out of our exception.
    data: bytes | None
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        data = None
    if data is None:
        raise ValueError("field plaintext is not encodable as UTF-8 (lone surrogate?)")
    return data


def _field_aad(header: bytes, context: FieldContext) -> bytes:
    # length_prefixed(header, table, column, participant_id), unrolled: this is the hot path.
    table = context.table.encode("utf-8")
    column = context.column.encode("utf-8")
    participant = context.participant_id.encode("utf-8")
    return b"".join(
        (
            _U32_HEADER_BYTES,
            header,
            _U32(len(table)),
            table,
            _U32(len(column)),
            column,
            _U32(len(participant)),
            participant,
        )
    )


def _where(context: FieldContext | None, sep: str = "") -> str:
    # Table and column are schema names, safe to log; the participant id is left out.
    if context is None:
        return ""
    return f"{sep}(table {context.table}, column {context.column})"


def _check_key(key: bytes, name: str) -> None:
    # AESGCM would also accept 16- and 24-byte keys; the format promises AES-256.
    if len(key) != KEY_BYTES:
        raise ValueError(f"{name} must be {KEY_BYTES} bytes")


def _check_uint32(value: int, name: str) -> None:
    if isinstance(value, bool) or not 0 <= value <= MAX_UINT32:
        raise ValueError(f"{name} must be an integer in 0..2**32-1")
