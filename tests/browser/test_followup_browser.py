"""A clinician completes a 3-month visit from the follow-up worklist in a real browser
(Debian's Chromium), on a 390 px phone: the visit's last scale recorded through the
worklist's link, the participant leaves the list."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import select

from registry import clock
from registry.audit.actions import Actor
from registry.auth import actions as auth_actions
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.db import session
from registry.facts.derive import refresh_facts
from registry.participants.models import Participant
from tests.browser.conftest import LiveServer, add_consent_forms, sign_in
from tests.conftest import enrolment_body

pytestmark = pytest.mark.browser

TODAY = dt.date(2026, 6, 15)  # the worklist's day: the EP 3-month window is 10 May to 10 July
ENROLLED = dt.date(2026, 3, 10)
PHONE: ViewportSize = {"width": 390, "height": 844}


def _enrol_ep(live_server: LiveServer, email: str, version: str, family_name: str) -> str:
    """Enrol someone through the API, moved to enrolment on ENROLLED, with the 3-month
    visit's CGI-S already recorded; their participant id."""
    with live_server.app.test_request_context():
        user = session().scalar(select(User).where(User.email == email))
        assert user is not None
        token = auth_actions.issue_token(
            user, name="follow-up", expires_days=1, by=Actor.command_line()
        )
        session().commit()
    headers = {"Authorization": f"Bearer {token.secret}"}
    api = live_server.app.test_client()
    body = enrolment_body("EP", family_name=family_name)
    body["consent"]["form_version"] = version
    body["consent"]["signed_on"] = ENROLLED.isoformat()
    response = api.post("/api/v1/participants", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    participant_id: str = response.get_json()["participant_id"]
    with live_server.app.test_request_context():
        participant = (
            session()
            .scalars(select(Participant).where(Participant.participant_id == participant_id))
            .one()
        )
        participant.enrolled_on = ENROLLED
        refresh_facts(participant)
        session().commit()
    cgi = {"instrument": "CGI_S", "administered_on": "2026-06-01", "total": 4}
    response = api.post(
        f"/api/v1/participants/{participant_id}/assessments", json=cgi, headers=headers
    )
    assert response.status_code == 201, response.get_json()
    return participant_id


def _fill_date(page: Page, label: str, day: dt.date) -> None:
    """A date box of the browser's own, or the NHS.UK day, month and year boxes."""
    boxes = page.get_by_role("group", name=label)
    if boxes.count():
        boxes.get_by_label("Day").fill(str(day.day))
        boxes.get_by_label("Month").fill(str(day.month))
        boxes.get_by_label("Year").fill(str(day.year))
    else:
        page.get_by_label(label).fill(day.isoformat())


def test_clinician_completes_a_three_month_visit_from_the_due_list(
    page: Page, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch, artifacts_dir: Path
) -> None:
    monkeypatch.setattr(clock, "today", lambda: TODAY)  # the live server runs in this process
    versions = add_consent_forms(live_server)
    clinician = live_server.create_account(Role.CLINICIAN)
    family_name = f"Followup{secrets.token_hex(3)}"
    _enrol_ep(live_server, clinician.email, versions["EP"], family_name)
    page.set_viewport_size(PHONE)
    sign_in(page, live_server, clinician.email, clinician.password)

    page.goto(f"{live_server.url}/participants/due?visit=month_3")
    listed = page.get_by_test_id("due")
    expect(listed).to_contain_text(f"{family_name}, Ada")
    expect(listed).to_contain_text("In window (due date passed)")
    expect(listed).to_contain_text("Done: CGI-S")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{width} px wide on a {PHONE['width']} px phone"
    page.screenshot(path=str(artifacts_dir / "followup-due-list.png"), full_page=True)

    page.get_by_role("link", name=re.compile(f"Record SOFAS for Ada {family_name}")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("SOFAS")
    _fill_date(page, "Date it was done", dt.date(2026, 6, 1))
    page.get_by_label(re.compile("Social and occupational functioning")).fill("61")
    page.get_by_role("button", name="Save SOFAS").click()
    expect(page.get_by_test_id("notice")).to_contain_text("SOFAS total 61")

    page.goto(f"{live_server.url}/participants/due?visit=month_3")
    expect(page.locator("main")).not_to_contain_text(family_name)
