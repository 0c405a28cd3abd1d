"""Issue #20's acceptance as one journey in a real browser (Debian's Chromium): a new admin,
once the first admin account exists, does everything else through pages. They add a site,
create a clinician and a researcher (each one-time password read once), create a grant for
the researcher, reset the clinician's second factor, approve a recruitment request with a
cap after reading the check page, find that approval in the audit log with the filters,
and download it as CSV. Every page on the way keeps the browser rules of
test_browser_security.py: the headers, a CSRF token in every POST form, no CSP violation,
and no identifier, password or token in any address the browser asks for.

Not through pages, and why: the first admin account (``live_server.create_account``, the
README's one command); the participants a clinician would have enrolled and the request a
partner would have submitted (the app's own actions: their pages have browser tests of
their own, and through pages they would double this test's length); and a fresh security
code for step-up (the sign-in used this 30 seconds' code, as in test_admin_users_browser).

The site comes first: a new registry has none, and a clinician's account needs one.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import secrets
from pathlib import Path
from urllib.parse import unquote

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response, expect
from sqlalchemy import select

from registry import clock
from registry.audit.actions import Actor
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.db import session
from registry.enrolment.actions import enrol_participant
from registry.enrolment.schemas import load_enrolment
from registry.recruitment.actions import submit_request
from registry.recruitment.commands import SubmitRequest
from tests.browser.conftest import (
    RECORD_CSP_VIOLATIONS,
    TIMEOUT_MS,
    LiveServer,
    add_consent_forms,
    fill_date,
)
from tests.browser.test_admin_users_browser import _fresh_code, _sign_in_setting_up_the_app
from tests.browser.test_browser_security import _assert_every_post_form_has_a_csrf_token
from tests.conftest import enrolment_body

pytestmark = pytest.mark.browser

PEOPLE = 14  # enrolled at the admin's new site, all matching the request
TARGET = 10  # what the study needs
CAP = 12  # the admin lists at most this many (no fewer than 10), chosen at random
# F32.1 (moderate depressive episode) is used by no other browser test, so only this
# test's people match, in the database the live server shares with them.
CRITERIA = {
    "cohort": "TRD",
    "all": [
        {"field": "diagnosis_icd10", "op": "=", "value": "F32.1"},
        {"field": "age", "op": ">=", "value": 18},
    ],
}
NEW_PASSWORD = "a long new password of mine"


class Watch:
    """What a person would never see but the browser rules forbid: every address the
    browser asks for, each HTML page's headers and title, and CSP reports on the console."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self.pages: list[Response] = []
        self.titles: list[str] = []
        self.csp: list[str] = []

    def attach(self, page: Page) -> Page:
        page.add_init_script(RECORD_CSP_VIOLATIONS)
        page.on("request", self._request)
        page.on("response", self._response)
        page.on("console", self._console)
        page.on("load", lambda p: self.titles.append(p.title()))
        return page

    def _request(self, request: Request) -> None:
        self.urls.append(unquote(request.url))

    def _response(self, response: Response) -> None:
        if response.headers.get("content-type", "").startswith("text/html"):
            self.pages.append(response)

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp.append(message.text)

    def check(self, page: Page) -> None:
        """The page on screen: CSRF in every POST form, no CSP violation."""
        _assert_every_post_form_has_a_csrf_token(page)
        assert page.evaluate("window.__cspViolations") == [], page.url

    def assert_kept(self, *, secrets: list[str], patients: list[str], staff: list[str]) -> None:
        """No secret or identifier in any address; no secret or patient's identifier in
        a title (a user's page is titled with that user's name, as it should be)."""
        assert self.pages, "no page was loaded"
        for url in self.urls:
            assert "csrf_token" not in url, url
            for value in [*secrets, *patients, *staff]:
                assert value not in url, f"{value!r} in {url}"
        for title in self.titles:
            assert all(value not in title for value in [*secrets, *patients]), title
        for response in self.pages:
            headers, where = response.headers, response.url
            policy = headers.get("content-security-policy", "")
            assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, where
            assert headers.get("x-frame-options") == "DENY", where
            assert headers.get("x-content-type-options") == "nosniff", where
            assert headers.get("cache-control") == "no-store", where
            assert headers.get("referrer-policy") == "no-referrer", where
        assert self.csp == []


