"""The PKCS#11 key provider against SoftHSM2, and the file keyring's outputs on fixed vectors.

The vectors were computed with the code before the provider interface changed (HKDF
subkeys used directly): a keyring's existing blind indexes, pseudonyms and audit MACs must
come out the same through ``mac``, and the same again from a token the keyring moved into.
"""

from __future__ import annotations

import base64
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import pytest
from pkcs11 import Attribute
from pkcs11.exceptions import AttributeSensitive

from registry.crypto.blind_index import blind_index
from registry.crypto.fields import FieldCipher, FieldContext
from registry.crypto.keys import (
    AEAD_PURPOSES,
    AUDIT_ANCHOR_PURPOSE,
    AUDIT_MAC_PURPOSE,
    BLIND_INDEX_PURPOSE,
    DATE_SHIFT_PURPOSE,
    MAC_PURPOSES,
    PSEUDONYM_PURPOSE,
    TOTP_SECRET_PURPOSE,
    KeyProvider,
    KeyringError,
    LocalKeyring,
    wrapped_epoch,
)
from registry.crypto.pkcs11 import Pkcs11Provider
from registry.crypto.pseudonyms import study_pseudonym
from tests.conftest import SOFTHSM_MODULE, softhsm_token

pytestmark = pytest.mark.skipif(
    not Path(SOFTHSM_MODULE).is_file(),
    reason="SoftHSM2 is not installed (apt-get install softhsm2)",
)

MESSAGE = b"registry test vector"
# HMAC-SHA-256(HKDF(root = bytes 0..31, info "mhmtc-registry/<purpose>"), MESSAGE)
VECTORS = {
    AUDIT_MAC_PURPOSE: "0bbc7ddaccb67df0fc9b475ed5a43e98a366fdd533575ef886f3bf6fc1e6faaf",
    AUDIT_ANCHOR_PURPOSE: "66fd5b0eef0e4fee01b0fa73e0a13dcc0d2ea32a6feca63493124f82e7b3de95",
    BLIND_INDEX_PURPOSE: "cfad4cfd1fd22992438e89b4501aa7cb266882b549b45d4dfc96dee949a67a64",
    PSEUDONYM_PURPOSE: "2313d3aced3424ddee2a8c54d120ecb6adc219f1769525d3db6038a0e0300da7",
    DATE_SHIFT_PURPOSE: "1eb0cc297b0c8e03da9cdf080d421318d133ccd1015bc4ba93ed423f0fd8f03c",
}
BLIND_INDEX_VECTOR = 17036  # NHS number 9434765919 at 15 bits
PSEUDONYM_VECTOR = "S-38S44R854HXDHM48"  # study STUDY-1, participant P-ABCDEFGH
AAD = b"dek-binding"


def fixed_keyring(tmp_path: Path) -> LocalKeyring:
    document = {
        "root_secret": base64.b64encode(bytes(range(32))).decode(),
        "current_epoch": 2,
        "epochs": {
            "1": base64.b64encode(bytes(range(32, 64))).decode(),
            "2": base64.b64encode(bytes(range(64, 96))).decode(),
        },
    }
    return LocalKeyring(tmp_path / "keyring.json", document)


def empty_token(tmp_path: Path) -> Pkcs11Provider:
    settings = softhsm_token(tmp_path)
    pin = Path(settings["pkcs11_pin_file"]).read_text()
    return Pkcs11Provider(settings["pkcs11_module"], settings["pkcs11_token"], pin)


@pytest.fixture
def token(tmp_path: Path) -> Pkcs11Provider:
    """A token with keys of its own, as a new registry's first start makes them."""
    settings = softhsm_token(tmp_path)
    provider, created = Pkcs11Provider.open(
        settings["pkcs11_module"],
        settings["pkcs11_token"],
        Path(settings["pkcs11_pin_file"]),
        create_if_missing=True,
    )
    assert created
    return provider


@pytest.fixture
def migrated(tmp_path: Path) -> tuple[LocalKeyring, Pkcs11Provider]:
    keyring = fixed_keyring(tmp_path)
    token = empty_token(tmp_path)
    token.import_keyring(keyring)
    return keyring, token


# -- the file keyring: outputs unchanged ------------------------------------------------


@pytest.mark.parametrize("purpose", MAC_PURPOSES)
def test_keyring_mac_matches_the_vectors_made_before_the_interface_changed(
    tmp_path: Path, purpose: str
) -> None:
    assert fixed_keyring(tmp_path).mac(purpose, MESSAGE).hex() == VECTORS[purpose]


def test_keyring_blind_index_and_pseudonym_match_the_vectors(tmp_path: Path) -> None:
    keyring = fixed_keyring(tmp_path)

    index = blind_index(partial(keyring.mac, BLIND_INDEX_PURPOSE), "9434765919", bits=15)
    pseudonym = study_pseudonym(partial(keyring.mac, PSEUDONYM_PURPOSE), "STUDY-1", "P-ABCDEFGH")

    assert (index, pseudonym) == (BLIND_INDEX_VECTOR, PSEUDONYM_VECTOR)


# -- a keyring moved into a token -------------------------------------------------------


@pytest.mark.parametrize("purpose", MAC_PURPOSES)
def test_migrated_token_macs_as_the_keyring_did(
    migrated: tuple[LocalKeyring, Pkcs11Provider], purpose: str
) -> None:
    _, token = migrated

    assert token.mac(purpose, MESSAGE).hex() == VECTORS[purpose]


