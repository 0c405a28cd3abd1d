"""Errors raised by the field-encryption primitives.

Messages name the problem and, at most, the table and column involved. They never carry
plaintext, key material or ciphertext bytes, because exception text ends up in logs, error
pages and bug reports.
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class: something about a key or a ciphertext is wrong."""


class UnknownFormatVersion(CryptoError):
    """The blob's format-version byte is not one this code understands."""


class UnknownAlgorithm(CryptoError):
    """The blob names an algorithm identifier this code does not implement."""


class MalformedCiphertext(CryptoError):
    """The blob is empty, truncated, too short or declares an impossible structure."""


class DecryptionFailed(CryptoError):
    """Authentication failed: wrong key, moved to another row or column, or tampered with."""


class KeyUnavailable(CryptoError):
    """The key needed is missing or has been destroyed."""