def _count(page: Page, testid: str) -> int:
    return int(page.get_by_test_id(testid).inner_text())


def _create_user(page: Page, watch: Watch, *, name: str, email: str, role: str) -> str:
    """Through the user pages; the one-time password, read once (a reload hides it)."""
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="Create a user").click()
    watch.check(page)
    page.get_by_label("Full name").fill(name)
    page.get_by_label("Email address").fill(email)
    page.get_by_label(role, exact=True).check()
    return _created(page, watch)


def _created(page: Page, watch: Watch) -> str:
    page.get_by_role("button", name="Create the user").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("One-time password")
    one_time = (page.get_by_test_id("one-time-password").text_content() or "").strip()
    assert len(one_time) >= 12
    page.reload()
    expect(page.get_by_test_id("already-shown")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(one_time)
    watch.check(page)
    return one_time


def _enrol_at(live_server: LiveServer, site_code: str, version: str) -> list[tuple[str, str]]:
    """The people a clinician at the new site enrolled: (NHS number, family name) each."""
    people = []
    with live_server.app.test_request_context():
        for _ in range(PEOPLE):
            body = enrolment_body(
                "TRD",
                site=site_code,
                clinical={"diagnosis_icd10": "F32.1", "episode_start": "2025-06"},
            )
            body["consent"]["form_version"] = version
            enrol_participant(load_enrolment(body), by=Actor.command_line(), own_site=None)
            people.append((body["nhs_number"], body["family_name"]))
        session().commit()
    return people


def _partner_submits(live_server: LiveServer, study: str) -> str:
    """A partner's request, through the same action their page calls; its R- id."""
    partner = live_server.create_account(Role.PARTNER)
    with live_server.app.test_request_context():
        user = session().scalars(select(User).where(User.email == partner.email)).one()
        request = submit_request(
            SubmitRequest(
                study_title=study,
                sponsor="Example Pharma Ltd",
                ethics_reference="IRAS 1004567",
                criteria=CRITERIA,
                target=TARGET,
                lay_summary=None,
            ),
            user=user,
            by=Actor.for_user(user),
        )
        session().commit()
        return request.request_id


def test_a_new_admin_does_everything_else_in_the_browser(
    page: Page,
    browser: Browser,
    live_server: LiveServer,
    artifacts_dir: Path,
    tmp_path: Path,
    without_noise: None,  # the live server runs in this process: exact figures
) -> None:
    watch = Watch()
    watch.attach(page)
    suffix = secrets.token_hex(3)
    site_code, site_name = f"J{suffix.upper()}", f"Journey Trust {suffix}"
    clinician_name, clinician_email = f"Jo Journey {suffix}", f"jo-{suffix}@example.nhs.uk"
    researcher_name, researcher_email = f"Sam Journey {suffix}", f"sam-{suffix}@example.ac.uk"
    study = f"JOURNEY-{suffix}: a trial for moderate depression"
    grant_title = f"Journey grant {suffix}"

    # Once the first admin account exists, they sign in: their home is the dashboard.
    admin = live_server.create_account(Role.ADMIN, email=f"admin-{suffix}@example.nhs.uk")
    admin_key = _sign_in_setting_up_the_app(page, live_server, admin.email, admin.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    waiting_for_decision = _count(page, "awaiting-decision")
    waiting_to_sign_in = _count(page, "first-sign-in-count")
    watch.check(page)

    # A site.
    page.get_by_role("link", name="Sites", exact=True).click()
    page.get_by_test_id("add-site").click()
    page.get_by_label("Site code").fill(site_code.lower())
    page.get_by_label("Name").fill(site_name)
    page.get_by_role("button", name="Add the site").click()
    expect(page.locator(f'tr[data-site="{site_code}"]')).to_contain_text(site_name)
    watch.check(page)

    # A clinician at that site and a researcher, each password shown once.
    page.get_by_role("link", name="Users", exact=True).click()
    page.get_by_role("link", name="Create a user").click()
    page.get_by_label("Full name").fill(clinician_name)
    page.get_by_label("Email address").fill(clinician_email)
    page.get_by_label("Clinician", exact=True).check()
    page.get_by_label("Site (clinicians only)").select_option(site_code)
    clinician_password = _created(page, watch)
    researcher_password = _create_user(
        page, watch, name=researcher_name, email=researcher_email, role="Researcher"
    )
    page.get_by_role("link", name="Users", exact=True).click()
    users = page.get_by_test_id("users")
    for name in (clinician_name, researcher_name):
        expect(users.get_by_role("row", name=re.compile(name))).to_contain_text(
            "Waiting for first sign-in"
        )
    page.screenshot(path=str(artifacts_dir / "admin-users.png"), full_page=True)
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_test_id("first-sign-in-count")).to_have_text(str(waiting_to_sign_in + 2))

    # The clinician signs in with their one-time password in a browser of their own.
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        clinician_page = watch.attach(context.new_page())
        clinician_key = _sign_in_setting_up_the_app(
            clinician_page, live_server, clinician_email, clinician_password
        )
        expect(clinician_page).to_have_url(re.compile(r"/account/password$"))
        clinician_page.get_by_label("Current password").fill(clinician_password)
        clinician_page.get_by_label("New password").fill(NEW_PASSWORD)
        clinician_page.get_by_role("button", name="Change password").click()
        expect(clinician_page.get_by_role("heading", level=1)).to_contain_text("Welcome")
        watch.check(clinician_page)

        # A grant for the researcher, ticked from the catalogue.
        page.get_by_role("link", name="Grants", exact=True).click()
        page.get_by_test_id("create-grant").click()
        page.get_by_label("Study title").fill(grant_title)
        page.get_by_label("Ethics reference").fill("24/WM/0123")
        page.locator('input[name="cohorts"][value="TRD"]').check()
        page.locator('input[name="variables"][value="participants.sex"]').check()
        page.locator('input[name="variables"][value="assessments.total"]').check()
        page.locator('input[name="consent_items"][value="future_research"]').check()
        fill_date(page, "Last day of access", (clock.today() + dt.timedelta(days=90)).isoformat())
        page.locator(f'input[name="researchers"][value="{researcher_email}"]').check()
        watch.check(page)
        page.screenshot(path=str(artifacts_dir / "admin-grant-new.png"), full_page=True)
        page.get_by_role("button", name="Create the grant").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(grant_title)
        expect(page.get_by_test_id("researchers")).to_contain_text(researcher_email)
        watch.check(page)

        # The clinician lost their phone: the admin resets their second factor (step-up).
        page.get_by_role("link", name="Users", exact=True).click()
        page.get_by_role("link", name=clinician_name).click()
        expect(page.get_by_test_id("account")).to_contain_text("Set up")
        reset = page.locator(
            "form", has=page.get_by_role("button", name="Reset their second factor")
        )
        reset.get_by_label("Your security code").fill(
            _fresh_code(live_server, admin.email, admin_key)
        )
        reset.get_by_role("button", name="Reset their second factor").click()
        expect(page.locator(".registry-flash")).to_contain_text("second factor is reset")
        expect(page.get_by_test_id("account")).to_contain_text("Not set up")
        watch.check(page)
        clinician_page.reload()  # their session ended with the reset: signed out
        expect(clinician_page.get_by_role("link", name="Sign in")).to_be_visible()
    finally:
        context.close()

    # Meanwhile clinicians at the site enrolled people, and a partner asked for them.
    versions = add_consent_forms(live_server)
    people = _enrol_at(live_server, site_code, versions["TRD"])
    request_id = _partner_submits(live_server, study)

    # The dashboard shows the request waiting; the admin approves it with a cap.
    page.get_by_role("link", name="Dashboard", exact=True).click()
    expect(page.get_by_test_id("awaiting-decision")).to_have_text(str(waiting_for_decision + 1))
    page.screenshot(path=str(artifacts_dir / "admin-dashboard.png"), full_page=True)
    page.get_by_role("link", name="Go to recruitment requests").click()
    page.get_by_role("link", name=study).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(study)
    page.get_by_label("Approve").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check before approving")
    expect(page.get_by_test_id("will-list")).to_have_text(
        f"Approving now puts {PEOPLE} people on contact lists at 1 site. The study needs {TARGET}."
    )
    expect(
        page.get_by_test_id("will-list-by-site").get_by_role("row", name=site_name)
    ).to_contain_text(str(PEOPLE))
    expect(page.get_by_test_id("will-list-total")).to_have_text(str(PEOPLE))
    expect(page.get_by_test_id("more-than-needed")).to_contain_text(
        f"That is {PEOPLE - TARGET} more than the study needs."
    )
    page.get_by_label("List at most this many people, chosen at random").fill(str(CAP))
    watch.check(page)
    page.screenshot(path=str(artifacts_dir / "admin-approve-check.png"), full_page=True)
    page.get_by_role("button", name="Approve and freeze the lists").click()
    expect(page.get_by_role("status")).to_contain_text("The contact lists are open")
    expect(page.get_by_test_id("listed")).to_contain_text(f"People on the lists: {CAP}.")
    expect(page.get_by_test_id("request")).to_contain_text(
        f"At most {CAP} people, chosen at random"
    )
    watch.check(page)

    # The approval in the audit log: who, what and today, through the filters.
    today = dt.datetime.now(dt.UTC).date().isoformat()
    page.get_by_role("link", name="Audit", exact=True).click()
    page.get_by_label("Who did it").select_option(label=f"Browser Admin ({admin.email}, admin)")
    page.get_by_label("What they did").select_option(value="recruitment.approve")
    fill_date(page, "Start date", today)
    fill_date(page, "End date", today)
    page.get_by_role("button", name="Show events").click()
    events = page.get_by_test_id("event")
    expect(events).to_have_count(1)
    expect(events.first).to_contain_text(f"approved recruitment request {request_id}")
    expect(page.get_by_test_id("total")).to_have_text("1 event")
    expect(page.get_by_test_id("download")).to_have_text("Download this event as CSV")
    watch.check(page)
    page.screenshot(path=str(artifacts_dir / "admin-audit.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    saved = tmp_path / "audit-log.csv"
    download_info.value.save_as(saved)
    with saved.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert len(rows) == 1
    (row,) = rows
    assert row["Action"] == "recruitment.approve"
    assert row["Target"] == request_id
    assert row["Who"].startswith("Browser Admin (admin)")
    assert row["What happened"].startswith("Browser Admin (admin) approved recruitment request")
    details = json.loads(row["Details"])
    assert (details["cap"], details["eligible"], details["listed"]) == (CAP, PEOPLE, CAP)

    # Nothing identifying, and no password or token, in any address asked for.
    watch.assert_kept(
        secrets=[
            admin.password,
            admin_key,
            clinician_password,
            clinician_key,
            researcher_password,
            NEW_PASSWORD,
        ],
        patients=[
            *(number for number, _ in people),
            *(f"{number[:3]} {number[3:6]} {number[6:]}" for number, _ in people),
            *(name for _, name in people),
        ],
        staff=[admin.email, clinician_name, clinician_email, researcher_name, researcher_email],
    )
