"""The `registry` command group, through Flask's CLI runner (one transaction per command)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from registry import create_app
from registry.audit.actions import Actor
from registry.audit.models import AuditEvent
from registry.auth import actions as auth_actions
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.cli import main
from registry.db import session
from tests.conftest import Account, fresh_database, make_settings


def invoke(app: Flask, *args: str, input: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(main, list(args), input=input)
    return result.exit_code, result.output  # stdout and stderr, as a terminal shows them


def test_users_create_prints_one_time_password_that_signs_in(app: Flask) -> None:
    from registry.auth.actions import authenticate

    code, output = invoke(
        app,
        "users",
        "create",
        "--email",
        "New.Admin@Example.NHS.uk",
        "--role",
        "admin",
        "--name",
        "New Admin",
    )
    password = output.strip().splitlines()[-1]

    with app.test_request_context():
        user = authenticate("new.admin@example.nhs.uk", password)
    assert code == 0
    assert "created admin new.admin@example.nhs.uk" in output
    assert len(password) >= 12
    assert user is not None and user.password_must_change


def test_users_create_with_password_from_stdin(app: Flask) -> None:
    code, output = invoke(
        app,
        "users",
        "create",
        "--email",
        "r@example.nhs.uk",
        "--role",
        "researcher",
        "--name",
        "R",
        "--password-stdin",
        input="a long enough passphrase\n",
    )

    assert code == 0
    assert "one-time password" not in output


def test_users_create_short_password_fails_with_one_line(app: Flask) -> None:
    code, output = invoke(
        app,
        "users",
        "create",
        "--email",
        "r@example.nhs.uk",
        "--role",
        "researcher",
        "--name",
        "R",
        "--password-stdin",
        input="short\n",
    )

    assert code == 1
    assert output.strip().splitlines() == [
        "Error: Some of the information given is not valid. password: Use at least 12 characters."
    ]


def test_users_create_unknown_role_is_a_usage_error(app: Flask) -> None:
    code, output = invoke(
        app, "users", "create", "--email", "x@example.nhs.uk", "--role", "wizard", "--name", "X"
    )

    assert code == 2
    assert "Invalid value for '--role'" in output


def test_users_create_clinician_needs_existing_site(app: Flask) -> None:
    code, output = invoke(
        app,
        "users",
        "create",
        "--email",
        "c@example.nhs.uk",
        "--role",
        "clinician",
        "--name",
        "C",
        "--site",
        "NOPE",
    )

    assert code == 1
    assert "No site with code NOPE." in output


def test_users_create_duplicate_email_fails(
    app: Flask, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)

    code, output = invoke(
        app, "users", "create", "--email", account.email, "--role", "researcher", "--name", "Again"
    )

    assert code == 1
    assert "already exists" in output


def test_users_deactivate_unknown_user_fails(app: Flask) -> None:
    code, output = invoke(app, "users", "deactivate", "--email", "ghost@example.nhs.uk")

    assert code == 1
    assert output.strip() == "Error: No user with that email address."


def test_users_deactivate_revokes_tokens(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
) -> None:
    account = create_account(Role.PARTNER)
    token = issue_token(account)

    code, _ = invoke(app, "users", "deactivate", "--email", account.email)

    assert code == 0
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def _end_sessions_event(app: Flask, account: Account) -> AuditEvent:
    with app.app_context():
        return (
            session()
            .scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "user.end_sessions")
                .where(AuditEvent.target_id == str(account.user.id))
            )
            .one()
        )


def test_users_end_sessions_signs_the_user_out_everywhere_but_keeps_the_account(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
    sign_in: Callable[..., Any],
) -> None:
    account = create_account(Role.RESEARCHER)
    token = issue_token(account)
    elsewhere = app.test_client()
    sign_in(account)
    sign_in(account, test_client=elsewhere)

    code, output = invoke(app, "users", "end-sessions", "--email", account.email)

    assert (code, output) == (0, f"ended every session of {account.email}\n")
    assert client.get("/api/v1/me").status_code == 401
    assert elsewhere.get("/api/v1/me").status_code == 401
    api = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200  # tokens only with --tokens
    sign_in(account)  # not deactivated: they can sign in again
    assert client.get("/api/v1/me").status_code == 200
    event = _end_sessions_event(app, account)
    assert event.actor == Actor.command_line().label
    assert json.loads(event.details) == {"tokens_revoked": 0}


def test_users_end_sessions_with_tokens_revokes_them_too(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
) -> None:
    account = create_account(Role.PARTNER)
    token = issue_token(account)

    code, output = invoke(app, "users", "end-sessions", "--email", account.email, "--tokens")

    assert code == 0
    assert output.splitlines() == [
        f"ended every session of {account.email}",
        "revoked 1 API token",
    ]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    assert json.loads(_end_sessions_event(app, account).details) == {"tokens_revoked": 1}


def test_users_end_sessions_unknown_user_fails(app: Flask) -> None:
    code, output = invoke(app, "users", "end-sessions", "--email", "ghost@example.nhs.uk")

    assert code == 1
    assert output.strip() == "Error: No user with that email address."


def test_sites_add_and_duplicate(app: Flask) -> None:
    first = invoke(app, "sites", "add", "--code", "rxt", "--name", "Birmingham and Solihull")
    second = invoke(app, "sites", "add", "--code", "RXT", "--name", "Again")

    assert first == (0, "added site RXT: Birmingham and Solihull\n")
    assert second[0] == 1 and "already exists" in second[1]


def test_sites_deactivate_stops_enrolment_at_the_site(app: Flask) -> None:
    invoke(app, "sites", "add", "--code", "rxd", "--name", "Closing")

    code, output = invoke(app, "sites", "deactivate", "--code", "rxd")

    assert (code, output) == (0, "deactivated site RXD: it enrols no one from now on\n")
    with app.app_context():
        assert not auth_actions.find_site_by_code("RXD").is_active


def test_sites_deactivate_unknown_site_fails(app: Flask) -> None:
    code, output = invoke(app, "sites", "deactivate", "--code", "NOPE")

    assert code == 1
    assert output.strip() == "Error: There is no site with this code."


def test_tokens_issue_prints_token_alone_on_last_line(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)

    code, output = invoke(
        app, "tokens", "issue", "--email", account.email, "--name", "laptop", "--expires-days", "7"
    )
    token = output.strip().splitlines()[-1]

    assert code == 0
    assert token.startswith("mhr_") and " " not in token
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_tokens_issue_rejects_out_of_range_expiry(
    app: Flask, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)

    code, _ = invoke(app, "tokens", "issue", "--email", account.email, "--expires-days", "0")

    assert code == 2


def test_tokens_revoke_unknown_id_fails(app: Flask) -> None:
    code, output = invoke(app, "tokens", "revoke", "--token-id", "999999")

    assert code == 1
    assert "No token with id 999999." in output


def test_tokens_revoke_ends_access(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)
    _, output = invoke(app, "tokens", "issue", "--email", account.email)
    token_id = output.split()[1]
    token = output.strip().splitlines()[-1]

    code, revoked = invoke(app, "tokens", "revoke", "--token-id", token_id)

    assert code == 0 and revoked.strip() == f"revoked token {token_id}"
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_demo_users_creates_one_account_per_role_once(app: Flask) -> None:
    first = invoke(app, "demo", "users")
    second = invoke(app, "demo", "users")

    assert first[0] == second[0] == 0
    assert first[1].count("one-time password:") == 4
    assert second[1].count("exists (password unchanged)") == 4


def test_db_upgrade_is_idempotent(keyring_path: Path, tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        app = create_app(make_settings(url, keyring_path, tmp_path))
        results = [invoke(app, "db", "upgrade") for _ in range(2)]
        app.extensions["registry.db"].engine.dispose()

    assert results == [(0, "database at revision head\n")] * 2


def test_import_participants_missing_file_is_a_usage_error(app: Flask, tmp_path: Path) -> None:
    code, output = invoke(app, "import", "participants", str(tmp_path / "absent.csv"))

    assert code == 2
    assert "does not exist" in output


def test_import_participants_help_lists_the_columns(app: Flask) -> None:
    code, output = invoke(app, "import", "participants", "--help")

    assert code == 0
    assert "nhs_number" in output and "consent_commercial_partners" in output


def test_demo_seed_needs_at_least_one_participant(app: Flask) -> None:
    code, output = invoke(app, "demo", "seed", "--participants", "0")

    assert code == 2
    assert "Invalid value for '--participants'" in output


def test_users_deactivate_refuses_the_last_active_admin(
    app: Flask, create_account: Callable[..., Account]
) -> None:
    admin = create_account(Role.ADMIN)
    with app.app_context():
        session().execute(
            update(User)
            .where(User.role == Role.ADMIN, User.id != admin.user.id)
            .values(is_active=False)
        )
        session().commit()

    code, output = invoke(app, "users", "deactivate", "--email", admin.email)

    assert code == 1
    assert "is the only active admin" in output
