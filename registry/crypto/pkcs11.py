"""The key provider for a hardware security module, over PKCS#11 (python-pkcs11).

The token holds, as sensitive, non-extractable secret keys:

- ``registry-kek-<epoch>``: one AES-256 KEK per epoch. Data keys are wrapped with
  CKM_AES_GCM inside the token, in exactly the file keyring's format (header naming the
  epoch, 12-byte nonce, ciphertext and tag, the header and the caller's associated data
  authenticated), so a KEK moved from a keyring file opens every data key it wrapped.
- ``registry-mac-<purpose>``: a generic secret per HMAC purpose (audit chain, anchors,
  blind index, pseudonyms, date shifts); CKM_SHA256_HMAC runs in the token.
- ``registry-aead-<purpose>``: an AES key per sealing purpose (TOTP secrets).

Epochs are numbered from 1 and never reused: the current one is the highest held, and any
lower number not held was destroyed. One session per process, opened on first use (again
in a forked worker), and a lock around every call, since a PKCS#11 session is not to be
used by two threads at once. The PIN comes from a file, never from the settings themselves.
"""

from __future__ import annotations

import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pkcs11
from cryptography.exceptions import InvalidTag
from pkcs11 import Attribute, GCMParams, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import NoSuchToken, PKCS11Error, UserAlreadyLoggedIn

from registry.crypto.keys import (
    _NONCE_BYTES,
    _WRAP_HEADER,
    AEAD_PURPOSES,
    MAC_PURPOSES,
    WRAP_FORMAT_VERSION,
    Aead,
    KeyringError,
    LocalKeyring,
    wrapped_epoch,
)

KEK_PREFIX = "registry-kek-"
MAC_PREFIX = "registry-mac-"
AEAD_PREFIX = "registry-aead-"
_TAG_BITS = 128
# Bumped whenever this process re-initialises a PKCS#11 library, which closes every session.
_generation = 0
T = TypeVar("T")

# Every key: secret, on the token, behind the PIN, never readable nor wrappable out of it.
_PROTECTED: dict[Attribute, Any] = {
    Attribute.TOKEN: True,
    Attribute.PRIVATE: True,
    Attribute.SENSITIVE: True,
    Attribute.EXTRACTABLE: False,
    Attribute.MODIFIABLE: False,
}
_AES_USE: dict[Attribute, Any] = {Attribute.ENCRYPT: True, Attribute.DECRYPT: True}
_MAC_USE: dict[Attribute, Any] = {Attribute.SIGN: True, Attribute.VERIFY: True}


def read_pin(pin_file: Path) -> str:
    try:
        return pin_file.read_text().strip()
    except OSError as exc:
        raise KeyringError(f"cannot read the PKCS#11 PIN file {pin_file}: {exc.strerror}") from None


