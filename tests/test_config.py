"""Settings: production refuses to run unprotected and says why; the keyring file is private."""

from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import time
from pathlib import Path

import pytest

from registry import _configure_logging, create_app
from registry.config import ConfigurationError, Mode, Settings
from registry.crypto.keys import KeyringError, LocalKeyring, open_keyring


def test_production_without_anything_names_every_missing_setting() -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        Settings.load({"REGISTRY_MODE": "production"})

    message = str(excinfo.value)
    assert "DATABASE_URL is not set" in message
    assert "SECRET_KEY is not set" in message
    assert "REGISTRY_KEYRING is not set" in message


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"DATABASE_URL": "sqlite:///x.db"}, "must be PostgreSQL"),
        ({"REGISTRY_SESSION_COOKIE_SECURE": "false"}, "cookies must be Secure"),
        ({"REGISTRY_TOTP_REQUIRED": "0"}, "second factor cannot be turned off"),
        ({"REGISTRY_ALLOW_SYNTHETIC_NHS_NUMBERS": "true"}, "synthetic NHS numbers"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY is not set"),
    ],
)
def test_production_refuses_each_unsafe_setting(override: dict[str, str], expected: str) -> None:
    environ = {
        "REGISTRY_MODE": "production",
        "DATABASE_URL": "postgresql+psycopg://app@db/registry",
        "SECRET_KEY": "k" * 40,
        "REGISTRY_KEYRING": "/etc/registry/keyring.json",
        **override,
    }

    with pytest.raises(ConfigurationError, match=expected):
        Settings.load(environ)


def test_production_with_everything_set_loads() -> None:
    settings = Settings.load(
        {
            "REGISTRY_MODE": "production",
            "DATABASE_URL": "postgresql+psycopg://app@db/registry",
            "SECRET_KEY": "k" * 40,
            "REGISTRY_KEYRING": "/etc/registry/keyring.json",
        }
    )

    assert settings.mode is Mode.PRODUCTION
    assert settings.session_cookie_secure
    assert not settings.allow_synthetic_nhs_numbers


def test_development_defaults_allow_synthetic_numbers_and_plain_http_cookies() -> None:
    settings = Settings.load({})

    assert settings.mode is Mode.DEVELOPMENT
    assert settings.allow_synthetic_nhs_numbers
    assert not settings.session_cookie_secure


def test_unknown_mode_and_bad_numbers_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Settings.load({"REGISTRY_MODE": "staging"})
    with pytest.raises(ConfigurationError, match="whole number"):
        Settings.load({"REGISTRY_EXPECTED_POPULATION": "lots"})


def test_every_unreadable_or_senseless_value_is_named_at_once() -> None:
    with pytest.raises(ConfigurationError) as excinfo:
        Settings.load(
            {
                "REGISTRY_EXPECTED_POPULATION": "lots",
                "REGISTRY_TOTP_REQUIRED": "maybe",
                "REGISTRY_PROXY_HOPS": "-1",
            }
        )

    message = str(excinfo.value)
    assert "expected_population must be a whole number, not 'lots'" in message
    assert "totp_required must be true or false, not 'maybe'" in message
    assert "proxy_hops must be 0 or more, not -1" in message


def test_toml_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    config = tmp_path / "registry.toml"
    config.write_text('[registry]\nexpected_population = 5000\nlog_level = "DEBUG"\n')

    settings = Settings.load({"REGISTRY_CONFIG": str(config), "REGISTRY_LOG_LEVEL": "WARNING"})

    assert settings.expected_population == 5000
    assert settings.log_level == "WARNING"


def test_proxy_hops_come_from_the_environment_and_cannot_be_negative() -> None:
    assert Settings.load({}).proxy_hops == 0
    assert Settings.load({"REGISTRY_PROXY_HOPS": "2"}).proxy_hops == 2
    with pytest.raises(ConfigurationError, match="proxy_hops must be 0 or more"):
        Settings.load({"REGISTRY_PROXY_HOPS": "-1"})


def test_log_times_are_utc_iso_8601_with_z_whatever_the_server_time_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    level = root.level
    monkeypatch.setattr(root, "handlers", [])  # as in a fresh process
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    moment = dt.datetime(2026, 11, 27, 9, 13, 9, 512000, tzinfo=dt.UTC)
    record = logging.makeLogRecord(
        {
            "name": "registry.example",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "hello",
            "created": moment.timestamp(),
            "msecs": 512.0,
        }
    )
    try:
        _configure_logging(Settings.from_mapping({"mode": "test"}))
        (handler,) = root.handlers
        line = handler.format(record)
    finally:
        monkeypatch.undo()
        time.tzset()
        root.setLevel(level)

    assert line == "2026-11-27T09:13:09.512Z INFO registry.example: hello"


