"""Single sign-on against a real OpenID Connect provider on the loopback interface.

oidc-provider-mock runs in a thread; the Flask test client follows the registry's redirect
to it, the provider's form is posted with the person's subject (as a person would click),
and its redirect back to the callback is followed. The provider signs whatever claims a
person has (PUT /users/<sub>), which override the standard ones: that is how a token with
another audience, an expiry in the past or an old auth_time is produced, signed with the
provider's real key. (Its tokens carry auth_time: Authlib, which it runs on, sets it to the
moment the token is issued unless the person's claims say otherwise.)
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from oidc_provider_mock import _app as provider_app
from oidc_provider_mock import run_server_in_thread
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from registry import create_app
from registry.audit.actions import Actor
from registry.audit.models import AuditEvent
from registry.auth import actions as auth_actions
from registry.auth import oidc
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.db import session
from tests.conftest import (
    PASSWORD,
    Account,
    _limiter_store_kept,
    csrf_token_from,
    make_settings,
    post_form,
)

CIS2_AAL3 = "urn:nhs:cis2:aal3"  # an acr the configuration names as multi-factor


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def app(
    database_url: str,
    keyring_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
    issuer: str,
) -> Iterator[Flask]:
    """The registry configured for the provider; local passwords only for researchers and
    partners (clinicians and admins sign in through the provider)."""
    settings = make_settings(
        database_url,
        keyring_path,
        tmp_path_factory.mktemp("oidc-inst"),
        oidc_issuer=issuer,
        oidc_client_id="registry",
        oidc_client_secret="not-a-real-secret",  # the mock accepts any
        oidc_provider_name="NHS Care Identity",
        oidc_mfa_amr="mfa,hwk",
        oidc_mfa_acr=CIS2_AAL3,
        password_roles="researcher,partner",
    )
    with _limiter_store_kept():
        flask_app = create_app(settings)
        yield flask_app
        flask_app.extensions["registry.db"].engine.dispose()


def _person(issuer: str, **claims: Any) -> str:
    """A person at the provider with these claims; their subject."""
    subject = f"person-{secrets.token_hex(6)}"
    response = requests.put(f"{issuer}/users/{subject}", json=claims, timeout=10)
    assert response.status_code == 204
    return subject


def _to_provider(client: FlaskClient, next_url: str | None = None) -> str:
    """Press "Sign in with ...": the provider's authorisation URL the registry sent us to."""
    response = client.get("/sign-in/oidc", query_string={"next": next_url} if next_url else {})
    assert response.status_code == 302
    return response.headers["Location"]


def _at_provider(authorize_url: str, subject: str) -> str:
    """The person signs in at the provider; the callback path and query it sends back."""
    response = requests.post(
        authorize_url, data={"sub": subject}, allow_redirects=False, timeout=10
    )
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["Location"])
    assert back.path == "/sign-in/oidc/callback"
    return f"{back.path}?{back.query}"


def _sign_in_through_provider(client: FlaskClient, subject: str) -> TestResponse:
    return client.get(_at_provider(_to_provider(client), subject))


def _verified(account: Account, **claims: Any) -> dict[str, Any]:
    return {"email": account.email, "email_verified": True, **claims}


def _latest(app: Flask, action: str) -> AuditEvent:
    with app.app_context():
        event = (
            session()
            .scalars(
                select(AuditEvent)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.seq.desc())
            )
            .first()
        )
        assert event is not None
        return event


def _last_sign_in(app: Flask) -> AuditEvent:
    return _latest(app, "auth.sign_in")


def _assert_refused(app: Flask, response: TestResponse, reason: str) -> None:
    assert response.status_code == 403
    assert "You are not signed in" in response.get_data(as_text=True)
    event = _last_sign_in(app)
    assert event.outcome == "denied"
    assert json.loads(event.details) == {"method": "oidc", "reason": reason}


def _user_count(app: Flask) -> int:
    with app.app_context():
        return session().scalar(select(func.count(User.id))) or 0


def _linked_subject(app: Flask, account: Account) -> str | None:
    with app.app_context():
        user = session().get(User, account.user.id)
        assert user is not None
        return user.oidc_subject


# -- a good sign-in --------------------------------------------------------------------------


def test_sign_in_page_offers_the_provider_by_name(client: FlaskClient) -> None:
    html = client.get("/sign-in").get_data(as_text=True)

    assert "Sign in with NHS Care Identity" in html
    assert 'href="/sign-in/oidc"' in html


