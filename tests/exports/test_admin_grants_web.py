"""The admin's grant pages: create from the catalogue's checkboxes (every error at once, as
the API refuses), renew, revoke after a check page, name and remove researchers, and every
extract made under a grant, a page at a time."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from registry.audit.models import AuditEvent
from registry.db import session
from registry.exports import queries
from registry.exports.models import DataAccessGrant
from tests.conftest import post_form
from tests.exports.conftest import GRANTS, TODAY, World

NEW = "/admin/grants/new"


@pytest.fixture
def admin_web(world: World, sign_in: Callable[..., Any], client: FlaskClient) -> FlaskClient:
    sign_in(world.admin.account)
    return client


def _grant(world: World, grant_id: str) -> DataAccessGrant:
    with world.context():
        found = session().scalar(
            select(DataAccessGrant).where(DataAccessGrant.grant_id == grant_id)
        )
        assert found is not None
        return found


def _actions(world: World, grant_id: str) -> list[str]:
    with world.context():
        return list(
            session().scalars(
                select(AuditEvent.action)
                .where(AuditEvent.target_id == grant_id)
                .order_by(AuditEvent.seq)
            )
        )


def _researchers(world: World, grant_id: str) -> list[str]:
    response = world.client.get(f"{GRANTS}/{grant_id}", headers=world.admin.headers)
    return [r["email"] for r in response.get_json()["researchers"]]


def test_create_page_offers_the_catalogue_grouped_with_descriptions_and_researchers(
    world: World, admin_web: FlaskClient
) -> None:
    page = admin_web.get(NEW).get_data(as_text=True)

    assert 'value="participants.sex"' in page and 'value="assessments.total"' in page
    assert 'name="variables"' in page and 'name="cohorts"' in page
    assert "Use my data in future ethically approved research" in page
    assert 'value="registry_storage"' not in page  # always required, said in words
    assert f'value="{world.researcher.account.email}"' in page


def test_grant_created_through_the_checkboxes(world: World, admin_web: FlaskClient) -> None:
    response = post_form(
        admin_web,
        NEW,
        {
            "title": "TRAJECTORY",
            "ethics_reference": "24/WM/0123",
            "cohorts": ["TRD"],
            "variables": ["participants.sex", "assessments.total"],
            "consent_items": ["future_research"],
            "date_policy": "shift",
            "max_shift_days": "30",
            "expires_on": (TODAY + dt.timedelta(days=90)).isoformat(),
            "researchers": [world.researcher.account.email],
        },
    )

    assert response.status_code == 302
    grant_id = response.headers["Location"].rsplit("/", 1)[-1]
    grant = _grant(world, grant_id)
    assert grant.variables == ["assessments.total", "participants.sex"]
    assert grant.cohorts == ["TRD"] and grant.max_shift_days == 30
    assert grant.consent_items == ["registry_storage", "future_research"]
    assert _researchers(world, grant_id) == [world.researcher.account.email]
    shown = admin_web.get(f"/admin/grants/{grant_id}").get_data(as_text=True)
    assert "up to 30 days" in shown and "Use my data in future ethically approved research" in shown


def test_create_shows_every_fields_error_at_once_and_records_nothing(
    world: World, admin_web: FlaskClient
) -> None:
    response = post_form(
        admin_web,
        NEW,
        {
            "title": "",
            "ethics_reference": "not a reference",
            "date_policy": "shift",
            "expires_on": (TODAY - dt.timedelta(days=1)).isoformat(),
        },
    )

    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<title>Error: " in page
    summary = page.split('class="nhsuk-error-summary', 1)[1].split("</div>", 1)[0]
    for message in (
        "Enter the study&#39;s title.",
        "IRAS ID (6 or 7 digits, for example IRAS 1004567)",
        "Approve at least one cohort.",
        "Approve at least one variable.",
        "Say how many days dates may be shifted by.",
        "A grant cannot expire in the past.",
    ):
        assert message in summary, message
    with world.context():
        assert session().scalar(select(DataAccessGrant.id)) is None


@pytest.mark.parametrize(
    "overrides",
    [
        {"variables": ["participants.nhs_number"], "ethics_reference": "12"},
        {"researchers": ["nobody@example.org"]},
    ],
)
def test_create_refuses_what_the_api_refuses(
    world: World, admin_web: FlaskClient, overrides: dict[str, Any]
) -> None:
    body = world.grant_body(**overrides)
    api = world.client.post(GRANTS, json=body, headers=world.admin.headers)

    page = post_form(admin_web, NEW, {**body, "date_policy": "month"})

    assert api.status_code == 422 and page.status_code == 422
    text = page.get_data(as_text=True)
    for messages in api.get_json()["error"]["fields"].values():
        for message in messages:
            assert str(escape(message)) in text, message


def test_grant_list_shows_status_researchers_and_extract_counts(
    world: World, admin_web: FlaskClient
) -> None:
    world.enrol()
    grant_id = world.grant()
    world.extract(grant_id)

    page = admin_web.get("/admin/grants/").get_data(as_text=True)

    row = page.split(f'data-grant="{grant_id}"', 1)[1].split("</tr>", 1)[0]
    assert "TRAJECTORY" in row and "1004567" in row and "In force" in row
    assert world.researcher.account.user.name in row
    assert re.search(r'data-testid="exports">1<', row)


def test_revoke_check_page_says_who_loses_access_and_what_stays(
    world: World, admin_web: FlaskClient
) -> None:
    world.enrol()
    grant_id = world.grant(
        researchers=[world.researcher.account.email, world.outsider.account.email]
    )
    world.extract(grant_id)

    page = admin_web.get(f"/admin/grants/{grant_id}/revoke").get_data(as_text=True)

    assert "2 researchers lose access" in page
    assert "1 extract made under it stays on record" in page
    assert _grant(world, grant_id).revoked_at is None
    assert "grant.revoke" not in _actions(world, grant_id)


def test_revoke_after_the_check_page_ends_access_and_is_audited(
    world: World, admin_web: FlaskClient
) -> None:
    grant_id = world.grant()

    response = post_form(admin_web, f"/admin/grants/{grant_id}/revoke", {})

    assert response.status_code == 302
    assert _grant(world, grant_id).revoked_at is not None
    assert "grant.revoke" in _actions(world, grant_id)
    assert world.export(grant_id).status_code == 403


def test_renew_moves_the_last_day_and_is_audited(world: World, admin_web: FlaskClient) -> None:
    grant_id = world.grant()
    new_day = TODAY + dt.timedelta(days=700)

    response = post_form(
        admin_web, f"/admin/grants/{grant_id}/renew", {"expires_on": new_day.isoformat()}
    )

    assert response.status_code == 302
    assert _grant(world, grant_id).expires_on == new_day
    assert "grant.renew" in _actions(world, grant_id)


def test_renew_refuses_a_day_not_after_the_current_expiry(
    world: World, admin_web: FlaskClient
) -> None:
    grant_id = world.grant()
    before = _grant(world, grant_id).expires_on

    response = post_form(
        admin_web, f"/admin/grants/{grant_id}/renew", {"expires_on": TODAY.isoformat()}
    )

    assert response.status_code == 422
    assert "Give a day after its current expiry" in response.get_data(as_text=True)
    assert _grant(world, grant_id).expires_on == before


def test_researcher_added_on_the_grant_page(world: World, admin_web: FlaskClient) -> None:
    grant_id = world.grant()
    url = f"/admin/grants/{grant_id}"
    page = admin_web.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token

    response = admin_web.post(
        f"{url}/researchers",
        data={"email": world.outsider.account.email, "csrf_token": token.group(1)},
    )

    assert response.status_code == 302
    assert world.outsider.account.email in _researchers(world, grant_id)
    assert "grant.add_researcher" in _actions(world, grant_id)


def test_researcher_removed_on_the_grant_page_loses_access(
    world: World, admin_web: FlaskClient
) -> None:
    grant_id = world.grant()
    user_id = world.researcher.account.user.id
    url = f"/admin/grants/{grant_id}"
    page = admin_web.get(url).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token and f"/researchers/{user_id}/removal" in page

    response = admin_web.post(
        f"{url}/researchers/{user_id}/removal", data={"csrf_token": token.group(1)}
    )

    assert response.status_code == 302
    assert _researchers(world, grant_id) == []
    assert world.export(grant_id).status_code == 404


def test_grant_page_lists_every_extract_a_page_at_a_time(
    world: World, admin_web: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from registry.web.admin import grants as grant_pages

    monkeypatch.setattr(grant_pages, "EXPORTS_PER_PAGE", 2)
    world.enrol()
    grant_id = world.grant()
    for _ in range(3):
        world.extract(grant_id)

    first = admin_web.get(f"/admin/grants/{grant_id}").get_data(as_text=True)
    second = admin_web.get(f"/admin/grants/{grant_id}?page=2").get_data(as_text=True)

    assert "3 extracts" in first
    assert first.count("data-export=") == 2 and second.count("data-export=") == 1
    assert "Page 2 of 2" in first
    assert world.researcher.account.user.name in second and "CSV" in second
    with world.context():
        assert len(queries.exports_of(_grant(world, grant_id))) == 3


def test_admin_with_no_grant_is_pointed_to_create_one(world: World, admin_web: FlaskClient) -> None:
    page = admin_web.get("/grants/").get_data(as_text=True)

    assert "Create a data-access grant" in page and "/admin/grants/new" in page
    assert "names you yet" not in page


def test_researcher_with_no_grant_keeps_their_own_empty_state(
    world: World, sign_in: Callable[..., Any], client: FlaskClient
) -> None:
    sign_in(world.researcher.account)

    page = client.get("/grants/").get_data(as_text=True)

    assert "No data-access grant names you yet" in page
    assert "/admin/grants/new" not in page


@pytest.mark.parametrize("role", ["researcher", "clinician"])
def test_grant_admin_pages_are_forbidden_to_other_roles(
    world: World, sign_in: Callable[..., Any], client: FlaskClient, role: str
) -> None:
    sign_in(getattr(world, role).account)

    assert client.get("/admin/grants/").status_code == 403
    assert client.get(NEW).status_code == 403
