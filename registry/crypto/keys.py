"""Key hierarchy: the ``KeyProvider`` interface and the local keyring file behind it.

- Key-encryption keys (KEKs) come in numbered epochs; data keys are wrapped under the
  current one and name their epoch, so unwrapping picks exactly one key.
- A root secret, never rotated, from which HKDF derives named subkeys (audit MAC, blind
  index, pseudonyms, TOTP secrets). Rotating it would break the audit chain and every
  blind index, so it is deliberately separate from the KEKs.

Two providers stand behind the same interface: this local one (AES-256-GCM wrapping, an
atomic 0600 file, epochs that can be destroyed) and ``crypto.pkcs11`` (the same keys held as
non-extractable objects in a hardware security module). Callers never see a KEK or a root
subkey: they ask the provider to wrap, unwrap, MAC (``mac``) or seal (``aead``) for them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
import stat
import struct
import tempfile
from pathlib import Path
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEYRING_FORMAT = "mhmtc-keyring/1"
WRAP_FORMAT_VERSION = 1
_WRAP_HEADER = struct.Struct(">BI")  # format version, KEK epoch
_NONCE_BYTES = 12


# The named keys derived from the root secret (HKDF info "mhmtc-registry/<purpose>"). An HSM
# holds each as a token key of its own, so the list is closed: a new purpose is added here.
AUDIT_MAC_PURPOSE = "audit-mac"
AUDIT_ANCHOR_PURPOSE = "audit-anchor"
BLIND_INDEX_PURPOSE = "blind-index/nhs_number/v1"
PSEUDONYM_PURPOSE = "pseudonym/study/v1"
DATE_SHIFT_PURPOSE = "export/date-shift/v1"
TOTP_SECRET_PURPOSE = "totp-secret"  # noqa: S105 (a key's name, not a secret)
# HMAC-SHA-256 keys (``mac``) and AES-256-GCM keys (``aead``).
MAC_PURPOSES = (
    AUDIT_MAC_PURPOSE,
    AUDIT_ANCHOR_PURPOSE,
    BLIND_INDEX_PURPOSE,
    PSEUDONYM_PURPOSE,
    DATE_SHIFT_PURPOSE,
)
# A new password or API token held sealed for the one page that shows it.
ONE_TIME_SECRET_PURPOSE = "one-time-secret"  # noqa: S105 (a key's name, not a secret)
AEAD_PURPOSES = (TOTP_SECRET_PURPOSE, ONE_TIME_SECRET_PURPOSE)


class KeyringError(Exception):
    """The keyring is missing, unreadable, unsafe, or lacks the key asked for."""


class Aead(Protocol):
    """AES-256-GCM under a key the caller never holds (``cryptography``'s AESGCM shape)."""

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes: ...


class KeyProvider(Protocol):
    def describe(self) -> str: ...

    def current_epoch(self) -> int: ...

    def epochs(self) -> list[int]: ...

    def destroyed_epochs(self) -> list[int]: ...

    def add_epoch(self) -> int: ...

    def wrap(self, key: bytes, *, associated_data: bytes) -> bytes: ...

    def unwrap(self, blob: bytes, *, associated_data: bytes) -> bytes: ...

    def destroy_epoch(self, epoch: int) -> None: ...

    def mac(self, purpose: str, data: bytes) -> bytes:
        """HMAC-SHA-256 of ``data`` under the purpose's key."""
        ...

    def aead(self, purpose: str) -> Aead:
        """AES-256-GCM under the purpose's key (TOTP secrets)."""
        ...


def wrapped_epoch(blob: bytes) -> int:
    """The KEK epoch a wrapped key names in its header."""
    if len(blob) < _WRAP_HEADER.size + _NONCE_BYTES + 16:
        raise KeyringError("wrapped key is truncated")
    version, epoch = _WRAP_HEADER.unpack_from(blob)
    if version != WRAP_FORMAT_VERSION:
        raise KeyringError(f"unknown wrapped-key format version {version}")
    return int(epoch)


class LocalKeyring:
    """A keyring kept in one JSON file, readable by its owner only."""

    def __init__(self, path: Path, document: dict[str, Any]) -> None:
        self.path = path
        self._root = _b64decode(document["root_secret"])
        self._current = int(document["current_epoch"])
        self._keks = {int(n): _b64decode(k) for n, k in document["epochs"].items()}
        self._destroyed = sorted(int(n) for n in document.get("destroyed_epochs", []))
        self._subkeys: dict[tuple[str, int], bytes] = {}

    # -- loading and saving -------------------------------------------------------------

    @classmethod
    def create(cls, path: Path) -> LocalKeyring:
        """Make a new keyring file; never overwrites an existing one."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        document = {
            "format": KEYRING_FORMAT,
            "root_secret": _b64encode(secrets.token_bytes(32)),
            "current_epoch": 1,
            "epochs": {"1": _b64encode(AESGCM.generate_key(bit_length=256))},
            "destroyed_epochs": [],
        }
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(document, fh)
        return cls(path, document)

    @classmethod
    def load(cls, path: Path, *, require_private: bool = True) -> LocalKeyring:
        try:
            mode = path.stat().st_mode
            raw = path.read_text()
        except OSError as exc:
            raise KeyringError(f"cannot read keyring {path}: {exc.strerror}") from None
        if require_private and mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyringError(f"keyring {path} is readable by others; chmod 600 it")
        try:
            document = json.loads(raw)
        except json.JSONDecodeError:
            raise KeyringError(f"keyring {path} is not valid JSON") from None
        if document.get("format") != KEYRING_FORMAT:
            raise KeyringError(f"keyring {path} has an unknown format")
        return cls(path, document)

    def _save(self) -> None:
        document = {
            "format": KEYRING_FORMAT,
            "root_secret": _b64encode(self._root),
            "current_epoch": self._current,
            "epochs": {str(n): _b64encode(k) for n, k in sorted(self._keks.items())},
            "destroyed_epochs": self._destroyed,
        }
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".keyring-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as fh:
                json.dump(document, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    # -- the KeyProvider interface ------------------------------------------------------

    def describe(self) -> str:
        return f"keyring file {self.path}"

    def current_epoch(self) -> int:
        return self._current

    def epochs(self) -> list[int]:
        return sorted(self._keks)

    def destroyed_epochs(self) -> list[int]:
        return list(self._destroyed)

    def wrap(self, key: bytes, *, associated_data: bytes) -> bytes:
        header = _WRAP_HEADER.pack(WRAP_FORMAT_VERSION, self._current)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = AESGCM(self._keks[self._current]).encrypt(nonce, key, header + associated_data)
        return header + nonce + sealed

    def unwrap(self, blob: bytes, *, associated_data: bytes) -> bytes:
        epoch = wrapped_epoch(blob)
        kek = self._keks.get(epoch)
        if kek is None:
            state = "destroyed" if epoch in self._destroyed else "not in this keyring"
            raise KeyringError(f"KEK epoch {epoch} is {state}")
        header = blob[: _WRAP_HEADER.size]
        nonce = blob[_WRAP_HEADER.size : _WRAP_HEADER.size + _NONCE_BYTES]
        try:
            return AESGCM(kek).decrypt(
                nonce, blob[_WRAP_HEADER.size + _NONCE_BYTES :], header + associated_data
            )
        except InvalidTag:
            raise KeyringError("wrapped key failed authentication") from None

    def add_epoch(self) -> int:
        """Add a KEK epoch and make it current; older epochs stay for unwrapping."""
        new_epoch = max([*self._keks, *self._destroyed]) + 1
        self._keks[new_epoch] = AESGCM.generate_key(bit_length=256)
        self._current = new_epoch
        self._save()
        return new_epoch

    def destroy_epoch(self, epoch: int) -> None:
        if epoch == self._current:
            raise KeyringError("the current KEK epoch cannot be destroyed")
        if epoch not in self._keks:
            raise KeyringError(f"KEK epoch {epoch} is not in this keyring")
        del self._keks[epoch]
        self._destroyed = sorted({*self._destroyed, epoch})
        self._save()

    def kek_material(self) -> list[tuple[int, bytes]]:
        """(epoch, KEK) held: only for moving the keyring into an HSM."""
        return sorted(self._keks.items())

    def mac(self, purpose: str, data: bytes) -> bytes:
        return hmac.digest(self.subkey(purpose), data, hashlib.sha256)

    def aead(self, purpose: str) -> Aead:
        return AESGCM(self.subkey(purpose))

    def subkey(self, purpose: str, length: int = 32) -> bytes:
        """A key derived from the root secret: only for ``mac``, ``aead`` and moving the
        keyring into an HSM (``registry keys migrate``); callers use the provider's methods."""
        cached = self._subkeys.get((purpose, length))
        if cached is None:
            cached = HKDF(
                algorithm=hashes.SHA256(),
                length=length,
                salt=None,
                info=b"mhmtc-registry/" + purpose.encode(),
            ).derive(self._root)
            self._subkeys[(purpose, length)] = cached
        return cached

    def __repr__(self) -> str:  # never show key material
        return f"<LocalKeyring {self.path} epochs={self.epochs()} current={self._current}>"


def _b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.b64decode(text.encode("ascii"), validate=True)


def default_keyring_path() -> Path:
    """Where the quick start keeps its keyring: outside the checkout, in the user's config."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "mhmtc-registry" / "keyring.json"


def open_keyring(path: Path, *, create_if_missing: bool) -> tuple[LocalKeyring, bool]:
    """Load the keyring, or (development only) create it. Returns (keyring, created)."""
    if path.exists():
        return LocalKeyring.load(path), False
    if not create_if_missing:
        raise KeyringError(f"keyring {path} does not exist")
    return LocalKeyring.create(path), True
