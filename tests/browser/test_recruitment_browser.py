"""Recruitment's whole path in a real browser (Debian's Chromium): a partner submits a
request, an admin approves it, a clinician records outcomes on their site's contact list,
and the partner follows the funnel. Its screenshots illustrate the README."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from registry.audit.actions import Actor
from registry.auth.permissions import Role
from registry.db import session
from registry.enrolment.actions import enrol_participant
from registry.enrolment.schemas import load_enrolment
from tests.browser.conftest import (
    RECORD_CSP_VIOLATIONS,
    TIMEOUT_MS,
    LiveServer,
    add_consent_forms,
    sign_in,
)
from tests.conftest import enrolment_body

pytestmark = pytest.mark.browser

PEOPLE_AT_SITE = 12
LISTED = 10  # the admin's cap: the study needs fewer than match
# F32.3 (severe depression with psychotic symptoms) is used by no other browser test, so
# only this test's people match, in the database the live server shares with them.
CRITERIA = {
    "cohort": "TRD",
    "all": [
        {"field": "diagnosis_icd10", "op": "=", "value": "F32.3"},
        {"field": "age", "op": ">=", "value": 18},
    ],
}
STUDY = "LUMEN-3: a trial of a new treatment for psychotic depression"
LAY_SUMMARY = (
    "A 16-week study of a new tablet for depression with psychotic symptoms, run by "
    "Example Pharma. Taking part means a visit every two weeks."
)
PUBLISHED = re.compile(r"\A(?:<10|[1-9][0-9]*[05])\Z")


def _enrol_at(live_server: LiveServer, site_code: str, version: str, n: int) -> None:
    """People matching CRITERIA at the site, enrolled through the app's own action."""
    with live_server.app.test_request_context():
        for _ in range(n):
            body = enrolment_body(
                "TRD",
                site=site_code,
                clinical={"diagnosis_icd10": "F32.3", "episode_start": "2025-06"},
            )
            body["consent"]["form_version"] = version
            enrol_participant(load_enrolment(body), by=Actor.command_line(), own_site=None)
        session().commit()


