"""The admin's site pages: list with counts, add, rename, deactivate after a check page,
reactivate; a deactivated site enrols no one (page and API) and keeps its participants."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.audit.actions import Actor
from registry.audit.models import AuditEvent
from registry.auth import actions as auth_actions
from registry.auth.models import Site
from registry.auth.permissions import Role
from registry.db import session
from tests.conftest import (
    Account,
    ApiUser,
    csrf_token_from,
    enrol,
    enrolment_body,
    post_form,
    typed_dates,
)
from tests.participants.test_web import enrolment_form

pytestmark = pytest.mark.usefixtures("consent_forms")
SITES = "/admin/sites/"


@pytest.fixture
def admin_client(app: Flask, admin_account: Account, sign_in: Callable[..., Any]) -> FlaskClient:
    web = app.test_client()
    sign_in(admin_account, test_client=web)
    return web


def _site(app: Flask, code: str) -> Site:
    with app.app_context():
        found = session().scalar(select(Site).where(Site.code == code))
        assert found is not None
        return found


def _deactivate(app: Flask, code: str) -> None:
    with app.test_request_context():
        auth_actions.deactivate_site(auth_actions.find_site_by_code(code), by=Actor.command_line())
        session().commit()


def _site_events(app: Flask, site: Site) -> list[str]:
    with app.app_context():
        return list(
            session().scalars(
                select(AuditEvent.action).where(
                    AuditEvent.target_type == "site", AuditEvent.target_id == str(site.id)
                )
            )
        )


def _row(page: str, code: str) -> str:
    return page.split(f'data-site="{code}"', 1)[1].split("</tr>", 1)[0]


def test_site_list_shows_each_site_with_its_participants_and_users(
    client: FlaskClient, admin_client: FlaskClient, clinician: ApiUser, api_user: Any
) -> None:
    code = clinician.account.site_code
    api_user(Role.CLINICIAN, site=_site(client.application, code))
    enrol(client, clinician)

    row = _row(admin_client.get(SITES).get_data(as_text=True), code)

    assert "Active" in row and "Test Trust" in row
    assert re.search(r'data-testid="participants">1<', row)
    assert re.search(r'data-testid="users">2<', row)


def test_site_added_on_its_page_is_audited(app: Flask, admin_client: FlaskClient) -> None:
    response = post_form(admin_client, f"{SITES}new", {"code": "rxt9", "name": "Birmingham"})

    assert response.status_code == 302
    site = _site(app, "RXT9")
    assert site.name == "Birmingham" and site.is_active
    assert "site.add" in _site_events(app, site)
    assert "RXT9" in admin_client.get(SITES).get_data(as_text=True)


def test_site_add_shows_every_error_at_once(admin_client: FlaskClient) -> None:
    response = post_form(admin_client, f"{SITES}new", {"code": "R", "name": ""})

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: " in page
    assert "A site code is 2 to 16 letters and digits" in page
    assert "Enter the site&#39;s name." in page


def test_site_add_refuses_a_code_in_use(
    admin_client: FlaskClient, create_site: Callable[..., Site]
) -> None:
    create_site("RDUP")

    response = post_form(admin_client, f"{SITES}new", {"code": "RDUP", "name": "Again"})

    assert response.status_code == 422
    assert "A site with code RDUP already exists." in response.get_data(as_text=True)


def test_site_renamed_keeps_its_code(
    app: Flask, admin_client: FlaskClient, create_site: Callable[..., Site]
) -> None:
    site = create_site("RREN", name="Old name")

    response = post_form(admin_client, f"{SITES}RREN/rename", {"name": "New name"})

    assert response.status_code == 302
    assert _site(app, "RREN").name == "New name"
    assert "site.rename" in _site_events(app, site)


def test_deactivation_check_page_says_what_stays_and_who_stops(
    client: FlaskClient, admin_client: FlaskClient, clinician: ApiUser, api_user: Any
) -> None:
    code = clinician.account.site_code
    api_user(Role.CLINICIAN, site=_site(client.application, code))
    enrol(client, clinician)
    enrol(client, clinician)

    page = admin_client.get(f"{SITES}{code}/deactivate").get_data(as_text=True)

    assert "2 participants stay in the registry" in page
    assert "2 clinicians at this site can no longer enrol anyone" in page
    assert _site(client.application, code).is_active


def test_site_deactivated_after_the_check_page_is_audited(
    app: Flask, admin_client: FlaskClient, create_site: Callable[..., Site]
) -> None:
    site = create_site("RDEA")

    response = post_form(admin_client, f"{SITES}RDEA/deactivate", {})

    assert response.status_code == 302
    assert not _site(app, "RDEA").is_active
    assert "site.deactivate" in _site_events(app, site)
    assert "Deactivated" in _row(admin_client.get(SITES).get_data(as_text=True), "RDEA")


def test_deactivated_site_refuses_enrolment_through_the_api(
    client: FlaskClient, clinician: ApiUser
) -> None:
    _deactivate(client.application, clinician.account.site_code)

    response = client.post("/api/v1/participants", json=enrolment_body(), headers=clinician.headers)

    assert response.status_code == 422
    (message,) = response.get_json()["error"]["fields"]["site"]
    assert "has been deactivated" in message


def test_deactivated_site_refuses_enrolment_on_the_page(
    app: Flask, sign_in: Callable[..., Any], clinician: ApiUser
) -> None:
    _deactivate(app, clinician.account.site_code)
    web = app.test_client()
    sign_in(clinician.account, test_client=web)

    form_page = web.get("/participants/enrol/TRD").get_data(as_text=True)
    response = web.post(
        "/participants/enrol/TRD",
        data={**typed_dates(enrolment_form("TRD")), "csrf_token": csrf_token_from(form_page)},
    )

    assert "This site has been deactivated" in form_page
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "<title>Error: " in page and "has been deactivated: it enrols no one" in page
    with app.app_context():
        assert (
            not session()
            .scalars(select(AuditEvent).where(AuditEvent.action == "participant.enrol"))
            .first()
        )


def test_participants_of_a_deactivated_site_are_still_listed(
    app: Flask, client: FlaskClient, sign_in: Callable[..., Any], clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)
    _deactivate(app, clinician.account.site_code)
    web = app.test_client()
    sign_in(clinician.account, test_client=web)

    listing = web.get("/participants/")
    one = web.get(f"/participants/{participant_id}")

    assert listing.status_code == 200 and "1 participant" in listing.get_data(as_text=True)
    assert one.status_code == 200


def test_reactivated_site_enrols_again(
    app: Flask, client: FlaskClient, admin_client: FlaskClient, clinician: ApiUser
) -> None:
    code = clinician.account.site_code
    _deactivate(app, code)
    token = csrf_token_from(admin_client.get(SITES).get_data(as_text=True))

    response = admin_client.post(f"{SITES}{code}/reactivate", data={"csrf_token": token})

    assert response.status_code == 302
    assert _site(app, code).is_active
    enrol(client, clinician)


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.RESEARCHER, Role.PARTNER])
def test_site_pages_are_forbidden_to_other_roles(
    app: Flask, create_account: Callable[..., Account], sign_in: Callable[..., Any], role: Role
) -> None:
    web = app.test_client()
    sign_in(create_account(role), test_client=web)

    assert web.get(SITES).status_code == 403
    assert web.get(f"{SITES}new").status_code == 403
