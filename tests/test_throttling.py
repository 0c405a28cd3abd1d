"""Throttles an attacker cannot step around: second-factor guessing, API buckets, and
counters shared by every worker (issue #16, findings 1, 3 and 4)."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Select, select

from registry.audit.models import AuditEvent
from registry.auth.permissions import Role
from registry.db import session
from tests.conftest import PASSWORD, Account, ApiUser, csrf_token_from, post_form


def _wrong_codes(secret: str) -> list[str]:
    """Six-digit codes that are neither this step's nor the last one's."""
    totp, now = pyotp.TOTP(secret), dt.datetime.now(dt.UTC)
    valid = {totp.at(now + dt.timedelta(seconds=s)) for s in (-30, 0, 30, 60)}
    return [f"{n:06d}" for n in range(200) if f"{n:06d}" not in valid]


def _enter_password(client: FlaskClient, account: Account) -> None:
    response = post_form(client, "/sign-in", {"email": account.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/sign-in/security-code")


def _use_up_the_accounts_codes(client: FlaskClient, account: Account, wrong: Iterator[str]) -> None:
    """Ten wrong codes, five in each of two pending sign-ins: the account's fifteen
    minutes' worth, however the password is entered again in between."""
    for _ in range(2):
        _enter_password(client, account)
        for _ in range(5):
            post_form(client, "/sign-in/security-code", {"code": next(wrong)})


def _signed_in(client: FlaskClient) -> bool:
    return client.get("/account/password").status_code == 200


def _denied_code_events(app: Flask, account: Account) -> list[AuditEvent]:
    with app.app_context():
        return list(
            session().scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "auth.totp_verify",
                    AuditEvent.outcome == "denied",
                    AuditEvent.target_id == str(account.user.id),
                )
            )
        )


def _throttled_at(path: str) -> Select[AuditEvent]:
    return select(AuditEvent).where(
        AuditEvent.action == "security.throttled", AuditEvent.target_id == path
    )


# -- finding 1: the second-factor throttle ------------------------------------------------