@contextmanager
def _browser_page(browser: Browser) -> Iterator[Page]:
    """A second person's browser, with no cookies of the first."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        page = context.new_page()
        page.add_init_script(RECORD_CSP_VIOLATIONS)
        yield page
        assert page.evaluate("() => window.__cspViolations") == []
    finally:
        context.close()


def _open_request(page: Page, live_server: LiveServer) -> None:
    page.goto(live_server.url)
    page.get_by_role("link", name="Recruitment requests").click()
    page.get_by_role("link", name=STUDY).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(STUDY)


def test_partner_submits_admin_approves_clinician_records_partner_follows(
    page: Page,
    browser: Browser,
    live_server: LiveServer,
    artifacts_dir: Path,
    without_noise: None,  # the live server runs in this process: the exact published form
) -> None:
    versions = add_consent_forms(live_server)
    site = live_server.add_site(name="Browser Recruitment Trust")
    _enrol_at(live_server, site, versions["TRD"], PEOPLE_AT_SITE)
    partner = live_server.create_account(Role.PARTNER)
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    # The partner submits the request through the form.
    sign_in(page, live_server, partner.email, partner.password)
    page.get_by_role("link", name="Recruitment requests").click()
    page.get_by_role("button", name="Submit a recruitment request").click()
    page.get_by_label("Study title").fill(STUDY)
    page.get_by_label("Sponsor").fill("Example Pharma Ltd")
    page.get_by_label("IRAS ID").fill("1009876")
    page.get_by_label("How many participants the study needs").fill("20")
    page.get_by_label("Summary for patients (optional)").fill(LAY_SUMMARY)
    page.get_by_label("Or paste the criteria as JSON").fill(json.dumps(CRITERIA, indent=2))
    page.screenshot(path=str(artifacts_dir / "recruitment-1-submit.png"), full_page=True)
    page.get_by_role("button", name="Submit the request").click()
    expect(page.get_by_role("status")).to_contain_text("Your request has been submitted.")
    expect(page.get_by_test_id("status")).to_have_text("Waiting for a decision")

    # An admin sees who matches at each site, and approves.
    with _browser_page(browser) as admin_page:
        admin = live_server.create_account(Role.ADMIN)
        sign_in(admin_page, live_server, admin.email, admin.password)
        _open_request(admin_page, live_server)
        matches = admin_page.get_by_test_id("matches-by-site")
        expect(matches.get_by_role("row", name=site)).to_have_text(
            re.compile(rf"Browser Recruitment Trust \({site}\)\s*{PEOPLE_AT_SITE}")
        )
        expect(admin_page.get_by_test_id("criteria-sentence")).to_contain_text("F32.3")
        admin_page.get_by_text("Show the criteria as JSON").click()  # closed: words first
        expect(admin_page.get_by_test_id("criteria")).to_contain_text('"F32.3"')
        admin_page.get_by_label("Approve").check()
        admin_page.screenshot(
            path=str(artifacts_dir / "recruitment-2-decision.png"), full_page=True
        )
        admin_page.get_by_role("button", name="Continue").click()
        # The check page: how many at each site, against the number the study needs.
        expect(admin_page.get_by_role("heading", level=1)).to_have_text("Check before approving")
        expect(admin_page.get_by_test_id("will-list")).to_contain_text(
            f"Approving now puts {PEOPLE_AT_SITE} people on contact lists at 1 site."
        )
        expect(
            admin_page.get_by_test_id("will-list-by-site").get_by_role(
                "row", name="Browser Recruitment Trust"
            )
        ).to_contain_text(str(PEOPLE_AT_SITE))
        admin_page.get_by_label("List at most this many people, chosen at random").fill(str(LISTED))
        admin_page.get_by_label("Note to the partner (optional)").fill(
            "IRAS approval and REC favourable opinion checked."
        )
        admin_page.screenshot(
            path=str(artifacts_dir / "recruitment-2b-check-approval.png"), full_page=True
        )
        admin_page.get_by_role("button", name="Approve and freeze the lists").click()
        expect(admin_page.get_by_role("status")).to_contain_text("The contact lists are open")
        expect(admin_page.get_by_test_id("listed")).to_contain_text(
            f"People on the lists: {LISTED}."
        )
        expect(admin_page.get_by_test_id("request")).to_contain_text(
            f"At most {LISTED} people, chosen at random"
        )

    # The site's clinician opens the list and records outcomes for two people.
    with _browser_page(browser) as clinician_page:
        clinician = live_server.create_account(Role.CLINICIAN, site_code=site)
        sign_in(clinician_page, live_server, clinician.email, clinician.password)
        _open_request(clinician_page, live_server)
        clinician_page.get_by_role("link", name="Open your site's contact list").click()
        expect(clinician_page.get_by_test_id("lay-summary")).to_contain_text("A 16-week study")
        rows = clinician_page.get_by_test_id("contacts").locator("li.registry-contact")
        expect(rows).to_have_count(LISTED)
        expect(clinician_page.get_by_test_id("new")).to_have_count(LISTED)
        assert not re.search(r"[0-9]{3} [0-9]{3} [0-9]{4}", clinician_page.url)
        for row_number, outcome in ((0, "Interested"), (1, "Declined")):
            row = rows.nth(row_number)
            row.get_by_role("combobox").select_option(label=outcome)
            row.get_by_role("button", name=re.compile("^Save the outcome for")).click()
            expect(clinician_page.get_by_role("status")).to_contain_text(
                f"Outcome recorded: {outcome}."
            )
            expect(rows.nth(row_number).get_by_test_id("contact-status")).to_have_text(outcome)
        expect(clinician_page.get_by_test_id("remaining")).to_have_text(
            f"{LISTED - 2} remain to contact."
        )
        clinician_page.screenshot(
            path=str(artifacts_dir / "recruitment-3-contact-list.png"), full_page=True
        )

    # The partner follows the funnel: the chart and the table agree, and nothing is small.
    page.reload()
    funnel = page.get_by_test_id("funnel")
    expect(funnel).to_be_visible()
    chart_rows = page.get_by_test_id("funnel-chart").locator("g.registry-chart__row")
    chart = {
        row.get_attribute("data-category"): row.get_attribute("data-figure")
        for row in chart_rows.all()
    }
    table = {
        row.locator("th").inner_text(): row.locator("td").inner_text()
        for row in page.get_by_test_id("funnel-table").locator("tbody tr").all()
    }
    total = table.pop("Total")
    assert chart == table and chart, (chart, table)
    assert total == page.get_by_test_id("funnel-count").inner_text() == "10"
    assert all(PUBLISHED.match(value or "") for value in [*chart.values(), total])
    assert site not in (page.locator("main").inner_text())
    page.screenshot(path=str(artifacts_dir / "recruitment-4-funnel.png"), full_page=True)
    assert page.evaluate("() => window.__cspViolations") == []
