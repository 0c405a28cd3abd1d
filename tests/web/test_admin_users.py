"""The admin's user pages and everyone's token page (#20): the list and its filters, a new
user's one-time password shown once, access changes behind step-up, the last admin kept,
deactivation's check page in numbers, and tokens as self-service."""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from registry.audit.models import AuditEvent
from registry.auth.models import ApiToken, Site, User
from registry.auth.permissions import Role
from registry.db import session, utcnow
from tests.conftest import Account, csrf_token_from, post_form

WRONG_CODE = "000000"


def fresh_code(app: Flask, account: Account) -> str:
    """A security code not used before (the sign-in used the current one)."""
    assert account.totp_secret is not None
    with app.app_context():
        session().execute(
            update(User).where(User.id == account.user.id).values(totp_last_step=None)
        )
        session().commit()
    return pyotp.TOTP(account.totp_secret).now()


def reload(app: Flask, account: Account) -> User:
    with app.app_context():
        user = session().get(User, account.user.id)
        assert user is not None
        session().expunge(user)
        return user


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        return list(session().scalars(select(AuditEvent).where(AuditEvent.action == action)))


def text(response: Any) -> str:
    return str(response.get_data(as_text=True))


def user_page(admin_web: FlaskClient, account: Account) -> str:
    return f"/admin/users/{account.user.id}"


def _only_admin(app: Flask, admin: Account) -> None:
    """Leave ``admin`` the registry's only active admin."""
    with app.app_context():
        session().execute(
            update(User)
            .where(User.role == Role.ADMIN, User.id != admin.user.id)
            .values(is_active=False)
        )
        session().commit()


# -- the list -------------------------------------------------------------------------------


def test_the_list_shows_each_user_in_words(
    admin_web: FlaskClient, create_account: Callable[..., Account], create_site: Callable[..., Site]
) -> None:
    site = create_site(name="Riverside Trust")
    clinician = create_account(Role.CLINICIAN, site=site)

    response = admin_web.get(f"/admin/users/?site={site.code}")

    assert response.status_code == 200
    page = text(response)
    assert clinician.email in page
    assert "Clinician" in page and "Riverside Trust" in page
    assert "Waiting for first sign-in" in page
    assert "1 user" in page


@pytest.mark.parametrize(
    ("query", "kept", "left_out"),
    [
        ("role=partner", "partner", "researcher"),
        ("status=inactive", "gone", "researcher"),
        ("second_factor=no", "no_factor", "admin"),
        ("last_sign_in=within_30", "lately", "researcher"),
        ("last_sign_in=over_90", "long_ago", "lately"),
        ("last_sign_in=never", "researcher", "lately"),
    ],
)
def test_the_list_filters(
    app: Flask,
    admin_web: FlaskClient,
    admin_account: Account,
    create_account: Callable[..., Account],
    query: str,
    kept: str,
    left_out: str,
) -> None:
    accounts = {
        "partner": create_account(Role.PARTNER),
        "researcher": create_account(Role.RESEARCHER),
        "gone": create_account(Role.RESEARCHER),
        "no_factor": create_account(Role.CLINICIAN, with_totp=False),
        "lately": create_account(Role.RESEARCHER),
        "long_ago": create_account(Role.RESEARCHER),
        "admin": admin_account,
    }
    changes: dict[str, dict[str, Any]] = {
        "gone": {"is_active": False},
        "lately": {"last_sign_in_at": utcnow() - dt.timedelta(days=2)},
        "long_ago": {"last_sign_in_at": utcnow() - dt.timedelta(days=200)},
    }
    with app.app_context():
        for name, change in changes.items():
            session().execute(update(User).where(User.id == accounts[name].user.id).values(change))
        session().commit()

    page = text(admin_web.get(f"/admin/users/?{query}"))

    assert accounts[kept].email in page
    assert accounts[left_out].email not in page


def test_the_list_refuses_an_unknown_filter_with_a_message(admin_web: FlaskClient) -> None:
    response = admin_web.get("/admin/users/?role=superuser&page=x")

    assert response.status_code == 422
    assert "Choose a role from the list." in text(response)
    assert "<title>Error: " in text(response)