def test_provider_sign_in_with_mfa_asserted_lands_on_home_without_registry_code(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["pwd", "mfa"]))

    callback = _sign_in_through_provider(client, subject)
    home = client.get("/")

    assert callback.status_code == 302
    assert callback.headers["Location"] == "/"
    assert home.status_code == 200
    assert "a clinician" in home.get_data(as_text=True)
    assert _linked_subject(app, account) == subject
    event = _last_sign_in(app)
    assert event.outcome == "success"
    assert json.loads(event.details) == {
        "second_factor": True,
        "method": "oidc",
        "second_factor_by": "provider",
    }


def test_provider_sign_in_sends_pkce_state_and_nonce(client: FlaskClient) -> None:
    query = parse_qs(urlsplit(_to_provider(client)).query)

    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["openid email profile"]
    assert len(query["state"][0]) >= 32
    assert len(query["nonce"][0]) >= 32
    assert query["redirect_uri"] == ["http://localhost/sign-in/oidc/callback"]


def test_provider_sign_in_goes_back_to_the_page_asked_for(
    client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.ADMIN)
    subject = _person(issuer, **_verified(account, acr=CIS2_AAL3))

    callback = client.get(_at_provider(_to_provider(client, "/participants/"), subject))

    assert callback.headers["Location"] == "/participants/"


def test_linked_subject_signs_in_even_when_the_email_changed(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["mfa"]))
    _sign_in_through_provider(client, subject)
    requests.put(
        f"{issuer}/users/{subject}",
        json={"email": "renamed@example.nhs.uk", "email_verified": True, "amr": ["mfa"]},
        timeout=10,
    )

    again = _sign_in_through_provider(app.test_client(), subject)

    assert again.status_code == 302
    assert _last_sign_in(app).outcome == "success"


def test_an_account_an_admin_linked_signs_in_with_no_verified_email(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    """Microsoft Entra ID sends no email_verified: an admin links the subject beforehand."""
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, email=account.email, amr=["mfa"])
    with app.test_request_context():
        user = session().get(User, account.user.id)
        assert user is not None
        oidc.link_subject(user, issuer=issuer, subject=subject, by=Actor.command_line())
        session().commit()

    callback = _sign_in_through_provider(client, subject)

    assert callback.status_code == 302
    assert callback.headers["Location"] == "/"
    assert _last_sign_in(app).outcome == "success"