def test_toml_file_with_unknown_setting_is_refused(tmp_path: Path) -> None:
    config = tmp_path / "registry.toml"
    config.write_text("[registry]\nsecret_sauce = 1\n")

    with pytest.raises(ConfigurationError, match="unknown setting"):
        Settings.load({"REGISTRY_CONFIG": str(config)})


def test_keyring_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "keyring.json"

    keyring, created = open_keyring(path, create_if_missing=True)

    assert created
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert keyring.current_epoch() == 1
    assert "root_secret" not in repr(keyring)


def test_keyring_readable_by_others_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    LocalKeyring.create(path)
    path.chmod(0o644)

    with pytest.raises(KeyringError, match="readable by others"):
        LocalKeyring.load(path)


def test_missing_keyring_is_not_created_in_production(tmp_path: Path) -> None:
    with pytest.raises(KeyringError, match="does not exist"):
        open_keyring(tmp_path / "absent.json", create_if_missing=False)


def test_keyring_epochs_rotate_and_old_epoch_can_be_destroyed(tmp_path: Path) -> None:
    keyring = LocalKeyring.create(tmp_path / "keyring.json")
    blob = keyring.wrap(b"k" * 32, associated_data=b"p1")

    keyring.add_epoch()
    reloaded = LocalKeyring.load(tmp_path / "keyring.json")
    unwrapped = reloaded.unwrap(blob, associated_data=b"p1")
    reloaded.destroy_epoch(1)

    assert unwrapped == b"k" * 32
    assert reloaded.current_epoch() == 2
    with pytest.raises(KeyringError, match="epoch 1 is destroyed"):
        LocalKeyring.load(tmp_path / "keyring.json").unwrap(blob, associated_data=b"p1")
    with pytest.raises(KeyringError, match="failed authentication"):
        reloaded.unwrap(reloaded.wrap(b"k" * 32, associated_data=b"p1"), associated_data=b"p2")
    with pytest.raises(KeyringError, match="current KEK epoch cannot be destroyed"):
        reloaded.destroy_epoch(2)


def test_subkeys_differ_by_purpose_and_are_stable(tmp_path: Path) -> None:
    keyring = LocalKeyring.create(tmp_path / "keyring.json")

    audit = keyring.subkey("audit-mac")

    assert audit == LocalKeyring.load(tmp_path / "keyring.json").subkey("audit-mac")
    assert audit != keyring.subkey("blind-index/nhs_number/v1")
    assert len(audit) == 32


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ({"failed_trials_definition": "whatever"}, "failed_trials_definition must be one of"),
        ({"ep_min_age": "70"}, "ep_min_age <= ep_max_age"),
        ({"trd_min_age": "0"}, "trd_min_age"),
    ],
)
def test_app_refuses_nonsense_cohort_rules(
    tmp_path: Path, override: dict[str, str], expected: str
) -> None:
    values = {"mode": "test", "database_url": "sqlite://", "keyring_path": str(tmp_path / "k.json")}

    with pytest.raises(ConfigurationError, match=expected):
        create_app(Settings.from_mapping(values | override))


RATES = (
    "sign_in_limit_per_account",
    "sign_in_limit_per_address",
    "api_rate_limit",
    "security_event_limit",
    "oidc_sign_in_limit_per_address",
    "partner_query_limit",
)


@pytest.mark.parametrize("name", RATES)
def test_every_rate_limit_must_read_as_a_rate_at_start_up(tmp_path: Path, name: str) -> None:
    """Flask-Limiter reads a limit only when a request meets it: a mistyped one would
    otherwise start, then answer that request with a 500."""
    config = tmp_path / "registry.toml"
    config.write_text(f'[registry]\n{name} = "lots"\n')

    with pytest.raises(ConfigurationError, match=f"{name} must be a rate such as '30 per minute'"):
        Settings.load({"REGISTRY_CONFIG": str(config)})
    config.write_text(f'[registry]\n{name} = "7 per minute;100/day"\n')
    assert getattr(Settings.load({"REGISTRY_CONFIG": str(config)}), name) == "7 per minute;100/day"