class Pkcs11Provider:
    """Keys held in a PKCS#11 token; the ``KeyProvider`` interface."""

    def __init__(self, module: str, token_label: str, pin: str) -> None:
        self.module = module
        self.token_label = token_label
        self._pin = pin
        self._lock = threading.RLock()
        self._pid: int | None = None
        self._generation = -1
        self._session: Any = None
        self._keys: dict[str, Any] = {}
        self._epochs: list[int] = []

    @classmethod
    def open(
        cls, module: str, token_label: str, pin_file: Path, *, create_if_missing: bool
    ) -> tuple[Pkcs11Provider, bool]:
        """Log in to the token and check it holds the registry's keys; with
        ``create_if_missing`` (development and tests) an empty token gets new ones.
        Returns (provider, created)."""
        provider = cls(module, token_label, read_pin(pin_file))
        if provider.epochs():
            provider._check_purpose_keys()
            return provider, False
        if not create_if_missing:
            raise KeyringError(
                f"PKCS#11 token {token_label!r} holds no registry keys; move a keyring into it "
                "with `registry keys migrate --to pkcs11`"
            )
        provider._generate_all()
        return provider, True

    # -- the session ----------------------------------------------------------------------

    def _call(self, operation: Callable[[Any], T]) -> T:
        """Run one token operation on this process's session, under the lock."""
        with self._lock:
            if self._pid != os.getpid() or self._generation != _generation:
                self._connect()
            try:
                return operation(self._session)
            except PKCS11Error as exc:
                raise KeyringError(f"the PKCS#11 token refused: {type(exc).__name__}") from None

    def _connect(self) -> None:
        global _generation
        try:
            lib = pkcs11.lib(self.module)
            if self._pid is not None and self._pid != os.getpid():
                lib.reinitialize()  # a forked child: the parent's library state is not ours
                _generation += 1
            try:
                token = lib.get_token(token_label=self.token_label)
            except NoSuchToken:
                # Some modules (SoftHSM2) list only the tokens there were at C_Initialize:
                # look again once. That closes every session of the process, so each
                # provider reconnects when it sees the generation change.
                lib.reinitialize()
                _generation += 1
                token = lib.get_token(token_label=self.token_label)
            try:
                self._session = token.open(user_pin=self._pin, rw=True)
            except UserAlreadyLoggedIn:
                # Login is per process, not per session: another provider here (the
                # migration's, a second app's) logged in already; this session shares it.
                self._session = token.open(rw=True)
        except (PKCS11Error, RuntimeError) as exc:
            raise KeyringError(
                f"cannot open PKCS#11 token {self.token_label!r}: {type(exc).__name__}"
            ) from None
        self._pid = os.getpid()
        self._generation = _generation
        self._keys.clear()
        self._epochs = self._held_epochs(self._session)

    def _with_key(self, label: str, operation: Callable[[Any], T]) -> T:
        """Run ``operation`` on the token key labelled ``label`` (its handle kept for the
        session's life), in one locked call, so a reconnection cannot come in between."""

        def run(session: Any) -> T:
            key = self._keys.get(label)
            if key is None:
                found = list(
                    session.get_objects(
                        {Attribute.CLASS: ObjectClass.SECRET_KEY, Attribute.LABEL: label}
                    )
                )
                if len(found) != 1:
                    raise KeyringError(f"the PKCS#11 token holds no single key labelled {label}")
                key = self._keys[label] = found[0]
            return operation(key)

        return self._call(run)

    @staticmethod
    def _held_epochs(session: Any) -> list[int]:
        labels = (
            key.label for key in session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})
        )
        return sorted(
            int(label[len(KEK_PREFIX) :])
            for label in labels
            if label.startswith(KEK_PREFIX) and label[len(KEK_PREFIX) :].isdigit()
        )

    def _refresh_epochs(self) -> None:
        self._epochs = self._call(self._held_epochs)

    # -- the KeyProvider interface --------------------------------------------------------

    def describe(self) -> str:
        return f"PKCS#11 token {self.token_label!r} ({self.module})"

    def epochs(self) -> list[int]:
        self._call(lambda _session: None)  # connects on first use
        return list(self._epochs)

    def current_epoch(self) -> int:
        held = self.epochs()
        if not held:
            raise KeyringError(f"PKCS#11 token {self.token_label!r} holds no KEK")
        return held[-1]

    def destroyed_epochs(self) -> list[int]:
        held = self.epochs()
        return [n for n in range(1, held[-1]) if n not in held] if held else []

    def wrap(self, key: bytes, *, associated_data: bytes) -> bytes:
        epoch = self.current_epoch()
        header = _WRAP_HEADER.pack(WRAP_FORMAT_VERSION, epoch)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._with_key(
            f"{KEK_PREFIX}{epoch}",
            lambda kek: _gcm(kek, "encrypt", nonce, key, header + associated_data),
        )
        return header + nonce + sealed

    def unwrap(self, blob: bytes, *, associated_data: bytes) -> bytes:
        epoch = wrapped_epoch(blob)
        if epoch not in self.epochs():
            state = "destroyed" if epoch in self.destroyed_epochs() else "not in this token"
            raise KeyringError(f"KEK epoch {epoch} is {state}")
        header = blob[: _WRAP_HEADER.size]
        nonce = blob[_WRAP_HEADER.size : _WRAP_HEADER.size + _NONCE_BYTES]
        sealed = blob[_WRAP_HEADER.size + _NONCE_BYTES :]
        try:
            return self._with_key(
                f"{KEK_PREFIX}{epoch}",
                lambda kek: _gcm(kek, "decrypt", nonce, sealed, header + associated_data),
            )
        except KeyringError:
            raise KeyringError("wrapped key failed authentication") from None

    def add_epoch(self) -> int:
        """Generate the next epoch's KEK in the token and make it current."""
        held = self.epochs()
        new_epoch = (held[-1] if held else 0) + 1
        self._generate(f"{KEK_PREFIX}{new_epoch}", KeyType.AES, _AES_USE)
        self._refresh_epochs()
        return new_epoch

    def destroy_epoch(self, epoch: int) -> None:
        if epoch == self.current_epoch():
            raise KeyringError("the current KEK epoch cannot be destroyed")
        if epoch not in self.epochs():
            raise KeyringError(f"KEK epoch {epoch} is not in this token")
        label = f"{KEK_PREFIX}{epoch}"
        self._with_key(label, lambda kek: kek.destroy())
        self._keys.pop(label, None)
        self._refresh_epochs()

    def mac(self, purpose: str, data: bytes) -> bytes:
        signature: bytes = self._with_key(
            f"{MAC_PREFIX}{purpose}", lambda key: key.sign(data, mechanism=Mechanism.SHA256_HMAC)
        )
        return signature

    def aead(self, purpose: str) -> Aead:
        return _TokenAead(self, f"{AEAD_PREFIX}{purpose}")

    # -- making and importing keys --------------------------------------------------------

    def _generate(self, label: str, key_type: KeyType, use: dict[Attribute, Any]) -> None:
        mechanism = (
            Mechanism.AES_KEY_GEN if key_type is KeyType.AES else Mechanism.GENERIC_SECRET_KEY_GEN
        )
        self._call(
            lambda session: session.generate_key(
                key_type,
                256,
                label=label,
                store=True,
                mechanism=mechanism,
                template={**_PROTECTED, **use},
            )
        )

    def _generate_all(self) -> None:
        self._generate(f"{KEK_PREFIX}1", KeyType.AES, _AES_USE)
        for purpose in MAC_PURPOSES:
            self._generate(f"{MAC_PREFIX}{purpose}", KeyType.GENERIC_SECRET, _MAC_USE)
        for purpose in AEAD_PURPOSES:
            self._generate(f"{AEAD_PREFIX}{purpose}", KeyType.AES, _AES_USE)
        self._refresh_epochs()

    def _check_purpose_keys(self) -> None:
        labels = [f"{MAC_PREFIX}{p}" for p in MAC_PURPOSES] + [
            f"{AEAD_PREFIX}{p}" for p in AEAD_PURPOSES
        ]
        for label in labels:
            self._with_key(label, lambda _key: None)  # raises, naming the label, if missing

    def labels(self) -> list[str]:
        """Every secret key's label on the token (for ``registry keys status``)."""
        return sorted(
            self._call(
                lambda session: [
                    key.label
                    for key in session.get_objects({Attribute.CLASS: ObjectClass.SECRET_KEY})
                ]
            )
        )

    def import_keyring(self, keyring: LocalKeyring) -> list[str]:
        """Copy a keyring file's KEKs and root-derived keys into the token, each as a
        non-extractable key (C_CreateObject), so nothing sealed under them changes; refused
        if the token already holds registry keys. Returns the labels made."""
        existing = [label for label in self.labels() if label.startswith("registry-")]
        if existing:
            raise KeyringError(
                f"PKCS#11 token {self.token_label!r} already holds registry keys "
                f"({', '.join(existing)}); use an empty token"
            )
        made: list[tuple[str, KeyType, dict[Attribute, Any], bytes]] = [
            (f"{KEK_PREFIX}{epoch}", KeyType.AES, _AES_USE, kek)
            for epoch, kek in keyring.kek_material()
        ]
        made += [
            (f"{MAC_PREFIX}{p}", KeyType.GENERIC_SECRET, _MAC_USE, keyring.subkey(p))
            for p in MAC_PURPOSES
        ]
        made += [
            (f"{AEAD_PREFIX}{p}", KeyType.AES, _AES_USE, keyring.subkey(p)) for p in AEAD_PURPOSES
        ]
        for label, key_type, use, value in made:
            template = {
                Attribute.CLASS: ObjectClass.SECRET_KEY,
                Attribute.KEY_TYPE: key_type,
                Attribute.LABEL: label,
                Attribute.VALUE: value,
                **_PROTECTED,
                **use,
            }
            self._create(template)
        self._refresh_epochs()
        return [label for label, *_ in made]

    def _create(self, template: dict[Attribute, Any]) -> None:
        self._call(lambda session: session.create_object(template))

    def __repr__(self) -> str:  # never show the PIN
        return f"<Pkcs11Provider token={self.token_label!r} epochs={self._epochs}>"


class _TokenAead:
    """AES-256-GCM under a token key, in ``cryptography``'s AESGCM shape."""

    def __init__(self, provider: Pkcs11Provider, label: str) -> None:
        self._provider = provider
        self._label = label

    def encrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        return self._provider._with_key(
            self._label, lambda key: _gcm(key, "encrypt", nonce, data, associated_data or b"")
        )

    def decrypt(self, nonce: bytes, data: bytes, associated_data: bytes | None) -> bytes:
        try:
            return self._provider._with_key(
                self._label, lambda key: _gcm(key, "decrypt", nonce, data, associated_data or b"")
            )
        except KeyringError:
            raise InvalidTag() from None  # as AESGCM does, so callers handle both alike


def _gcm(key: Any, operation: str, nonce: bytes, data: bytes, associated_data: bytes) -> bytes:
    result: bytes = getattr(key, operation)(
        data,
        mechanism=Mechanism.AES_GCM,
        mechanism_param=GCMParams(nonce, associated_data, _TAG_BITS),
    )
    return result