@pytest.fixture
def linked_by_object_id(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """The registry configured as for Entra ID: REGISTRY_OIDC_SUBJECT_CLAIM=oid."""
    monkeypatch.setitem(
        app.config,
        "SETTINGS",
        dataclasses.replace(app.config["SETTINGS"], oidc_subject_claim="oid"),
    )


@pytest.mark.usefixtures("linked_by_object_id")
def test_entra_accounts_are_known_by_their_object_id_when_configured(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    """With REGISTRY_OIDC_SUBJECT_CLAIM=oid the registry matches Entra ID's object id (the one
    its directory shows), not the per-application sub."""
    account = create_account(Role.CLINICIAN)
    object_id = f"entra-object-{secrets.token_hex(4)}"
    subject = _person(issuer, email=account.email, oid=object_id, amr=["mfa"])
    with app.test_request_context():
        user = session().get(User, account.user.id)
        assert user is not None
        oidc.link_subject(user, issuer=issuer, subject=object_id, by=Actor.command_line())
        session().commit()

    callback = _sign_in_through_provider(client, subject)

    assert callback.headers["Location"] == "/"
    assert _last_sign_in(app).outcome == "success"


@pytest.mark.usefixtures("linked_by_object_id")
def test_a_token_without_the_configured_subject_claim_is_refused(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["mfa"]))  # no oid

    _assert_refused(app, _sign_in_through_provider(client, subject), "token_invalid")


def test_provider_without_mfa_goes_on_to_the_registry_security_code(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN, with_totp=False)
    subject = _person(issuer, **_verified(account, amr=["pwd"], acr="urn:nhs:cis2:aal1"))

    callback = _sign_in_through_provider(client, subject)

    assert callback.headers["Location"] == "/sign-in/set-up-security-code"
    assert client.get("/account/password").status_code == 302  # not until the code is given
    assert _linked_subject(app, account) == subject


def test_provider_without_mfa_then_security_code_signs_in_as_oidc(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    assert account.totp_secret is not None
    subject = _person(issuer, **_verified(account))

    callback = _sign_in_through_provider(client, subject)
    code = post_form(
        client,
        "/sign-in/security-code",
        {"code": pyotp.TOTP(account.totp_secret).now()},
    )

    assert callback.headers["Location"] == "/sign-in/security-code"
    assert code.status_code == 302
    assert json.loads(_last_sign_in(app).details) == {"second_factor": True, "method": "oidc"}


# -- how long ago the person proved who they are (max_age, auth_time) -------------------------

IDLE_TIMEOUT_SECONDS = 15 * 60  # the default idle_timeout_minutes


def test_provider_is_asked_for_a_sign_in_no_older_than_the_idle_timeout(
    client: FlaskClient,
) -> None:
    """Once the registry's session has timed out, the next person at the workstation must
    not be let in on the provider's session of the last one: max_age asks the provider to
    have the person prove who they are again if they did so longer ago than that."""
    query = parse_qs(urlsplit(_to_provider(client)).query)

    assert query["max_age"] == [str(IDLE_TIMEOUT_SECONDS)]


def test_max_age_may_be_set_apart_from_the_idle_timeout(
    client: FlaskClient, settings_with: Callable[..., None]
) -> None:
    settings_with(oidc_max_age_seconds=0)  # prove who you are at every sign-in

    query = parse_qs(urlsplit(_to_provider(client)).query)

    assert query["max_age"] == ["0"]


# What the token's auth_time says, given the time now, and the refusal it earns. Too old: a
# provider that ignores max_age (and lets the last person's session through) is caught.
UNFIT_AUTH_TIMES = [
    pytest.param(
        lambda now: now - IDLE_TIMEOUT_SECONDS - oidc.CLOCK_LEEWAY_SECONDS - 30,
        "authentication_too_old",
        id="older-than-max-age",
    ),
    pytest.param(lambda now: now + oidc.CLOCK_LEEWAY_SECONDS + 300, "token_invalid", id="future"),
    pytest.param(lambda now: None, "no_auth_time", id="null"),
    pytest.param(lambda now: "yesterday", "token_invalid", id="text"),
    pytest.param(lambda now: True, "token_invalid", id="boolean"),
]


@pytest.mark.parametrize(("auth_time", "reason"), UNFIT_AUTH_TIMES)
def test_a_token_whose_auth_time_does_not_vouch_for_this_sign_in_is_refused(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issuer: str,
    auth_time: Callable[[int], object],
    reason: str,
) -> None:
    account = create_account(Role.CLINICIAN)
    claims = _verified(account, amr=["mfa"], auth_time=auth_time(int(time.time())))
    subject = _person(issuer, **claims)

    response = _sign_in_through_provider(client, subject)

    _assert_refused(app, response, reason)
    assert _signed_out_of_the_registry(client)
    assert _linked_subject(app, account) is None


def test_a_token_without_auth_time_is_refused(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issuer: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """max_age was asked for, so the token must say when the person signed in (Core 3.1.2.1).
    The mock always says; for this test only, its tokens leave auth_time out."""
    with_auth_time = provider_app.OpenIDCode.get_compatible_claims

    def without_auth_time(self: Any, request: Any) -> dict[str, Any]:
        claims: dict[str, Any] = with_auth_time(self, request)
        claims.pop("auth_time", None)
        return claims

    monkeypatch.setattr(provider_app.OpenIDCode, "get_compatible_claims", without_auth_time)
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["mfa"]))

    response = _sign_in_through_provider(client, subject)

    _assert_refused(app, response, "no_auth_time")
    assert _signed_out_of_the_registry(client)
    assert _linked_subject(app, account) is None


@pytest.mark.parametrize(
    "seconds_ago",
    [
        0,
        IDLE_TIMEOUT_SECONDS - 60,
        IDLE_TIMEOUT_SECONDS + oidc.CLOCK_LEEWAY_SECONDS - 20,  # within the clock skew
    ],
)
def test_a_token_for_a_recent_enough_sign_in_signs_in(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issuer: str,
    seconds_ago: int,
) -> None:
    account = create_account(Role.CLINICIAN)
    auth_time = int(time.time()) - seconds_ago
    subject = _person(issuer, **_verified(account, amr=["mfa"], auth_time=auth_time))

    callback = _sign_in_through_provider(client, subject)

    assert callback.status_code == 302
    assert callback.headers["Location"] == "/"
    assert client.get("/account/password").status_code == 200
    assert _last_sign_in(app).outcome == "success"


def test_with_max_age_0_only_a_sign_in_made_for_this_request_is_accepted(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issuer: str,
    settings_with: Callable[..., None],
) -> None:
    settings_with(oidc_max_age_seconds=0)
    account = create_account(Role.CLINICIAN)
    earlier = int(time.time()) - oidc.CLOCK_LEEWAY_SECONDS - 120
    stale = _person(issuer, **_verified(account, amr=["mfa"], auth_time=earlier))
    _assert_refused(app, _sign_in_through_provider(client, stale), "authentication_too_old")

    fresh = _person(issuer, **_verified(account, amr=["mfa"]))  # auth_time: as it is issued
    callback = _sign_in_through_provider(app.test_client(), fresh)

    assert callback.status_code == 302
    assert _last_sign_in(app).outcome == "success"


# -- refusals --------------------------------------------------------------------------------


def test_unknown_email_is_refused_and_nothing_is_created(
    app: Flask, client: FlaskClient, issuer: str
) -> None:
    before = _user_count(app)
    subject = _person(issuer, email="stranger@example.nhs.uk", email_verified=True, amr=["mfa"])

    response = _sign_in_through_provider(client, subject)

    _assert_refused(app, response, "unknown_account")
    assert _user_count(app) == before
    assert client.get("/account/password").status_code == 302


def test_unverified_email_is_refused_and_not_linked(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, email=account.email, email_verified=False, amr=["mfa"])

    response = _sign_in_through_provider(client, subject)

    _assert_refused(app, response, "email_not_verified")
    assert _linked_subject(app, account) is None


def test_deactivated_account_is_refused(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    with app.test_request_context():
        user = session().get(User, account.user.id)
        assert user is not None
        auth_actions.deactivate_user(user, by=Actor.command_line())
        session().commit()
    subject = _person(issuer, **_verified(account, amr=["mfa"]))

    response = _sign_in_through_provider(client, subject)

    _assert_refused(app, response, "inactive")
    assert _last_sign_in(app).target_id == str(account.user.id)


def test_token_for_another_audience_is_refused(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["mfa"], aud="some-other-app"))

    response = _sign_in_through_provider(client, subject)

    _assert_refused(app, response, "wrong_audience")
    assert _linked_subject(app, account) is None


def test_expired_token_is_refused(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    an_hour_ago = int(time.time()) - 3600
    subject = _person(
        issuer, **_verified(account, amr=["mfa"], iat=an_hour_ago - 60, exp=an_hour_ago)
    )

    response = _sign_in_through_provider(client, subject)

    _assert_refused(app, response, "token_expired")


def test_replayed_callback_is_refused(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["mfa"]))
    callback = _at_provider(_to_provider(client), subject)
    assert client.get(callback).status_code == 302

    replayed = app.test_client().get(callback)  # the same code and state, another browser
    again_here = client.get(callback)  # and in the browser that used it

    _assert_refused(app, replayed, "no_sign_in_in_progress")
    _assert_refused(app, again_here, "no_sign_in_in_progress")


def test_replayed_code_with_a_new_sign_in_under_way_is_refused(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["mfa"]))
    used = _at_provider(_to_provider(client), subject)
    client.get(used)
    attacker = app.test_client()
    _to_provider(attacker)  # a sign-in of the attacker's own is waiting for its callback

    response = attacker.get(used)

    _assert_refused(app, response, "state_mismatch")