def test_migrated_token_unwraps_what_the_keyring_wrapped_under_each_epoch(
    migrated: tuple[LocalKeyring, Pkcs11Provider],
) -> None:
    keyring, token = migrated
    dek = bytes(range(100, 132))
    old = keyring.wrap(dek, associated_data=AAD)
    keyring.__dict__["_current"] = 1  # a key wrapped before the last rotation
    older = keyring.wrap(dek, associated_data=AAD)

    assert (token.epochs(), token.current_epoch()) == ([1, 2], 2)
    assert token.unwrap(old, associated_data=AAD) == dek
    assert token.unwrap(older, associated_data=AAD) == dek


def test_migrated_token_opens_totp_secrets_the_keyring_sealed(
    migrated: tuple[LocalKeyring, Pkcs11Provider],
) -> None:
    keyring, token = migrated
    context = FieldContext("user", "totp_secret_sealed", "7")
    sealed = FieldCipher(None, aead=keyring.aead(TOTP_SECRET_PURPOSE)).seal(
        "JBSWY3DP", context=context
    )

    opened = FieldCipher(None, aead=token.aead(TOTP_SECRET_PURPOSE)).open_text(
        sealed, context=context
    )

    assert opened == "JBSWY3DP"


def test_a_token_already_holding_registry_keys_refuses_a_second_import(
    migrated: tuple[LocalKeyring, Pkcs11Provider],
) -> None:
    keyring, token = migrated

    with pytest.raises(KeyringError, match="already holds registry keys"):
        token.import_keyring(keyring)


# -- the token's own keys ---------------------------------------------------------------


def test_wrap_names_the_epoch_and_unwraps_in_the_token(token: Pkcs11Provider) -> None:
    dek = bytes(32)

    blob = token.wrap(dek, associated_data=AAD)

    assert wrapped_epoch(blob) == 1
    assert token.unwrap(blob, associated_data=AAD) == dek


def test_unwrap_with_other_associated_data_fails(token: Pkcs11Provider) -> None:
    blob = token.wrap(bytes(32), associated_data=AAD)

    with pytest.raises(KeyringError, match="failed authentication"):
        token.unwrap(blob, associated_data=b"another participant")


def test_no_key_can_be_read_out_of_the_token(token: Pkcs11Provider) -> None:
    labels = token.labels()
    assert len(labels) == 1 + len(MAC_PURPOSES) + len(AEAD_PURPOSES)

    for label in labels:
        key = token._with_key(label, lambda key: key)
        assert key[Attribute.SENSITIVE] and not key[Attribute.EXTRACTABLE]
        with pytest.raises(AttributeSensitive):
            key[Attribute.VALUE]


def test_rotation_adds_an_epoch_and_keeps_the_old_one(token: Pkcs11Provider) -> None:
    old = token.wrap(bytes(32), associated_data=AAD)

    assert token.add_epoch() == 2

    assert wrapped_epoch(token.wrap(bytes(32), associated_data=AAD)) == 2
    assert token.unwrap(old, associated_data=AAD) == bytes(32)


def test_destroying_an_epoch_destroys_its_token_key(token: Pkcs11Provider) -> None:
    old = token.wrap(bytes(32), associated_data=AAD)
    token.add_epoch()

    token.destroy_epoch(1)

    assert "registry-kek-1" not in token.labels()
    assert (token.epochs(), token.destroyed_epochs()) == ([2], [1])
    with pytest.raises(KeyringError, match="epoch 1 is destroyed"):
        token.unwrap(old, associated_data=AAD)
    assert token.add_epoch() == 3  # a destroyed epoch's number is never used again


def test_the_current_epoch_cannot_be_destroyed(token: Pkcs11Provider) -> None:
    with pytest.raises(KeyringError, match="current KEK epoch cannot be destroyed"):
        token.destroy_epoch(1)


def test_an_empty_token_is_refused_outside_development(tmp_path: Path) -> None:
    settings = softhsm_token(tmp_path)

    with pytest.raises(KeyringError, match=r"holds no registry keys.*keys migrate"):
        Pkcs11Provider.open(
            settings["pkcs11_module"],
            settings["pkcs11_token"],
            Path(settings["pkcs11_pin_file"]),
            create_if_missing=False,
        )


def test_a_wrong_pin_is_a_clear_error(tmp_path: Path) -> None:
    settings = softhsm_token(tmp_path)
    provider = Pkcs11Provider(settings["pkcs11_module"], settings["pkcs11_token"], "0000")

    with pytest.raises(KeyringError, match=r"cannot open PKCS#11 token.*PinIncorrect"):
        provider.epochs()


def test_threads_share_the_session_safely(token: Pkcs11Provider) -> None:
    blobs = [token.wrap(bytes([n]) * 32, associated_data=AAD) for n in range(8)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        opened = list(pool.map(lambda blob: token.unwrap(blob, associated_data=AAD), blobs * 25))
        macs = set(pool.map(lambda _: token.mac(AUDIT_MAC_PURPOSE, MESSAGE), range(200)))

    assert opened == [bytes([n]) * 32 for n in range(8)] * 25
    assert len(macs) == 1


def test_both_providers_meet_the_interface(tmp_path: Path, token: Pkcs11Provider) -> None:
    providers: list[KeyProvider] = [fixed_keyring(tmp_path), token]

    assert all(p.mac(AUDIT_MAC_PURPOSE, MESSAGE) for p in providers)
    assert "PIN" not in repr(token) and "2468" not in repr(token)
