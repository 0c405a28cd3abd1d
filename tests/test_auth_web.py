"""Sign-in, second factor, sessions and sign-out through the real pages."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.audit.models import AuditEvent
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.db import session
from tests.conftest import (
    PASSWORD,
    Account,
    committed_accounts,
    csrf_token_from,
    isolated_app,
    post_form,
)

SessionCookie = str


def _session_cookie(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("registry_session")
    return cookie.value if cookie else None


def test_sign_in_page_renders_form_with_csrf_token(client: FlaskClient) -> None:
    response = client.get("/sign-in")

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sign in" in html
    assert csrf_token_from(html)


def test_sign_in_researcher_reaches_role_home_page(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    account = create_account(Role.RESEARCHER)

    sign_in(account)
    home = client.get("/")

    html = home.get_data(as_text=True)
    assert "Query the cohorts and see exact counts" in html
    assert "a researcher" in html


def test_sign_in_wrong_password_and_unknown_user_get_same_answer(
    client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)

    wrong_password = post_form(client, "/sign-in", {"email": account.email, "password": "x" * 12})
    unknown_user = post_form(
        client, "/sign-in", {"email": "nobody@example.nhs.uk", "password": "x" * 12}
    )

    assert wrong_password.status_code == unknown_user.status_code == 200
    assert _page_without_form_values(wrong_password) == _page_without_form_values(unknown_user)
    assert "Enter a correct email address and password." in wrong_password.get_data(as_text=True)


def test_sign_in_with_a_nul_character_is_a_bad_request_not_an_error(
    client: FlaskClient,
) -> None:
    """PostgreSQL cannot compare text holding a NUL: the look-up used to fail (500)."""
    response = post_form(
        client, "/sign-in", {"email": "someone\x00@example.nhs.uk", "password": "x" * 12}
    )

    assert response.status_code == 400
    assert "Traceback" not in response.get_data(as_text=True)


def _page_without_form_values(response: Any) -> str:
    """The page as the user sees it, minus what they typed and the per-page CSRF token."""
    return re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))


def test_sign_in_failures_are_audited_without_the_password(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)

    post_form(client, "/sign-in", {"email": account.email, "password": "wrong-password-1"})

    with app.app_context():
        event = (
            session()
            .scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "auth.sign_in")
                .order_by(AuditEvent.seq.desc())
            )
            .first()
        )
        assert event is not None
        assert event.outcome == "denied"
        assert event.target_id == str(account.user.id)
        assert "wrong-password-1" not in event.details


def test_sign_in_throttled_after_repeated_failures(
    client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)
    for _ in range(10):
        post_form(client, "/sign-in", {"email": account.email, "password": "not the password"})

    response = post_form(client, "/sign-in", {"email": account.email, "password": PASSWORD})

    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert "Too many" in response.get_data(as_text=True)


def test_sign_in_throttle_does_not_count_successes(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    account = create_account(Role.RESEARCHER)

    for _ in range(12):
        response = sign_in(account)
        client.post(
            "/sign-out",
            data={"csrf_token": csrf_token_from(client.get("/").get_data(as_text=True))},
        )

    assert response.status_code == 302


def test_sign_in_changes_the_session_cookie(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    account = create_account(Role.RESEARCHER)
    client.get("/sign-in")
    before = _session_cookie(client)

    sign_in(account)

    after = _session_cookie(client)
    assert before and after and before != after


def test_sign_out_ends_session_even_for_a_replayed_cookie(
    app: Flask, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    account = create_account(Role.RESEARCHER)
    browser = app.test_client()
    sign_in(account, test_client=browser)
    stolen = _session_cookie(browser)
    token = csrf_token_from(browser.get("/").get_data(as_text=True))

    browser.post("/sign-out", data={"csrf_token": token})
    attacker = app.test_client()
    attacker.set_cookie("registry_session", stolen or "")
    response = attacker.get("/api/v1/me")

    assert response.status_code == 401


def test_sign_out_requires_post(client: FlaskClient) -> None:
    response = client.get("/sign-out")

    assert response.status_code == 405


def test_idle_session_expires_after_fifteen_minutes(
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = create_account(Role.RESEARCHER)
    sign_in(account)
    assert client.get("/api/v1/me").status_code == 200
    real_time = time.time

    monkeypatch.setattr(time, "time", lambda: real_time() + 16 * 60)
    response = client.get("/api/v1/me")

    assert response.status_code == 401


def test_absolute_session_limit_is_twelve_hours_even_when_active(
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = create_account(Role.RESEARCHER)
    sign_in(account)

    # Active every ten minutes for twelve hours and ten minutes.
    assert _active_every_ten_minutes(client, monkeypatch, 73)[-1] == 401


def _active_every_ten_minutes(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch, times: int
) -> list[int]:
    """Ask for one's own account every ten minutes from now, ``times`` times; the answers'
    statuses."""
    real_time = time.time
    statuses = []
    for step in range(1, times + 1):
        monkeypatch.setattr(time, "time", lambda s=step: real_time() + s * 600)
        statuses.append(client.get("/api/v1/me").status_code)
    return statuses


def test_form_post_without_csrf_token_is_refused(
    client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)

    response = client.post("/sign-in", data={"email": account.email, "password": PASSWORD})

    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)


def test_clinician_first_sign_in_sets_up_second_factor(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.CLINICIAN, with_totp=False)

    first = post_form(client, "/sign-in", {"email": account.email, "password": PASSWORD})
    setup_page = client.get(first.headers["Location"])
    html = setup_page.get_data(as_text=True)
    secret = re.search(r'data-testid="totp-key">([A-Z2-7]+)<', html)
    assert secret
    done = client.post(
        "/sign-in/set-up-security-code",
        data={"csrf_token": csrf_token_from(html), "code": pyotp.TOTP(secret.group(1)).now()},
    )

    assert first.headers["Location"].endswith("/sign-in/set-up-security-code")
    assert "data:image/svg+xml" in html
    assert done.status_code == 302
    assert client.get("/api/v1/me").get_json()["role"] == "clinician"
    with app.app_context():
        user = session().get(User, account.user.id)
        assert user is not None and user.totp_secret_sealed is not None
        assert secret.group(1).encode() not in user.totp_secret_sealed


def test_clinician_cannot_skip_second_factor(
    client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.CLINICIAN)

    post_form(client, "/sign-in", {"email": account.email, "password": PASSWORD})
    response = client.get("/api/v1/me")

    assert response.status_code == 401


def test_totp_code_is_accepted_once_only(
    app: Flask, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.ADMIN)
    assert account.totp_secret
    code = pyotp.TOTP(account.totp_secret).now()
    first, second = app.test_client(), app.test_client()

    post_form(first, "/sign-in", {"email": account.email, "password": PASSWORD})
    accepted = post_form(first, "/sign-in/security-code", {"code": code})
    post_form(second, "/sign-in", {"email": account.email, "password": PASSWORD})
    replayed = post_form(second, "/sign-in/security-code", {"code": code})

    assert accepted.status_code == 302
    assert replayed.status_code == 200
    assert "already used" in replayed.get_data(as_text=True)
    assert second.get("/api/v1/me").status_code == 401


def test_one_time_password_must_be_changed_before_anything_else(
    app: Flask, client: FlaskClient
) -> None:
    from registry.audit.actions import Actor
    from registry.auth.actions import create_user

    with app.test_request_context():
        created = create_user(
            email="new.researcher@example.nhs.uk",
            name="New Researcher",
            role=Role.RESEARCHER,
            by=Actor.command_line(),
        )
        session().commit()
    assert created.password

    post_form(
        client, "/sign-in", {"email": "new.researcher@example.nhs.uk", "password": created.password}
    )
    home = client.get("/")
    blocked_api = client.get("/api/v1/me")
    changed = post_form(
        client,
        "/account/password",
        {"current_password": created.password, "new_password": "a brand new passphrase"},
    )

    assert home.status_code == 302 and home.headers["Location"].endswith("/account/password")
    assert blocked_api.status_code == 403
    assert blocked_api.get_json()["error"]["code"] == "password_change_required"
    assert changed.status_code == 302
    assert client.get("/api/v1/me").status_code == 200


def test_open_redirect_after_sign_in_is_refused(
    client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)

    response = post_form(
        client,
        "/sign-in?next=//evil.example/phish",
        {"email": account.email, "password": PASSWORD},
    )

    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_deactivated_user_session_ends_at_once(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
) -> None:
    from registry.audit.actions import Actor
    from registry.auth.actions import deactivate_user

    account = create_account(Role.RESEARCHER)
    sign_in(account)
    with app.test_request_context():
        user = session().get(User, account.user.id)
        assert user is not None
        deactivate_user(user, by=Actor.command_line())
        session().commit()

    response = client.get("/api/v1/me")

    assert response.status_code == 401


def test_password_change_needs_the_current_password(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    account = create_account(Role.RESEARCHER)
    sign_in(account)

    wrong = post_form(
        client,
        "/account/password",
        {"current_password": "not my password", "new_password": "x" * 20},
    )
    short = post_form(
        client, "/account/password", {"current_password": PASSWORD, "new_password": "short"}
    )
    right = post_form(
        client, "/account/password", {"current_password": PASSWORD, "new_password": "y" * 20}
    )

    assert "Your current password is not correct." in wrong.get_data(as_text=True)
    assert "Use between 12 and 128 characters." in short.get_data(as_text=True)
    assert right.status_code == 302


def test_sign_in_over_https_uses_the_host_prefixed_cookie(tmp_path: Path) -> None:
    # As a browser under Referrer-Policy: no-referrer posts the form: with no Referer header.
    https = "https://registry.example"
    with isolated_app(tmp_path, session_cookie_secure=True) as (app, _url):
        committed_accounts(app, "RHP", (Role.RESEARCHER,))
        browser = app.test_client()
        page = browser.get("/sign-in", base_url=https)
        signed_in = browser.post(
            "/sign-in",
            base_url=https,
            data={
                "email": "researcher.0@example.nhs.uk",
                "password": PASSWORD,
                "csrf_token": csrf_token_from(page.get_data(as_text=True)),
            },
        )
        me = browser.get("/api/v1/me", base_url=https)

    assert signed_in.status_code == 302
    assert browser.get_cookie("__Host-registry_session", domain="registry.example") is not None
    assert browser.get_cookie("registry_session", domain="registry.example") is None
    assert me.status_code == 200


def _change_password(browser: FlaskClient) -> Any:
    return post_form(
        browser,
        "/account/password",
        {"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )


def test_password_change_ends_every_other_session_and_keeps_this_one(
    app: Flask, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    account = create_account(Role.RESEARCHER)
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(account, test_client=here)
    sign_in(account, test_client=elsewhere)
    assert elsewhere.get("/api/v1/me").status_code == 200
    before_change = _session_cookie(here)

    changed = _change_password(here)
    replayed = app.test_client()
    replayed.set_cookie("registry_session", before_change or "")

    assert changed.status_code == 302
    assert "signed out everywhere else" in here.get("/").get_data(as_text=True)
    assert here.get("/api/v1/me").status_code == 200
    assert elsewhere.get("/api/v1/me").status_code == 401
    assert replayed.get("/api/v1/me").status_code == 401  # the cookie was re-issued
    with app.app_context():
        event = (
            session()
            .scalars(
                select(AuditEvent)
                .where(AuditEvent.action == "user.change_password")
                .where(AuditEvent.target_id == str(account.user.id))
            )
            .one()
        )
    assert event.outcome == "success"
    assert event.actor == f"user:{account.user.id}"
    assert json.loads(event.details) == {"sessions_ended": True}


def test_password_change_does_not_extend_the_twelve_hour_limit(
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    account = create_account(Role.RESEARCHER)
    sign_in(account)
    real_time = time.time
    # Active every ten minutes; the password changed after 11 hours 50 minutes.
    assert set(_active_every_ten_minutes(client, monkeypatch, 71)) == {200}
    assert _change_password(client).status_code == 302
    still_in = client.get("/api/v1/me")

    # Eleven minutes later: not idle for long, but twelve hours and a minute since sign-in.
    monkeypatch.setattr(time, "time", lambda: real_time() + 71 * 600 + 11 * 60)
    response = client.get("/api/v1/me")

    assert still_in.status_code == 200
    assert response.status_code == 401


TWO_FAILURES_PER_ADDRESS = {"sign_in_limit_per_address": "2 per 15 minutes"}


def _failed_sign_in(browser: FlaskClient, n: int, forwarded_for: str) -> int:
    response = post_form(
        browser,
        "/sign-in",
        {"email": f"nobody{n}@example.nhs.uk", "password": "not the password"},
        headers={"X-Forwarded-For": forwarded_for},
    )
    status: int = response.status_code
    return status


def test_behind_one_proxy_the_forwarded_client_address_is_used_and_throttled(
    tmp_path: Path,
) -> None:
    with isolated_app(tmp_path, proxy_hops=1, **TWO_FAILURES_PER_ADDRESS) as (app, _url):
        browser = app.test_client()
        with browser:
            # The proxy appends the address it saw; what the client sent before is not trusted.
            browser.get(
                "/sign-in",
                headers={
                    "X-Forwarded-For": "198.51.100.66, 203.0.113.9",
                    "X-Forwarded-Proto": "https",
                },
            )
            address, secure = request.remote_addr, request.is_secure
        one_client = [_failed_sign_in(browser, n, "203.0.113.9") for n in range(3)]
        another_client = _failed_sign_in(browser, 3, "198.51.100.7")

    assert address == "203.0.113.9"
    assert secure
    assert one_client == [200, 200, 429]
    assert another_client == 200


def test_without_proxies_x_forwarded_for_is_ignored(tmp_path: Path) -> None:
    with isolated_app(tmp_path, **TWO_FAILURES_PER_ADDRESS) as (app, _url):
        browser = app.test_client()
        with browser:
            browser.get("/sign-in", headers={"X-Forwarded-For": "203.0.113.9"})
            address = request.remote_addr
        # Changing the header each time does not escape the per-address throttle.
        statuses = [
            _failed_sign_in(browser, n, forwarded_for)
            for n, forwarded_for in enumerate(["203.0.113.9", "203.0.113.10", "203.0.113.11"])
        ]

    assert address == "127.0.0.1"
    assert statuses == [200, 200, 429]
