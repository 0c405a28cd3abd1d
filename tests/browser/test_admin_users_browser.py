"""An admin creates a clinician in a real browser (Debian's Chromium), sees the one-time
password once, and resets the clinician's second factor after step-up; the clinician signs
in with the one-time password, changes it, and sets up the authenticator app again."""

from __future__ import annotations

import re
import secrets

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import update

from registry.auth.models import User
from registry.auth.permissions import Role
from registry.db import session
from tests.browser.conftest import TIMEOUT_MS, LiveServer

pytestmark = pytest.mark.browser

NEW_PASSWORD = "a long new password of mine"


def _sign_in_setting_up_the_app(
    page: Page, live_server: LiveServer, email: str, password: str
) -> str:
    """Sign in, setting up the authenticator app; the app's key, for codes later."""
    page.goto(f"{live_server.url}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/sign-in/set-up-security-code$"))
    key = (page.get_by_test_id("totp-key").text_content() or "").strip()
    page.get_by_label("Security code").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()
    return key


def _fresh_code(live_server: LiveServer, email: str, key: str) -> str:
    """A code the registry has not seen: the sign-in used this step's, and waiting 30
    seconds for the next would only slow the test."""
    with live_server.app.test_request_context():
        session().execute(update(User).where(User.email == email).values(totp_last_step=None))
        session().commit()
    return pyotp.TOTP(key).now()


def test_admin_creates_a_clinician_and_resets_their_second_factor(
    page: Page, browser: Browser, live_server: LiveServer
) -> None:
    site_name = f"Browser Users Trust {secrets.token_hex(2)}"
    site_code = live_server.add_site(name=site_name)
    admin = live_server.create_account(Role.ADMIN)
    admin_key = _sign_in_setting_up_the_app(page, live_server, admin.email, admin.password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")  # an admin's home

    # The admin creates a clinician; the one-time password is shown once.
    email = f"jo-{secrets.token_hex(3)}@example.nhs.uk"
    page.goto(f"{live_server.url}/admin/users/")
    page.get_by_role("link", name="Create a user").click()
    page.get_by_label("Full name").fill("Jo Bloggs")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Clinician", exact=True).check()
    page.get_by_label("Site (clinicians only)").select_option(site_code)
    page.get_by_role("button", name="Create the user").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("One-time password")
    one_time = (page.get_by_test_id("one-time-password").text_content() or "").strip()
    assert len(one_time) >= 12
    assert one_time not in page.url
    page.reload()
    expect(page.get_by_test_id("already-shown")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text(one_time)

    # The clinician, in a browser of their own: one-time password, app, new password.
    context = browser.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(TIMEOUT_MS)
    clinician_page = context.new_page()
    try:
        _sign_in_setting_up_the_app(clinician_page, live_server, email, one_time)
        expect(clinician_page).to_have_url(re.compile(r"/account/password$"))
        clinician_page.get_by_label("Current password").fill(one_time)
        clinician_page.get_by_label("New password").fill(NEW_PASSWORD)
        clinician_page.get_by_role("button", name="Change password").click()
        expect(clinician_page.get_by_role("heading", level=1)).to_contain_text("Welcome")

        # The admin finds them, and resets their second factor after step-up.
        page.goto(f"{live_server.url}/admin/users/?role=clinician&site={site_code}")
        expect(page.get_by_test_id("users")).to_contain_text("Active")
        page.get_by_role("link", name="Jo Bloggs").click()
        expect(page.get_by_test_id("account")).to_contain_text("Set up")
        reset = page.locator(
            "form", has=page.get_by_role("button", name="Reset their second factor")
        )
        reset.get_by_label("Your security code").fill("000000")
        reset.get_by_role("button", name="Reset their second factor").click()
        expect(page).to_have_title(re.compile("^Error: "))
        expect(page.locator(".nhsuk-error-summary")).to_contain_text(
            "The security code is not correct"
        )
        reset = page.locator(
            "form", has=page.get_by_role("button", name="Reset their second factor")
        )
        reset.get_by_label("Your security code").fill(
            _fresh_code(live_server, admin.email, admin_key)
        )
        reset.get_by_role("button", name="Reset their second factor").click()
        expect(page.locator(".registry-flash")).to_contain_text("second factor is reset")
        expect(page.get_by_test_id("account")).to_contain_text("Not set up")
        page.set_viewport_size({"width": 390, "height": 844})  # the user's page fits a phone
        # The header's script moves what no longer fits under "More" once it sees the resize.
        menu = page.get_by_role("navigation", name="Menu")
        expect(menu.get_by_role("button", name="More")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # Their session has ended; at their next sign-in they set the app up again.
        clinician_page.goto(f"{live_server.url}/account/tokens")
        expect(clinician_page).to_have_url(re.compile(r"/sign-in"))
        _sign_in_setting_up_the_app(clinician_page, live_server, email, NEW_PASSWORD)
        expect(clinician_page.get_by_role("heading", level=1)).to_contain_text("Welcome")
        width = clinician_page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390
    finally:
        context.close()
