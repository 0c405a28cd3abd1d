"""REGISTRY_KEY_PROVIDER and REGISTRY_PKCS11_*: an HSM's settings are checked at start-up,
each missing one named, before anything tries the token."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry import create_app
from registry.config import ConfigurationError, Settings
from registry.crypto.keys import KeyringError
from tests.conftest import SOFTHSM_MODULE, softhsm_token

PRODUCTION = {
    "REGISTRY_MODE": "production",
    "DATABASE_URL": "postgresql+psycopg://app@db/registry",
    "SECRET_KEY": "k" * 40,
}


def test_pkcs11_without_its_settings_names_each_missing_one() -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        Settings.load({"REGISTRY_KEY_PROVIDER": "pkcs11"})

    message = str(excinfo.value)
    assert "REGISTRY_PKCS11_MODULE is not set" in message
    assert "REGISTRY_PKCS11_TOKEN is not set" in message
    assert "REGISTRY_PKCS11_PIN_FILE is not set" in message


def test_pkcs11_module_and_pin_file_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        Settings.load(
            {
                "REGISTRY_KEY_PROVIDER": "pkcs11",
                "REGISTRY_PKCS11_MODULE": str(tmp_path / "missing.so"),
                "REGISTRY_PKCS11_TOKEN": "registry",
                "REGISTRY_PKCS11_PIN_FILE": str(tmp_path / "missing.pin"),
            }
        )

    message = str(excinfo.value)
    assert "REGISTRY_PKCS11_MODULE names no file" in message
    assert "REGISTRY_PKCS11_PIN_FILE names no file" in message


def test_an_unknown_key_provider_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="key_provider must be file or pkcs11"):
        Settings.load({"REGISTRY_KEY_PROVIDER": "vault"})


def _hsm_settings(pin: Path) -> dict[str, str]:
    return {
        **PRODUCTION,
        "REGISTRY_KEY_PROVIDER": "pkcs11",
        "REGISTRY_PKCS11_MODULE": SOFTHSM_MODULE,
        "REGISTRY_PKCS11_TOKEN": "registry",
        "REGISTRY_PKCS11_PIN_FILE": str(pin),
    }


def test_production_refuses_a_pin_file_others_can_read(tmp_path: Path) -> None:
    pin = tmp_path / "pin"
    pin.write_text("1234")
    pin.chmod(0o644)

    with pytest.raises(ConfigurationError, match="PIN_FILE is readable by others; chmod 600"):
        Settings.load(_hsm_settings(pin))


def test_production_with_an_hsm_needs_no_keyring_file(tmp_path: Path) -> None:
    pin = tmp_path / "pin"
    pin.write_text("1234")
    pin.chmod(0o600)

    settings = Settings.load(_hsm_settings(pin))

    assert (settings.key_provider, settings.keyring_path) == ("pkcs11", None)


def test_production_with_the_file_provider_still_needs_the_keyring() -> None:
    with pytest.raises(ConfigurationError, match="REGISTRY_KEYRING is not set"):
        Settings.load(PRODUCTION)


@pytest.mark.skipif(not Path(SOFTHSM_MODULE).is_file(), reason="SoftHSM2 is not installed")
def test_the_app_will_not_start_in_production_on_an_empty_token(tmp_path: Path) -> None:
    token = softhsm_token(tmp_path)
    settings = Settings.from_mapping(
        {"mode": "production", "database_url": f"sqlite:///{tmp_path / 'x.db'}", **token}
    )

    with pytest.raises(KeyringError, match="holds no registry keys"):
        create_app(settings)
