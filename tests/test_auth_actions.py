"""Rules that a user never sees directly but relies on: password hashing, and how long a
security code works."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry.auth import actions as auth_actions
from registry.auth.actions import authenticate
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.config import Mode, Settings
from registry.db import session
from registry.logs import JsonFormatter
from tests.conftest import PASSWORD, Account, post_form


@pytest.mark.parametrize("mode", list(Mode))
def test_hash_is_argon2id_with_at_least_asvs_parameters(
    app: Flask, monkeypatch: pytest.MonkeyPatch, mode: Mode
) -> None:
    """Every other test hashes at argon2's floor (tests/conftest.py make_settings); this one
    checks what the settings of each mode get unless someone lowers them."""
    monkeypatch.setitem(app.config, "SETTINGS", Settings.from_mapping({"mode": mode}))
    with app.app_context():
        password_hash = auth_actions.password_hasher().hash(PASSWORD)

    prefix = password_hash.split("$")[1:4]

    assert prefix[0] == "argon2id"
    params = dict(part.split("=") for part in prefix[2].split(","))
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2 and params["p"] == "1"


def test_password_is_rehashed_when_parameters_rise(
    app: Flask, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)
    original = app.config["SETTINGS"]
    app.config["SETTINGS"] = dataclasses.replace(original, argon2_time_cost=3)
    try:
        with app.test_request_context():
            user = authenticate(account.email, PASSWORD)
            session().commit()
            assert user is not None
            new_hash = session().get(User, user.id).password_hash  # type: ignore[union-attr]
    finally:
        app.config["SETTINGS"] = original

    assert new_hash != account.user.password_hash
    assert ",t=3," in new_hash


def test_sign_in_never_logs_the_password_or_email(
    client: FlaskClient,
    create_account: Callable[..., Account],
    caplog: pytest.LogCaptureFixture,
) -> None:
    account = create_account(Role.RESEARCHER)
    caplog.set_level(logging.DEBUG)

    for _ in range(11):  # enough to hit the throttle, which logs its own line
        post_form(client, "/sign-in", {"email": account.email, "password": "Secret-Guess-123"})

    logged = caplog.text + "\n".join(JsonFormatter().format(r) for r in caplog.records)
    assert "Secret-Guess-123" not in logged
    assert account.email not in logged
    assert "exceeded" in logged  # the throttle did log, under a hashed account key


# 15 seconds into a 30-second step.
NOW = dt.datetime(2026, 11, 27, 14, 3, 15, tzinfo=dt.UTC)


def _code(account: Account, seconds_from_now: int) -> str:
    assert account.totp_secret
    return pyotp.TOTP(account.totp_secret).at(NOW + dt.timedelta(seconds=seconds_from_now))


def _check_codes(app: Flask, account: Account, codes: list[str]) -> list[bool]:
    """Whether each code is accepted, entered in turn with the clock at NOW."""
    with pytest.MonkeyPatch.context() as clock, app.test_request_context():
        clock.setattr(auth_actions, "utcnow", lambda: NOW)
        user = session().get(User, account.user.id)
        assert user is not None
        return [auth_actions.verify_second_factor(user, code) for code in codes]


def test_security_code_from_the_previous_step_is_accepted(
    app: Flask, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.ADMIN)

    assert _check_codes(app, account, [_code(account, -30)]) == [True]


def test_security_code_from_the_next_step_or_two_steps_back_is_refused(
    app: Flask, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.ADMIN)

    accepted = _check_codes(app, account, [_code(account, 30), _code(account, -60)])

    assert accepted == [False, False]


def test_security_code_works_once_and_not_after_a_later_one(
    app: Flask, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.ADMIN)
    previous, current = _code(account, -30), _code(account, 0)

    accepted = _check_codes(app, account, [previous, previous, current, current, previous])

    assert accepted == [True, False, True, False, False]