def test_the_list_shows_25_users_a_page(
    admin_web: FlaskClient, create_account: Callable[..., Account]
) -> None:
    for _ in range(26):
        create_account(Role.PARTNER)

    first = text(admin_web.get("/admin/users/?role=partner"))
    second = text(admin_web.get("/admin/users/?role=partner&page=2"))

    assert "26 users, page 1 of 2" in first
    assert first.count("@example.nhs.uk</td>") == 25
    assert second.count("@example.nhs.uk</td>") == 1


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.RESEARCHER, Role.PARTNER])
def test_other_roles_cannot_reach_the_user_pages(
    app: Flask,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    role: Role,
) -> None:
    account = create_account(role)
    web = app.test_client()
    sign_in(account, test_client=web)

    answers = {url: web.get(url).status_code for url in ("/admin/users/", "/admin/users/new")}

    assert answers == {"/admin/users/": 403, "/admin/users/new": 403}


# -- a new user -----------------------------------------------------------------------------


def test_a_new_users_password_is_shown_once_and_never_in_a_url_log_or_the_audit(
    app: Flask,
    admin_web: FlaskClient,
    create_site: Callable[..., Site],
    caplog: pytest.LogCaptureFixture,
) -> None:
    site = create_site()
    caplog.set_level(logging.DEBUG)

    created = post_form(
        admin_web,
        "/admin/users/new",
        {
            "name": "Jo Bloggs",
            "email": "Jo.Bloggs@example.nhs.uk",
            "role": "clinician",
            "site": site.code,
        },
    )
    shown = admin_web.get(created.location)
    again = admin_web.get(created.location)

    assert created.status_code == 302
    match = re.search(r'data-testid="one-time-password">([^<]+)<', text(shown))
    assert match, text(shown)
    password = match.group(1)
    assert shown.headers["Cache-Control"] == "no-store"
    assert password not in text(again) and "already been shown" in text(again)
    assert password not in created.location
    assert password not in caplog.text
    new_id = created.location.split("/")[-2]
    (event,) = [e for e in events(app, "user.create") if e.target_id == new_id]
    assert password not in event.details
    fresh = app.test_client()
    signed_in = post_form(
        fresh, "/sign-in", {"email": "jo.bloggs@example.nhs.uk", "password": password}
    )
    assert signed_in.status_code == 302


def test_a_new_user_with_bad_answers_is_refused_and_nothing_is_created(
    app: Flask, admin_web: FlaskClient
) -> None:
    response = post_form(
        admin_web,
        "/admin/users/new",
        {"name": "", "email": "not-an-email", "role": "clinician", "site": ""},
    )

    assert response.status_code == 422
    page = text(response)
    assert "Enter the person&#39;s name." in page
    assert "A clinician needs a site" in page
    with app.app_context():
        assert session().scalar(select(User).where(User.email == "not-an-email")) is None


def test_a_duplicate_email_is_refused_at_the_email_field(
    admin_web: FlaskClient, create_account: Callable[..., Account]
) -> None:
    existing = create_account(Role.RESEARCHER)

    response = post_form(
        admin_web,
        "/admin/users/new",
        {"name": "Someone", "email": existing.email, "role": "researcher"},
    )

    assert response.status_code == 422
    assert "A user with that email address already exists." in text(response)


# -- one user: access behind step-up --------------------------------------------------------


def _post_on_user_page(
    web: FlaskClient, account: Account, action: str, data: dict[str, Any]
) -> Any:
    page = web.get(f"/admin/users/{account.user.id}")
    token = csrf_token_from(text(page))
    return web.post(f"/admin/users/{account.user.id}/{action}", data={**data, "csrf_token": token})


def test_a_role_change_with_a_wrong_code_is_refused_and_changes_nothing(
    app: Flask, admin_web: FlaskClient, create_account: Callable[..., Account]
) -> None:
    researcher = create_account(Role.RESEARCHER)

    response = _post_on_user_page(
        admin_web, researcher, "access", {"access-role": "admin", "access-code": WRONG_CODE}
    )

    assert response.status_code == 422
    assert "The security code is not correct" in text(response)
    assert reload(app, researcher).role is Role.RESEARCHER
    assert not events(app, "user.change_access")
    assert events(app, "auth.reauthenticate")  # the refusal stays on record