def test_state_mismatch_is_refused(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["mfa"]))
    callback = urlsplit(_at_provider(_to_provider(client), subject))
    query = parse_qs(callback.query)

    response = client.get(
        callback.path, query_string={"code": query["code"][0], "state": "forged-state"}
    )

    _assert_refused(app, response, "state_mismatch")
    assert _linked_subject(app, account) is None


def test_nonce_mismatch_is_refused(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["mfa"]))
    callback = _at_provider(_to_provider(client), subject)
    with client.session_transaction() as browser_session:
        # The token answers another sign-in than the one this browser is waiting for.
        pending = dict(browser_session["oidc_pending"])
        pending["nonce"] = "another-sign-in's-nonce"
        browser_session["oidc_pending"] = pending

    response = client.get(callback)

    _assert_refused(app, response, "nonce_mismatch")


def test_provider_error_is_refused(app: Flask, client: FlaskClient, issuer: str) -> None:
    state = parse_qs(urlsplit(_to_provider(client)).query)["state"][0]

    response = client.get(
        "/sign-in/oidc/callback", query_string={"error": "access_denied", "state": state}
    )

    _assert_refused(app, response, "provider_refused")


def test_nothing_identifying_is_audited(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["mfa"]))
    callback = _at_provider(_to_provider(client), subject)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    client.get(callback)

    with app.app_context():
        details = " ".join(
            event.details or ""
            for event in session().scalars(
                select(AuditEvent).where(AuditEvent.target_id == str(account.user.id))
            )
        )
    assert details
    for secret in (subject, code, account.email):
        assert secret not in details


