"""Keys, field encryption, blind indexes and pseudonyms: everything that seals identifiers."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

from flask import current_app

from registry.config import Settings
from registry.crypto.keys import KeyProvider


def key_provider() -> KeyProvider:
    """The key provider (keyring file or HSM) loaded by the app factory."""
    provider: KeyProvider = current_app.extensions["registry.keys"]
    return provider


def mac_for(purpose: str) -> Callable[[bytes], bytes]:
    """HMAC-SHA-256 under the purpose's key, computed by the key provider (in an HSM, the
    key never leaves it)."""
    return partial(key_provider().mac, purpose)


def open_pkcs11(settings: Settings, *, create_if_missing: bool) -> tuple[KeyProvider, bool]:
    """The HSM the settings name (checked complete by ``Settings``). Returns (provider,
    created)."""
    from registry.crypto.pkcs11 import Pkcs11Provider

    assert settings.pkcs11_module and settings.pkcs11_token and settings.pkcs11_pin_file
    return Pkcs11Provider.open(
        settings.pkcs11_module,
        settings.pkcs11_token,
        Path(settings.pkcs11_pin_file),
        create_if_missing=create_if_missing,
    )