def test_a_role_change_with_the_admins_code_takes_effect_and_is_audited(
    app: Flask,
    admin_web: FlaskClient,
    admin_account: Account,
    create_account: Callable[..., Account],
) -> None:
    researcher = create_account(Role.RESEARCHER)

    response = _post_on_user_page(
        admin_web,
        researcher,
        "access",
        {
            "access-role": "partner",
            "access-organisation": "Acme Trials",
            "access-code": fresh_code(app, admin_account),
        },
    )

    assert response.status_code == 302
    changed = reload(app, researcher)
    assert (changed.role, changed.organisation) == (Role.PARTNER, "Acme Trials")
    (event,) = events(app, "user.change_access")
    assert '"role":["researcher","partner"]' in event.details


def test_a_clinician_moved_to_another_site(
    app: Flask,
    admin_web: FlaskClient,
    admin_account: Account,
    create_account: Callable[..., Account],
    create_site: Callable[..., Site],
) -> None:
    clinician = create_account(Role.CLINICIAN)
    other = create_site(name="Hilltop Trust")

    response = _post_on_user_page(
        admin_web,
        clinician,
        "access",
        {
            "access-role": "clinician",
            "access-site": other.code,
            "access-code": fresh_code(app, admin_account),
        },
    )

    assert response.status_code == 302
    assert reload(app, clinician).site_id == other.id


def test_the_last_admin_cannot_demote_themselves(
    app: Flask, admin_web: FlaskClient, admin_account: Account
) -> None:
    _only_admin(app, admin_account)

    response = _post_on_user_page(
        admin_web,
        admin_account,
        "access",
        {"access-role": "researcher", "access-code": fresh_code(app, admin_account)},
    )

    assert response.status_code == 422
    assert "is the only active admin" in text(response)
    assert reload(app, admin_account).role is Role.ADMIN


def test_the_last_admin_cannot_deactivate_themselves(
    app: Flask, admin_web: FlaskClient, admin_account: Account
) -> None:
    _only_admin(app, admin_account)
    url = f"/admin/users/{admin_account.user.id}/deactivate"

    response = post_form(admin_web, url, {"code": fresh_code(app, admin_account)})

    assert response.status_code == 422
    assert "is the only active admin" in text(response)
    assert reload(app, admin_account).is_active


# -- deactivating and reactivating ----------------------------------------------------------


def test_the_deactivation_check_page_says_what_happens_in_numbers(
    app: Flask,
    admin_web: FlaskClient,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
    sign_in: Callable[..., Any],
) -> None:
    researcher = create_account(Role.RESEARCHER)
    issue_token(researcher)
    issue_token(researcher)
    sign_in(researcher, test_client=app.test_client())

    page = text(admin_web.get(f"/admin/users/{researcher.user.id}/deactivate"))

    assert (
        "Test Researcher will be signed out of 1 session and their 2 API tokens will stop working."
        in page
    )


def test_deactivating_with_a_wrong_code_changes_nothing(
    app: Flask, admin_web: FlaskClient, create_account: Callable[..., Account]
) -> None:
    researcher = create_account(Role.RESEARCHER)

    response = post_form(
        admin_web, f"/admin/users/{researcher.user.id}/deactivate", {"code": WRONG_CODE}
    )

    assert response.status_code == 422
    assert reload(app, researcher).is_active


def test_deactivating_stops_tokens_and_reactivating_lets_them_sign_in_again(
    app: Flask,
    admin_web: FlaskClient,
    admin_account: Account,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
) -> None:
    researcher = create_account(Role.RESEARCHER)
    bearer = {"Authorization": f"Bearer {issue_token(researcher)}"}
    url = f"/admin/users/{researcher.user.id}"

    deactivated = post_form(
        admin_web, f"{url}/deactivate", {"code": fresh_code(app, admin_account)}
    )
    token_after = app.test_client().get("/api/v1/me", headers=bearer).status_code
    reactivated = _post_on_user_page(
        admin_web, researcher, "reactivate", {"reactivate-code": fresh_code(app, admin_account)}
    )

    assert deactivated.status_code == 302 and token_after == 401
    assert reactivated.status_code == 302
    assert reload(app, researcher).is_active
    assert events(app, "user.deactivate") and events(app, "user.reactivate")


# -- second factor and sessions -------------------------------------------------------------