# -- signing out: the provider's session ends too (RP-Initiated Logout 1.0) -------------------


def _sign_out(client: FlaskClient) -> TestResponse:
    token = csrf_token_from(client.get("/").get_data(as_text=True))
    return client.post("/sign-out", data={"csrf_token": token})


def _latest_sign_out(app: Flask) -> AuditEvent:
    return _latest(app, "auth.sign_out")


def _end_session_endpoint(issuer: str) -> str:
    discovery = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    endpoint: str = discovery["end_session_endpoint"]  # oidc-provider-mock publishes one
    return endpoint


def _signed_out_of_the_registry(client: FlaskClient) -> bool:
    response = client.get("/account/password")
    return response.status_code == 302 and response.headers["Location"].startswith("/sign-in")


def test_sign_out_after_provider_sign_in_ends_the_providers_session_too(
    client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    """On a shared workstation the next person to press "Sign in with ..." must not be let
    straight back in as the last one by the provider's own session."""
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["mfa"]))
    _sign_in_through_provider(client, subject)

    response = _sign_out(client)

    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert location._replace(query="").geturl() == _end_session_endpoint(issuer)
    assert parse_qs(location.query) == {
        "client_id": ["registry"],
        "post_logout_redirect_uri": ["http://localhost/sign-in"],
    }
    # No id_token_hint: the ID token carries the person's email, and URLs get logged.
    assert account.email not in response.headers["Location"]
    assert _signed_out_of_the_registry(client)
    assert "You have signed out." in client.get("/sign-in").get_data(as_text=True)


