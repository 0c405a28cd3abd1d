"""A clinician works a contact list of 60 on a 390 px phone (#21 item 7): three pages of
cards, the filters, a blank outcome, "not appropriate to approach", and back to the row
just saved; nothing scrolls sideways. Its screenshots illustrate the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import select

from registry.audit.actions import Actor
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.db import session
from registry.enrolment.actions import enrol_participant
from registry.enrolment.schemas import load_enrolment
from registry.recruitment.actions import decide_request, submit_request
from registry.recruitment.commands import DecideRequest, SubmitRequest
from tests.browser.conftest import (
    RECORD_CSP_VIOLATIONS,
    LiveServer,
    add_consent_forms,
    sign_in,
)
from tests.browser.test_phone_width import MEASURE
from tests.conftest import enrolment_body

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 390, "height": 844}
PEOPLE = 60
# F33.3 (recurrent depression, severe, with psychotic symptoms) is this test's alone, so only
# its people match in the database every browser test shares.
CRITERIA = {"cohort": "TRD", "all": [{"field": "diagnosis_icd10", "op": "=", "value": "F33.3"}]}
STUDY = "WAYPOINT: a study that needs a long contact list"
NOT_APPROPRIATE = "Not appropriate to approach (clinical judgement)"


def _open_list(live_server: LiveServer) -> str:
    """60 matching people at a new site, a request for them approved; the site's code."""
    versions = add_consent_forms(live_server)
    site = live_server.add_site(name="Browser Contact List Trust")
    partner = live_server.create_account(Role.PARTNER)
    with live_server.app.test_request_context():
        for _ in range(PEOPLE):
            body = enrolment_body(
                "TRD", site=site, clinical={"diagnosis_icd10": "F33.3", "episode_start": "2025-06"}
            )
            body["consent"]["form_version"] = versions["TRD"]
            enrol_participant(load_enrolment(body), by=Actor.command_line(), own_site=None)
        user = session().scalar(select(User).where(User.email == partner.email))
        assert user is not None
        request = submit_request(
            SubmitRequest(
                study_title=STUDY,
                sponsor="Example Pharma Ltd",
                ethics_reference="1007654",
                criteria=CRITERIA,
                target=60,
                lay_summary=None,
            ),
            user=user,
            by=Actor.for_user(user),
        )
        decide_request(request, DecideRequest("approve", None), by=Actor.command_line())
        session().commit()
    return site


def _fits(page: Page) -> None:
    measured = page.evaluate(MEASURE)
    assert measured["scrollWidth"] <= PHONE["width"], measured


def test_a_clinician_works_a_list_of_60_through_three_pages_on_a_phone(
    page: Page, live_server: LiveServer, artifacts_dir: Path
) -> None:
    site = _open_list(live_server)
    clinician = live_server.create_account(Role.CLINICIAN, site_code=site)
    page.set_viewport_size(PHONE)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    sign_in(page, live_server, clinician.email, clinician.password)
    page.goto(live_server.url)
    page.get_by_role("link", name="Recruitment requests").click()
    page.get_by_role("link", name=STUDY).click()
    page.get_by_role("link", name="Open your site's contact list").click()
    cards = page.get_by_test_id("contacts").locator("li.registry-contact")

    # Page 1 of 3: 25 cards, no outcome chosen for anyone, everyone new on a first visit.
    expect(cards).to_have_count(25)
    expect(page.get_by_test_id("remaining")).to_have_text("60 remain to contact.")
    expect(page.get_by_test_id("new")).to_have_count(25)
    _fits(page)
    page.screenshot(path=str(artifacts_dir / "contact-list-1-phone.png"))

    # Saving without choosing is refused at that card; choosing saves and comes back to it.
    third = cards.nth(2)
    third_id = third.get_attribute("data-participant")
    third.get_by_role("button", name=re.compile("^Save the outcome for")).click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(page).to_have_title(re.compile("^Error: "))
    expect(page.locator(f"#contact-{third_id}")).to_contain_text("Choose an outcome.")
    _fits(page)
    page.locator(f"#contact-{third_id}").get_by_role("combobox").select_option(
        label=NOT_APPROPRIATE
    )
    page.locator(f"#contact-{third_id}").get_by_role("button").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Outcome recorded: Not appropriate to approach."
    )
    assert page.url.endswith(f"#contact-{third_id}")
    assert third_id and third_id.startswith("P-")  # the anchor is the registry id
    expect(page.get_by_test_id("remaining")).to_have_text("59 remain to contact.")

    # Pages 2 and 3.
    page.get_by_role("link", name=re.compile("Next")).click()
    expect(cards).to_have_count(25)
    expect(page.get_by_test_id("showing")).to_have_text("Showing 26 to 50 of 60.")
    _fits(page)
    second_page_person = cards.nth(0)
    second_id = second_page_person.get_attribute("data-participant")
    second_page_person.get_by_role("combobox").select_option(label="Interested")
    second_page_person.get_by_role("button").click()
    assert page.url.endswith(f"#contact-{second_id}")
    expect(page.get_by_test_id("showing")).to_have_text("Showing 26 to 50 of 60.")  # same page
    page.get_by_role("link", name=re.compile("Next")).click()
    expect(cards).to_have_count(10)
    expect(page.get_by_test_id("showing")).to_have_text("Showing 51 to 60 of 60.")
    _fits(page)

    # The filters: one status, then only what is still to contact.
    page.get_by_label("Status").select_option(label="Not appropriate to approach")
    page.get_by_test_id("apply-filters").click()
    expect(cards).to_have_count(1)
    expect(cards.first).to_have_attribute("data-participant", third_id or "")
    _fits(page)
    page.get_by_label("Status").select_option(label="To contact")
    page.get_by_label("Only people new since my last visit").check()
    page.get_by_test_id("apply-filters").click()
    expect(page.get_by_test_id("showing")).to_have_text(
        "Showing 1 to 25 of 58 matching the filters."
    )
    page.screenshot(path=str(artifacts_dir / "contact-list-2-filtered-phone.png"), full_page=True)
    _fits(page)
    assert page.evaluate("() => window.__cspViolations") == []