def test_resetting_a_second_factor_makes_the_user_set_one_up_again(
    app: Flask,
    admin_web: FlaskClient,
    admin_account: Account,
    create_account: Callable[..., Account],
) -> None:
    clinician = create_account(Role.CLINICIAN)

    response = _post_on_user_page(
        admin_web,
        clinician,
        "second-factor",
        {"second_factor-code": fresh_code(app, admin_account)},
    )
    signing_in = post_form(
        app.test_client(), "/sign-in", {"email": clinician.email, "password": clinician.password}
    )

    assert response.status_code == 302
    assert not reload(app, clinician).has_second_factor
    assert signing_in.location.endswith("/sign-in/set-up-security-code")
    assert events(app, "user.reset_second_factor")


def test_resetting_a_second_factor_with_a_wrong_code_changes_nothing(
    app: Flask, admin_web: FlaskClient, create_account: Callable[..., Account]
) -> None:
    clinician = create_account(Role.CLINICIAN)

    response = _post_on_user_page(
        admin_web, clinician, "second-factor", {"second_factor-code": WRONG_CODE}
    )

    assert response.status_code == 422
    assert reload(app, clinician).has_second_factor


def test_ending_sessions_signs_the_user_out_and_can_revoke_tokens(
    app: Flask,
    admin_web: FlaskClient,
    admin_account: Account,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
    sign_in: Callable[..., Any],
) -> None:
    researcher = create_account(Role.RESEARCHER)
    bearer = {"Authorization": f"Bearer {issue_token(researcher)}"}
    their_browser = app.test_client()
    sign_in(researcher, test_client=their_browser)

    response = _post_on_user_page(
        admin_web,
        researcher,
        "sessions",
        {"sessions-revoke_tokens": "y", "sessions-code": fresh_code(app, admin_account)},
    )

    assert response.status_code == 302
    assert their_browser.get("/account/tokens").status_code == 302  # back to sign-in
    assert app.test_client().get("/api/v1/me", headers=bearer).status_code == 401


# -- API tokens as self-service -------------------------------------------------------------


def _create_token(web: FlaskClient, name: str = "report script", days: str = "30") -> Any:
    return post_form(web, "/account/tokens", {"name": name, "expires_days": days})


@pytest.mark.parametrize("role", list(Role))
def test_every_role_creates_a_token_shown_once_that_works(
    app: Flask,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    caplog: pytest.LogCaptureFixture,
    role: Role,
) -> None:
    account = create_account(role)
    web = app.test_client()
    sign_in(account, test_client=web)
    caplog.set_level(logging.DEBUG)

    created = _create_token(web)
    shown = web.get(created.location)
    again = web.get(created.location)

    assert created.status_code == 302
    match = re.search(r'data-testid="token">([^<]+)<', text(shown))
    assert match, text(shown)
    secret = match.group(1)
    assert secret not in text(again) and "already been shown" in text(again)
    assert secret not in created.location and secret not in caplog.text
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.status_code == 200
    listing = text(web.get("/account/tokens"))
    assert "report script" in listing and "Active" in listing


