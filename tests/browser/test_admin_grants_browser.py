"""An admin, with no shell, adds a site, creates a data-access grant for a researcher by
ticking the catalogue's checkboxes, and revokes it after reading the check page, in a real
browser (Debian's Chromium), with no CSP violation on the way."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from playwright.sync_api import Page, expect

from registry import clock
from registry.auth.permissions import Role
from tests.browser.conftest import RECORD_CSP_VIOLATIONS, LiveServer, fill_date, sign_in

pytestmark = pytest.mark.browser


def test_admin_adds_a_site_then_creates_and_revokes_a_grant(
    page: Page, live_server: LiveServer
) -> None:
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    researcher = live_server.create_account(Role.RESEARCHER)
    admin = live_server.create_account(Role.ADMIN)
    sign_in(page, live_server, admin.email, admin.password)
    code = f"W{secrets.token_hex(3).upper()}"
    title = f"Browser study {secrets.token_hex(3)}"

    # A site, through its form.
    page.goto(f"{live_server.url}/admin/sites/")
    page.get_by_test_id("add-site").click()
    page.get_by_label("Site code").fill(code.lower())
    page.get_by_label("Name").fill("Browser Added Trust")
    page.get_by_role("button", name="Add the site").click()
    expect(page.locator(f'tr[data-site="{code}"]')).to_contain_text("Browser Added Trust")

    # A grant, through the checkboxes.
    page.goto(f"{live_server.url}/admin/grants/")
    page.get_by_test_id("create-grant").click()
    page.get_by_label("Study title").fill(title)
    page.get_by_label("Ethics reference").fill("24/WM/0123")
    page.locator('input[name="cohorts"][value="TRD"]').check()
    page.locator('input[name="variables"][value="participants.sex"]').check()
    page.locator('input[name="variables"][value="assessments.total"]').check()
    page.locator('input[name="consent_items"][value="future_research"]').check()
    fill_date(page, "Last day of access", (clock.today() + dt.timedelta(days=90)).isoformat())
    page.locator(f'input[name="researchers"][value="{researcher.email}"]').check()
    page.get_by_role("button", name="Create the grant").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_test_id("researchers")).to_contain_text(researcher.email)

    # Revoke, after the check page says what will happen.
    page.get_by_test_id("revoke").click()
    expect(page.get_by_test_id("researchers-lose")).to_have_text(
        "1 researcher loses access at once."
    )
    expect(page.get_by_test_id("exports-stay")).to_have_text(
        "0 extracts made under it stay on record."
    )
    page.get_by_role("button", name="Revoke the grant").click()
    expect(page.locator("h1 + p [data-status]")).to_have_attribute("data-status", "revoked")
    assert page.evaluate("window.__cspViolations") == []