def test_security_code_guesses_with_a_fresh_email_field_each_time_do_not_sign_in(
    client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    """The attack: a new random ``email=`` field on every guess used to give every guess
    a fresh per-account bucket, so 100 wrong codes and then the right one signed in."""
    account = create_account(Role.CLINICIAN)
    assert account.totp_secret
    _enter_password(client, account)
    token = csrf_token_from(client.get("/sign-in/security-code").get_data(as_text=True))

    for n, code in enumerate(_wrong_codes(account.totp_secret)[:100]):
        client.post(
            "/sign-in/security-code",
            data={"code": code, "csrf_token": token, "email": f"x{n}{secrets.token_hex(4)}@a.b"},
        )
    right = client.post(
        "/sign-in/security-code",
        data={"code": pyotp.TOTP(account.totp_secret).now(), "csrf_token": token},
    )

    assert right.status_code != 302 or right.headers["Location"].endswith("/sign-in")
    assert not _signed_in(client)


def test_security_code_failures_end_the_pending_sign_in(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.CLINICIAN)
    assert account.totp_secret
    _enter_password(client, account)
    wrong = _wrong_codes(account.totp_secret)

    answers = [post_form(client, "/sign-in/security-code", {"code": code}) for code in wrong[:5]]
    told = client.get("/sign-in").get_data(as_text=True)
    after = client.get("/sign-in/security-code")

    assert [a.status_code for a in answers[:4]] == [200] * 4
    assert answers[4].status_code == 302
    assert answers[4].headers["Location"].endswith("/sign-in")
    assert "too many incorrect security codes. Enter your password again." in told
    assert after.status_code == 302 and after.headers["Location"].endswith("/sign-in")
    assert not _signed_in(client)
    assert len(_denied_code_events(app, account)) == 5


def test_security_code_failures_are_not_forgotten_by_replaying_an_older_cookie(
    client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    """The failure count is kept on the server: the signed cookie from before the guesses
    names the same pending sign-in, which has ended."""
    account = create_account(Role.CLINICIAN)
    assert account.totp_secret
    _enter_password(client, account)
    cookie_before = client.get_cookie("registry_session")
    assert cookie_before is not None
    for code in _wrong_codes(account.totp_secret)[:5]:
        post_form(client, "/sign-in/security-code", {"code": code})

    client.set_cookie("registry_session", cookie_before.value)
    replayed = client.get("/sign-in/security-code")

    assert replayed.status_code == 302
    assert replayed.headers["Location"].endswith("/sign-in")


def test_security_code_after_the_password_again_signs_in(
    client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.CLINICIAN)
    assert account.totp_secret
    _enter_password(client, account)
    for code in _wrong_codes(account.totp_secret)[:5]:
        post_form(client, "/sign-in/security-code", {"code": code})

    _enter_password(client, account)
    response = post_form(
        client, "/sign-in/security-code", {"code": pyotp.TOTP(account.totp_secret).now()}
    )

    assert response.status_code == 302
    assert _signed_in(client)


def test_security_code_page_is_throttled_per_account_across_pending_sign_ins(
    client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    """Entering the password again starts a new pending sign-in, but not a new bucket:
    ten wrong codes in fifteen minutes per account, however they are spread."""
    account = create_account(Role.CLINICIAN)
    assert account.totp_secret
    wrong = iter(_wrong_codes(account.totp_secret))
    _use_up_the_accounts_codes(client, account, wrong)

    _enter_password(client, account)
    response = post_form(
        client, "/sign-in/security-code", {"code": pyotp.TOTP(account.totp_secret).now()}
    )

    assert response.status_code == 429
    assert "Retry-After" in response.headers
    assert not _signed_in(client)


def test_security_code_page_is_throttled_per_address(
    client: FlaskClient,
    create_account: Callable[..., Account],
    settings_with: Callable[..., None],
) -> None:
    settings_with(sign_in_limit_per_address="3 per 15 minutes")
    accounts = [create_account(Role.CLINICIAN) for _ in range(2)]
    statuses = []
    for account in accounts:
        assert account.totp_secret
        _enter_password(client, account)
        for code in _wrong_codes(account.totp_secret)[:2]:
            statuses.append(post_form(client, "/sign-in/security-code", {"code": code}).status_code)

    assert statuses == [200, 200, 200, 429]


def test_throttled_security_codes_are_audited(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.CLINICIAN)
    assert account.totp_secret
    wrong = iter(_wrong_codes(account.totp_secret))
    _use_up_the_accounts_codes(client, account, wrong)
    _enter_password(client, account)
    post_form(client, "/sign-in/security-code", {"code": next(wrong)})

    with app.app_context():
        throttled = session().scalars(_throttled_at("/sign-in/security-code")).all()
        ended = (
            session()
            .scalars(select(AuditEvent).where(AuditEvent.action == "auth.second_factor_ended"))
            .all()
        )
    assert [e.outcome for e in throttled] == ["refused"]
    assert len(ended) == 2


# -- finding 4: the API's rate-limit key ---------------------------------------------------


@pytest.mark.parametrize(
    "spellings",
    [
        ["Bearer {t}", "bearer {t}", "Bearer  {t}", "BEARER {t}", "Bearer {t} "],
    ],
)
def test_api_limit_is_one_bucket_per_token_however_the_header_is_spelt(
    client: FlaskClient,
    researcher: ApiUser,
    settings_with: Callable[..., None],
    spellings: list[str],
) -> None:
    settings_with(api_rate_limit="3 per minute")
    token = researcher.headers["Authorization"].removeprefix("Bearer ")

    statuses = [
        client.get(
            "/api/v1/eligibility/fields", headers={"Authorization": s.format(t=token)}
        ).status_code
        for s in spellings
    ]

    assert statuses == [200, 200, 200, 429, 429]


def test_api_limit_junk_authorization_headers_share_the_address_bucket(
    client: FlaskClient, settings_with: Callable[..., None]
) -> None:
    settings_with(api_rate_limit="3 per minute")

    statuses = [
        client.get("/api/v1/health", headers={"Authorization": f"junk {n}"}).status_code
        for n in range(5)
    ]

    assert statuses == [200, 200, 200, 429, 429]


def test_api_rate_limit_refusals_are_audited_at_most_a_few_times(
    app: Flask, client: FlaskClient, settings_with: Callable[..., None]
) -> None:
    """A flood of refusals must not fill the audit log: the record is throttled too."""
    settings_with(api_rate_limit="1 per minute")
    for _ in range(200):
        client.get("/api/v1/health")

    with app.app_context():
        recorded: list[Any] = list(session().scalars(_throttled_at("/api/v1/health")))
    assert 1 <= len(recorded) <= 30


def test_csrf_failures_are_audited(app: Flask, client: FlaskClient) -> None:
    response = client.post("/sign-in", data={"email": "a@example.nhs.uk", "password": "x" * 12})

    with app.app_context():
        events = list(
            session().scalars(select(AuditEvent).where(AuditEvent.action == "security.csrf_failed"))
        )
    assert response.status_code == 400
    assert [(e.target_id, e.outcome) for e in events] == [("/sign-in", "refused")]
    assert "a@example.nhs.uk" not in events[0].details