def test_a_token_lasting_too_long_is_refused(
    app: Flask, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> None:
    account = create_account(Role.PARTNER)
    web = app.test_client()
    sign_in(account, test_client=web)

    response = _create_token(web, days="366")

    assert response.status_code == 422
    assert "A token lasts between 1 and 365 days." in text(response)


def test_a_user_revokes_their_own_token_but_not_anothers(
    app: Flask,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
    sign_in: Callable[..., Any],
) -> None:
    owner = create_account(Role.RESEARCHER)
    other = create_account(Role.RESEARCHER)
    other_secret = issue_token(other)
    web = app.test_client()
    sign_in(owner, test_client=web)
    _create_token(web)
    with app.app_context():
        own_id = session().scalar(select(ApiToken.id).where(ApiToken.user_id == owner.user.id))
        other_id = session().scalar(select(ApiToken.id).where(ApiToken.user_id == other.user.id))
    token = csrf_token_from(text(web.get("/account/tokens")))

    theirs = web.post(f"/account/tokens/{other_id}/revoke", data={"csrf_token": token})
    own = web.post(f"/account/tokens/{own_id}/revoke", data={"csrf_token": token})

    assert theirs.status_code == 404
    headers = {"Authorization": f"Bearer {other_secret}"}
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 200
    assert own.status_code == 302
    assert "Revoked" in text(web.get("/account/tokens"))
    assert events(app, "token.revoke")


def test_an_admin_sees_and_revokes_anyones_token(
    app: Flask,
    admin_web: FlaskClient,
    create_account: Callable[..., Account],
    issue_token: Callable[..., str],
) -> None:
    partner = create_account(Role.PARTNER)
    secret = issue_token(partner)
    with app.app_context():
        token_id = session().scalar(select(ApiToken.id).where(ApiToken.user_id == partner.user.id))
    page = admin_web.get(f"/admin/users/{partner.user.id}")
    assert 'data-testid="tokens"' in text(page)

    response = admin_web.post(
        f"/admin/users/{partner.user.id}/tokens/{token_id}/revoke",
        data={"csrf_token": csrf_token_from(text(page))},
    )

    assert response.status_code == 302
    headers = {"Authorization": f"Bearer {secret}"}
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401


# -- linking an account to the identity provider ---------------------------------------------

ISSUER = "https://login.example.nhs.uk"
SUBJECT = "7d3f0e52-entra-object-id"


@pytest.fixture
def with_provider(settings_with: Callable[..., None]) -> None:
    settings_with(oidc_issuer=ISSUER, oidc_provider_name="Microsoft Entra ID")


@pytest.mark.usefixtures("with_provider")
def test_an_admin_links_a_user_to_the_provider_after_step_up(
    app: Flask,
    admin_web: FlaskClient,
    admin_account: Account,
    create_account: Callable[..., Account],
) -> None:
    clinician = create_account(Role.CLINICIAN)
    before = text(admin_web.get(user_page(admin_web, clinician)))

    response = _post_on_user_page(
        admin_web,
        clinician,
        "sso",
        {"sso-subject": SUBJECT, "sso-code": fresh_code(app, admin_account)},
    )

    assert "Not linked yet" in before
    assert response.status_code == 302
    linked = reload(app, clinician)
    assert (linked.oidc_issuer, linked.oidc_subject) == (ISSUER, SUBJECT)
    assert "Signs in through Microsoft Entra ID" in text(admin_web.get(response.location))
    (event,) = events(app, "auth.oidc_link")
    assert SUBJECT not in event.details  # the subject stays out of the audit log


@pytest.mark.usefixtures("with_provider")
def test_linking_with_a_wrong_code_changes_nothing(
    app: Flask, admin_web: FlaskClient, create_account: Callable[..., Account]
) -> None:
    clinician = create_account(Role.CLINICIAN)

    response = _post_on_user_page(
        admin_web, clinician, "sso", {"sso-subject": SUBJECT, "sso-code": WRONG_CODE}
    )

    assert response.status_code == 422
    assert reload(app, clinician).oidc_subject is None
    assert not events(app, "auth.oidc_link")


@pytest.mark.usefixtures("with_provider")
def test_a_subject_another_account_holds_is_refused_at_the_field(
    app: Flask,
    admin_web: FlaskClient,
    admin_account: Account,
    create_account: Callable[..., Account],
) -> None:
    first, second = create_account(Role.CLINICIAN), create_account(Role.CLINICIAN)
    for account in (first, second):
        response = _post_on_user_page(
            admin_web,
            account,
            "sso",
            {"sso-subject": SUBJECT, "sso-code": fresh_code(app, admin_account)},
        )

    assert response.status_code == 422
    assert "Another account is already linked to this subject." in text(response)
    assert reload(app, second).oidc_subject is None


@pytest.mark.usefixtures("with_provider")
def test_a_blank_subject_unlinks_the_user(
    app: Flask,
    admin_web: FlaskClient,
    admin_account: Account,
    create_account: Callable[..., Account],
) -> None:
    clinician = create_account(Role.CLINICIAN)
    for subject in (SUBJECT, ""):
        _post_on_user_page(
            admin_web,
            clinician,
            "sso",
            {"sso-subject": subject, "sso-code": fresh_code(app, admin_account)},
        )

    assert reload(app, clinician).oidc_subject is None
    assert len(events(app, "auth.oidc_unlink")) == 1


def test_without_a_provider_there_is_nothing_to_link(
    app: Flask, admin_web: FlaskClient, create_account: Callable[..., Account]
) -> None:
    clinician = create_account(Role.CLINICIAN)

    page = text(admin_web.get(user_page(admin_web, clinician)))
    response = _post_on_user_page(admin_web, clinician, "sso", {"sso-subject": SUBJECT})

    assert "Signs in through" not in page
    assert response.status_code == 404
