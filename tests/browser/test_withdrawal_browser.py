"""An admin withdraws a participant fully in a real browser (Debian's Chromium), re-entering
their password, and the clinician's list no longer shows them."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from registry.auth.permissions import Role
from tests.browser.conftest import TIMEOUT_MS, LiveServer, add_consent_forms, fill_date, sign_in
from tests.browser.test_enrolment_browser import _fill_enrolment, _numbers

pytestmark = pytest.mark.browser


def _enrol_trd(page: Page, live_server: LiveServer, version: str) -> tuple[str, str]:
    """Enrol someone through the clinician's form; (participant id, family name)."""
    page.goto(f"{live_server.url}/participants/enrol/TRD")
    _fill_enrolment(page, nhs_number=next(_numbers), version=version, birth="1990-04-12")
    family_name = f"Leaving{secrets.token_hex(3)}"
    page.get_by_label("Family name", exact=True).fill(family_name)
    page.get_by_label("Diagnosis (ICD-10 code)").fill("F33.2")
    fill_date(page, "Month the current episode began", "2025-06")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Enrolled")
    match = re.search(r"/participants/(P-[0-9A-Z]{12})$", page.url)
    assert match, page.url
    return match.group(1), family_name


def test_admin_withdraws_a_participant_fully_with_a_password(
    page: Page, browser: Browser, live_server: LiveServer, artifacts_dir: Path
) -> None:
    versions = add_consent_forms(live_server)
    clinician = live_server.create_account(Role.CLINICIAN)
    sign_in(page, live_server, clinician.email, clinician.password)
    participant_id, family_name = _enrol_trd(page, live_server, versions["TRD"])
    page.goto(f"{live_server.url}/participants/")
    expect(page.get_by_test_id("participants")).to_contain_text(family_name)

    # The admin, in a browser of their own.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    admin_page = context.new_page()
    try:
        admin = live_server.create_account(Role.ADMIN)
        sign_in(admin_page, live_server, admin.email, admin.password)

        admin_page.get_by_role("link", name=re.compile("Find a participant by id")).click()
        admin_page.get_by_label("Participant id").fill(participant_id.lower())
        admin_page.get_by_role("button", name="Find").click()
        expect(admin_page.get_by_role("heading", level=1)).to_have_text(
            f"Participant {participant_id}"
        )
        expect(admin_page.locator("main")).not_to_contain_text(family_name)

        admin_page.get_by_role("link", name="Record a withdrawal").click()
        admin_page.get_by_role("group", name="How far are they withdrawing?").get_by_label(
            "W3 Full withdrawal", exact=True
        ).check()
        admin_page.get_by_label("Reason", exact=True).select_option("participant_request")
        admin_page.get_by_role("group", name="Who asked for it?").get_by_label(
            "The participant", exact=True
        ).check()
        admin_page.get_by_role("button", name="Continue").click()

        expect(admin_page.get_by_role("heading", level=1)).to_have_text("Check the withdrawal")
        expect(admin_page.get_by_test_id("effect")).to_contain_text(
            "Their identity is destroyed and cannot be recovered."
        )
        expect(admin_page.locator("main")).to_contain_text("This cannot be undone.")

        # A wrong password first: refused, nothing recorded.
        admin_page.get_by_label("Your password").fill("not my password")
        admin_page.get_by_role("button", name="Record the withdrawal").click()
        summary = admin_page.locator(".nhsuk-error-summary")
        expect(summary).to_be_visible()
        expect(summary.get_by_role("link", name="Your password is not correct.")).to_have_attribute(
            "href", "#password"
        )
        expect(admin_page.get_by_label("Your password")).to_have_value("")  # never echoed
        admin_page.screenshot(
            path=str(artifacts_dir / "withdrawal-wrong-password.png"), full_page=True
        )

        admin_page.get_by_label("Your password").fill(admin.password)
        admin_page.get_by_role("button", name="Record the withdrawal").click()

        expect(admin_page.get_by_test_id("notice")).to_contain_text(
            "Withdrawal recorded: W3 Full withdrawal."
        )
        expect(admin_page.get_by_test_id("summary")).to_contain_text("Identity destroyed")
        expect(admin_page.get_by_test_id("withdrawals")).to_contain_text("W3 Full withdrawal")
        expect(admin_page.get_by_test_id("events")).to_contain_text("participant.shred")
        assert re.search(rf"/admin/participants/{participant_id}$", admin_page.url)
        admin_page.screenshot(path=str(artifacts_dir / "withdrawal-full.png"), full_page=True)
    finally:
        context.close()

    # The clinician's list no longer shows them; their old link says they withdrew (#21).
    page.goto(f"{live_server.url}/participants/")
    expect(page.get_by_test_id("participants")).not_to_contain_text(family_name)
    response = page.goto(f"{live_server.url}/participants/{participant_id}")
    assert response is not None and response.status == 410
    expect(page.get_by_test_id("withdrawn")).to_contain_text(
        "This participant withdrew from the registry on"
    )
    expect(page.locator("main")).not_to_contain_text(family_name)
    page.screenshot(path=str(artifacts_dir / "withdrawal-clinician-list.png"), full_page=True)
