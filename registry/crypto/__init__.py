"""Keys, field encryption, blind indexes and pseudonyms: everything that seals identifiers."""

from __future__ import annotations

from flask import current_app

from registry.crypto.keys import LocalKeyring


def key_provider() -> LocalKeyring:
    """The keyring loaded by the app factory."""
    provider: LocalKeyring = current_app.extensions["registry.keys"]
    return provider
