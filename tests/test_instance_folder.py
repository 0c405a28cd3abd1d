"""The development keyring lives in the instance folder, so two checkouts never share one;
a keyring at the old default is never read, and start-up says where it is and what to do.
(Production still requires REGISTRY_KEYRING: tests/test_config.py.)"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from registry import create_app
from registry.config import Settings
from registry.crypto import key_provider
from registry.crypto.keys import LocalKeyring
from tests.conftest import CHEAP_PASSWORD_HASHING


def _settings(instance: Path) -> Settings:
    return Settings.from_mapping(
        {
            "mode": "development",
            "database_url": f"sqlite:///{instance / 'registry.sqlite3'}",
            "instance_path": str(instance),
            **CHEAP_PASSWORD_HASHING,
        }
    )


@pytest.fixture
def config_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def test_each_checkout_gets_a_keyring_in_its_instance_folder(
    tmp_path: Path, config_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = tmp_path / "one" / "instance", tmp_path / "two" / "instance"

    apps = [create_app(_settings(first)), create_app(_settings(second))]

    with apps[0].app_context():
        assert _keyring_file() == first / "keyring.json"
    with apps[1].app_context():
        assert _keyring_file() == second / "keyring.json"
    assert (first / "keyring.json").read_bytes() != (second / "keyring.json").read_bytes()
    assert "no longer read" not in capsys.readouterr().err


def test_a_keyring_at_the_old_default_is_not_read_and_start_up_says_how_to_move_it(
    tmp_path: Path, config_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = config_home / "mhmtc-registry" / "keyring.json"
    old.parent.mkdir(parents=True)
    LocalKeyring.create(old)
    instance = tmp_path / "instance"

    app = create_app(_settings(instance))

    with app.app_context():
        assert _keyring_file() == instance / "keyring.json"
    err = capsys.readouterr().err
    assert f"keyring from an earlier version is at {old}; it is no longer read" in err
    assert f'mv "{old}" "{instance / "keyring.json"}"' in err
    assert old.exists()  # left where it was, for the developer to decide


def test_a_keyring_named_by_setting_is_used_without_a_warning(
    tmp_path: Path, config_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = config_home / "mhmtc-registry" / "keyring.json"
    old.parent.mkdir(parents=True)
    LocalKeyring.create(old)
    named = tmp_path / "named-keyring.json"
    LocalKeyring.create(named)
    settings = dataclasses.replace(_settings(tmp_path / "instance"), keyring_path=str(named))

    app = create_app(settings)

    with app.app_context():
        assert _keyring_file() == named
    assert "no longer read" not in capsys.readouterr().err


def _keyring_file() -> Path:
    keyring = key_provider()
    assert isinstance(keyring, LocalKeyring)
    return keyring.path