def test_sign_out_audit_says_the_providers_session_was_ended_too(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    subject = _person(issuer, **_verified(account, amr=["mfa"]))
    _sign_in_through_provider(client, subject)

    _sign_out(client)

    event = _latest_sign_out(app)
    assert event.target_id == str(account.user.id)
    assert json.loads(event.details) == {"provider_session": "ended"}
    for identifier in (subject, account.email):
        assert identifier not in event.details


def test_provider_accepts_the_sign_out_request(
    client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    _sign_in_through_provider(client, _person(issuer, **_verified(account, amr=["mfa"])))

    at_provider = requests.get(_sign_out(client).headers["Location"], timeout=10)

    assert at_provider.status_code == 200
    assert "http://localhost/sign-in" in at_provider.text  # where it will send the browser


def test_provider_sign_in_finished_with_the_registry_code_also_ends_the_providers_session(
    client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    assert account.totp_secret is not None
    _sign_in_through_provider(client, _person(issuer, **_verified(account)))
    post_form(client, "/sign-in/security-code", {"code": pyotp.TOTP(account.totp_secret).now()})

    response = _sign_out(client)

    assert response.headers["Location"].startswith(_end_session_endpoint(issuer))


def test_sign_out_after_password_sign_in_does_not_go_to_the_provider(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)
    post_form(client, "/sign-in", {"email": account.email, "password": PASSWORD})

    response = _sign_out(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in"
    assert _signed_out_of_the_registry(client)
    html = client.get("/sign-in").get_data(as_text=True)
    assert "You have signed out." in html
    assert "close the browser" not in html
    assert json.loads(_latest_sign_out(app).details) == {}  # no provider session to speak of


@pytest.fixture
def provider_without_end_session(issuer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A provider whose discovery document has no end_session_endpoint (Google's has none):
    the registry's cached copy of the mock's document, without it, for this test only."""
    metadata = dataclasses.replace(oidc.provider_metadata(issuer), end_session_endpoint=None)
    monkeypatch.setitem(oidc._metadata, issuer, (time.monotonic(), metadata))


@pytest.mark.usefixtures("provider_without_end_session")
def test_sign_out_with_a_provider_that_cannot_end_sessions_says_to_sign_out_there(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account], issuer: str
) -> None:
    account = create_account(Role.CLINICIAN)
    _sign_in_through_provider(client, _person(issuer, **_verified(account, amr=["mfa"])))

    response = _sign_out(client)

    assert response.status_code == 302
    assert response.headers["Location"] == "/sign-in"
    assert _signed_out_of_the_registry(client)
    html = client.get("/sign-in").get_data(as_text=True)
    assert "You have signed out of the registry" in html
    assert "also sign out of NHS Care Identity, or close the browser" in html
    assert json.loads(_latest_sign_out(app).details) == {"provider_session": "left"}


def test_provider_sign_out_can_be_turned_off(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    issuer: str,
    settings_with: Callable[..., None],
) -> None:
    settings_with(oidc_end_provider_session=False)
    account = create_account(Role.CLINICIAN)
    _sign_in_through_provider(client, _person(issuer, **_verified(account, amr=["mfa"])))

    response = _sign_out(client)

    assert response.headers["Location"] == "/sign-in"
    assert _signed_out_of_the_registry(client)
    html = client.get("/sign-in").get_data(as_text=True)
    assert "also sign out of NHS Care Identity, or close the browser" in html
    assert json.loads(_latest_sign_out(app).details) == {"provider_session": "left"}


def test_pages_let_the_sign_out_form_lead_on_to_the_provider(
    client: FlaskClient, issuer: str
) -> None:
    """Browsers hold a form's redirects to the page's form-action too: with only 'self',
    Chromium would stop the sign-out's redirect to the provider (the registry's session
    already ended, the page left as it was)."""
    policy = client.get("/sign-in").headers["Content-Security-Policy"]

    assert f"form-action 'self' {issuer};" in policy


# -- throttling ------------------------------------------------------------------------------


OIDC_LIMIT_PER_MINUTE = 30  # the default oidc_sign_in_limit_per_address


def test_callbacks_from_one_address_are_throttled(app: Flask, client: FlaskClient) -> None:
    """Each callback costs a refusal on record and, with a code, a call to the provider:
    a flood from one address is refused before any of that, far above what a person needs."""
    statuses = [
        client.get(
            "/sign-in/oidc/callback", query_string={"code": "junk", "state": f"junk-{n}"}
        ).status_code
        for n in range(OIDC_LIMIT_PER_MINUTE + 1)
    ]

    assert statuses == [403] * OIDC_LIMIT_PER_MINUTE + [429]
    throttled = client.get("/sign-in/oidc/callback", query_string={"state": "junk"})
    assert throttled.status_code == 429
    assert "Retry-After" in throttled.headers
    assert "Too many requests" in throttled.get_data(as_text=True)


def test_sign_in_starts_from_one_address_are_throttled(client: FlaskClient) -> None:
    statuses = [client.get("/sign-in/oidc").status_code for _ in range(OIDC_LIMIT_PER_MINUTE + 1)]

    assert statuses == [302] * OIDC_LIMIT_PER_MINUTE + [429]


def test_the_provider_routes_are_throttled_per_address(app: Flask) -> None:
    """Another address still gets through when one is throttled (REGISTRY_PROXY_HOPS=0 here,
    so the address is the socket's, which the test client sets)."""

    def callback_from(address: str) -> int:
        response = app.test_client().get(
            "/sign-in/oidc/callback", environ_base={"REMOTE_ADDR": address}
        )
        status: int = response.status_code
        return status

    for _ in range(OIDC_LIMIT_PER_MINUTE):
        callback_from("10.0.0.1")

    assert callback_from("10.0.0.1") == 429
    assert callback_from("10.0.0.2") == 403


# -- local passwords per role ----------------------------------------------------------------


def test_local_password_refused_for_a_role_that_signs_in_through_the_provider(
    app: Flask, client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.CLINICIAN)

    response = post_form(client, "/sign-in", {"email": account.email, "password": PASSWORD})

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Your account signs in with NHS Care Identity." in html
    assert "<title>Error: " in html
    assert client.get("/account/password").status_code == 302
    event = _last_sign_in(app)
    assert event.outcome == "denied"
    assert json.loads(event.details) == {"method": "password", "reason": "password_sign_in_off"}


def test_local_password_still_works_for_an_allowed_role(
    client: FlaskClient, create_account: Callable[..., Account]
) -> None:
    account = create_account(Role.RESEARCHER)

    response = post_form(client, "/sign-in", {"email": account.email, "password": PASSWORD})

    assert response.status_code == 302
    assert client.get("/").status_code == 200


def test_bearer_tokens_are_unaffected_by_password_roles(
    client: FlaskClient, create_account: Callable[..., Account], issue_token: Callable[..., str]
) -> None:
    account = create_account(Role.CLINICIAN)
    token = issue_token(account)

    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 200
