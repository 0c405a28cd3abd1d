"""The admin's dashboard: each number matches the data (and the page it links to), only
admins get it, and the other roles keep their home pages."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import clock
from registry.audit.actions import Actor
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.consents.actions import add_consent_form
from registry.consents.models import Withdrawal
from registry.db import session, utcnow
from registry.participants.models import FULL, NO_FURTHER_CONTACT, Participant
from registry.recruitment.models import APPROVED, OPEN, SUBMITTED, RecruitmentRequest
from registry.web.admin.dashboard import month_start
from tests.conftest import Account, ApiUser, enrol

URL = "/"


def _number(page: str, testid: str) -> str:
    found = re.search(rf'data-testid="{testid}">([^<]*)<', page)
    assert found, testid
    return found.group(1)


def _request(app: Flask, partner: ApiUser, status: str) -> None:
    with app.app_context():
        session().add(
            RecruitmentRequest(
                request_id=f"R-{status[:3].upper()}{utcnow().microsecond}",
                status=status,
                study_title="A study",
                sponsor="Sponsor",
                ethics_reference="123456",
                criteria={"cohort": "TRD"},
                catalogue_version="1",
                target=10,
                contact_from=clock.today(),
                contact_until=clock.today() + dt.timedelta(days=30),
                partner_id=partner.account.user.id,
            )
        )
        session().commit()


def test_requests_awaiting_a_decision_or_a_confirmation_are_counted(
    app: Flask, admin_web: FlaskClient, partner: ApiUser
) -> None:
    for status in (SUBMITTED, SUBMITTED, APPROVED, OPEN):
        _request(app, partner, status)

    page = admin_web.get(URL).get_data(as_text=True)

    assert _number(page, "awaiting-decision") == "2"
    assert _number(page, "awaiting-confirmation") == "1"
    assert 'href="/recruitment/"' in page


@pytest.mark.usefixtures("consent_forms")
def test_the_reconsent_backlog_per_site_matches_the_reconsent_page(
    app: Flask, admin_web: FlaskClient, api_user: Callable[..., ApiUser], client: FlaskClient
) -> None:
    first, second = api_user(Role.CLINICIAN), api_user(Role.CLINICIAN)
    for _ in range(2):
        enrol(client, first)
    enrol(client, second)
    with app.test_request_context():
        add_consent_form(
            cohort="TRD",
            version="TRD-PIS-3.0",
            effective_on=clock.today(),
            file_name="pis.md",
            document=b"# New sheet\n",
            by=Actor.command_line(),
        )
        session().commit()

    page = admin_web.get(URL).get_data(as_text=True)

    assert _number(page, "reconsent-total") == "3"
    by_site = dict(re.findall(r'data-site="([^"]+)">[^<]*<strong>(\d+)</strong>', page))
    assert by_site == {
        first.account.user.site.code: "2",  # type: ignore[union-attr]
        second.account.user.site.code: "1",  # type: ignore[union-attr]
    }
    reconsent_page = admin_web.get("/admin/consents/reconsent").get_data(as_text=True)
    assert '<p data-testid="reconsent-total"><strong>3</strong> participants at 2 sites' in (
        reconsent_page
    )


def test_no_reconsent_backlog_says_so(admin_web: FlaskClient) -> None:
    page = admin_web.get(URL).get_data(as_text=True)

    assert "No one needs to re-consent." in page


@pytest.mark.usefixtures("consent_forms")
def test_withdrawals_this_month_are_counted_by_level_in_words(
    app: Flask, admin_web: FlaskClient, clinician: ApiUser, client: FlaskClient
) -> None:
    ids = [enrol(client, clinician) for _ in range(3)]
    start = month_start(utcnow())
    with app.app_context():
        pks = [
            session().scalar(select(Participant.id).where(Participant.participant_id == pid))
            for pid in ids
        ]
        for pk, level, at in (
            (pks[0], NO_FURTHER_CONTACT, start + dt.timedelta(minutes=1)),
            (pks[1], NO_FURTHER_CONTACT, start + dt.timedelta(minutes=2)),
            (pks[2], FULL, start + dt.timedelta(minutes=3)),
            (pks[2], NO_FURTHER_CONTACT, start - dt.timedelta(days=1)),  # last month
        ):
            session().add(
                Withdrawal(
                    participant_pk=pk,
                    level=level,
                    reason_code="participant_request",
                    requested_by="participant",
                    recorded_at=at,
                )
            )
        session().commit()

    page = admin_web.get(URL).get_data(as_text=True)

    assert _number(page, "withdrawals-total") == "3"
    assert "W1 No further contact: <strong>2</strong>" in page
    assert "W2 No further data: <strong>0</strong>" in page
    assert "W3 Full withdrawal: <strong>1</strong>" in page
    assert 'data-testid="withdrawals-chart"' in page
    assert 'data-category="W1 No further contact" data-figure="2"' in page


def test_users_waiting_for_first_sign_in_are_counted(
    app: Flask, admin_web: FlaskClient, create_account: Callable[..., Account]
) -> None:
    waiting = [create_account(Role.RESEARCHER), create_account(Role.PARTNER)]
    gone = create_account(Role.RESEARCHER)
    with app.app_context():
        user = session().get(User, gone.user.id)
        assert user is not None
        user.is_active = False  # deactivated: not waiting for anything
        session().commit()

    page = admin_web.get(URL).get_data(as_text=True)

    assert _number(page, "first-sign-in-count") == "2"
    link = re.search(r'href="(/admin/users/\?[^"]+)">Go to users who have not signed in', page)
    assert link is not None
    listed = admin_web.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert all(account.email in listed for account in waiting)
    assert gone.email not in listed


@pytest.mark.usefixtures("consent_forms")
def test_key_epochs_show_the_data_keys_each_wraps(
    admin_web: FlaskClient, clinician: ApiUser, client: FlaskClient
) -> None:
    enrol(client, clinician)
    enrol(client, clinician)

    page = admin_web.get(URL).get_data(as_text=True)

    current = _number(page, "current-epoch")
    assert re.search(
        rf'data-epoch="{current}">Epoch {current}: <strong>2</strong> participant data keys',
        page,
    )


def test_the_chain_status_shows_never_checked_then_the_latest_check(
    admin_web: FlaskClient, admin_account: Account
) -> None:
    assert "Never checked." in admin_web.get(URL).get_data(as_text=True)
    page = admin_web.get("/admin/audit/").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    admin_web.post("/admin/audit/check", data={"csrf_token": token.group(1)})

    page = admin_web.get(URL).get_data(as_text=True)

    assert f"by {admin_account.user.name} (admin): the chain was <strong>intact</strong>" in page


def test_each_block_links_to_its_page(admin_web: FlaskClient) -> None:
    page = admin_web.get(URL).get_data(as_text=True)
    now = utcnow()

    for href in (
        "/recruitment/",
        "/admin/consents/reconsent",
        # This month's withdrawals: the audit log from the month's first day.
        f"/admin/audit/?action=participant.withdraw&amp;since-day=1&amp;since-month={now.month}"
        f"&amp;since-year={now.year}",
        "/admin/audit/",
    ):
        assert f'href="{href}"' in page, href


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.RESEARCHER, Role.PARTNER])
def test_other_roles_keep_their_home_page(
    role: Role,
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
) -> None:
    sign_in(create_account(role))

    page = client.get(URL).get_data(as_text=True)

    assert "What you can do here" in page
    assert "<h1>Dashboard</h1>" not in page


def test_the_admin_home_is_the_dashboard(admin_web: FlaskClient) -> None:
    page = admin_web.get(URL).get_data(as_text=True)

    assert "<h1>Dashboard</h1>" in page
    assert "<title>Dashboard" in page
