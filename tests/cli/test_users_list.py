"""``registry users list``: the admin page's filters on the command line, as a table."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from flask import Flask

from registry.auth.models import Site, User
from registry.auth.permissions import Role
from registry.cli import main
from registry.db import session, utcnow
from tests.conftest import Account


def invoke(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(main, ["users", "list", *args])
    return result.exit_code, result.output


def _signed_in(app: Flask, account: Account, days_ago: int) -> None:
    with app.app_context():
        user = session().get(User, account.user.id)
        assert user is not None
        user.last_sign_in_at = utcnow() - dt.timedelta(days=days_ago)
        session().commit()


def test_users_list_prints_a_readable_row_per_user(
    app: Flask, create_account: Callable[..., Account], create_site: Callable[..., Site]
) -> None:
    site = create_site(name="Listed Trust")
    clinician = create_account(Role.CLINICIAN, site=site)

    code, output = invoke(app, "--site", site.code.lower())

    assert code == 0, output
    lines = output.splitlines()
    assert lines[0].split()[:4] == ["ID", "NAME", "EMAIL", "ROLE"]
    assert clinician.email in lines[1]
    assert "Waiting for first sign-in" in lines[1]
    assert site.code in lines[1]
    assert lines[-1] == "1 user"


def test_users_list_filters_by_role_and_second_factor(
    app: Flask, create_account: Callable[..., Account]
) -> None:
    with_factor = create_account(Role.ADMIN)
    without = create_account(Role.ADMIN, with_totp=False)
    researcher = create_account(Role.RESEARCHER)

    _, with_output = invoke(app, "--role", "admin", "--second-factor")
    _, without_output = invoke(app, "--role", "admin", "--no-second-factor")

    assert with_factor.email in with_output and without.email not in with_output
    assert without.email in without_output and with_factor.email not in without_output
    assert researcher.email not in with_output + without_output


def test_users_list_filters_active_and_inactive(
    app: Flask, create_account: Callable[..., Account]
) -> None:
    kept = create_account(Role.RESEARCHER)
    gone = create_account(Role.RESEARCHER)
    invoke_deactivate = app.test_cli_runner().invoke(
        main, ["users", "deactivate", "--email", gone.email]
    )
    assert invoke_deactivate.exit_code == 0

    _, active = invoke(app, "--role", "researcher", "--active")
    _, inactive = invoke(app, "--role", "researcher", "--inactive")

    assert kept.email in active and gone.email not in active
    assert gone.email in inactive and kept.email not in inactive
    assert "Deactivated" in inactive


def test_users_list_filters_by_last_sign_in(
    app: Flask, create_account: Callable[..., Account]
) -> None:
    lately = create_account(Role.PARTNER)
    long_ago = create_account(Role.PARTNER)
    never = create_account(Role.PARTNER)
    _signed_in(app, lately, days_ago=3)
    _signed_in(app, long_ago, days_ago=120)

    _, within = invoke(app, "--role", "partner", "--signed-in-within", "30")
    _, not_yet = invoke(app, "--role", "partner", "--never-signed-in")

    assert lately.email in within
    assert long_ago.email not in within and never.email not in within
    assert never.email in not_yet
    assert lately.email not in not_yet and long_ago.email not in not_yet


def test_users_list_refuses_contradictory_sign_in_filters(app: Flask) -> None:
    code, output = invoke(app, "--never-signed-in", "--signed-in-within", "30")

    assert code == 2
    assert "cannot both be given" in output
