"""Sign-in, second-factor set-up and sign-out in a real browser (Debian's Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from registry.auth.permissions import Role
from tests.browser.conftest import RECORD_CSP_VIOLATIONS, LiveServer

pytestmark = pytest.mark.browser


def _sign_in(page: Page, live_server: LiveServer, email: str, password: str) -> None:
    page.goto(f"{live_server.url}/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_clinician_signs_in_sets_up_totp_reaches_home_and_signs_out(
    page: Page, live_server: LiveServer, artifacts_dir: Path
) -> None:
    site_code = live_server.add_site(name="Browser Test Trust")
    clinician = live_server.create_account(Role.CLINICIAN, site_code=site_code)

    _sign_in(page, live_server, clinician.email, clinician.password)

    expect(page).to_have_url(re.compile(r"/sign-in/set-up-security-code$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up your authenticator app")
    key = (page.get_by_test_id("totp-key").text_content() or "").strip()
    assert re.fullmatch(r"[A-Z2-7]{16,}", key), key
    page.get_by_label("Security code").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Turn on two-step sign-in").click()

    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")
    expect(page.get_by_test_id("role-summary")).to_contain_text("Enrol consenting patients")
    expect(page.get_by_text(f"at Browser Test Trust ({site_code})")).to_be_visible()
    page.screenshot(path=str(artifacts_dir / "home-clinician.png"), full_page=True)

    page.get_by_role("button", name="Sign out").click()

    expect(page).to_have_url(f"{live_server.url}/sign-in")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    expect(page.get_by_text("You have signed out.")).to_be_visible()

    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).not_to_contain_text("Welcome")
    expect(page.get_by_test_id("role-summary")).to_have_count(0)
    expect(page.get_by_role("button", name="Sign out")).to_have_count(0)


def test_wrong_password_shows_error_summary(
    page: Page, live_server: LiveServer, artifacts_dir: Path
) -> None:
    researcher = live_server.create_account(Role.RESEARCHER)

    _sign_in(page, live_server, researcher.email, "not the right password")

    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    link = summary.get_by_role("link", name="Enter a correct email address and password.")
    expect(link).to_have_attribute("href", "#password")
    expect(page.locator("#password-error")).to_contain_text(
        "Enter a correct email address and password."
    )
    expect(page.get_by_label("Password")).to_have_value("")  # never echoed back
    expect(page.get_by_label("Email address")).to_have_value(researcher.email)
    page.screenshot(path=str(artifacts_dir / "sign-in-error.png"), full_page=True)

    link.click()  # the summary's link takes the user to the field
    expect(page.get_by_label("Password")).to_be_focused()


def test_pages_have_no_inline_script_and_strict_csp(
    page: Page, live_server: LiveServer, artifacts_dir: Path
) -> None:
    console: list[str] = []
    page.on("console", lambda message: _record_console(console, message))
    page.on("pageerror", lambda error: console.append(f"pageerror: {error}"))
    page.add_init_script(RECORD_CSP_VIOLATIONS)

    response = page.goto(f"{live_server.url}/sign-in")
    page.wait_for_load_state("load")

    assert response is not None and response.ok
    policy = response.headers.get("content-security-policy", "")
    directives = {d.strip().split(" ", 1)[0]: d.strip() for d in policy.split(";") if d.strip()}
    assert directives.get("script-src") == "script-src 'self'", policy
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy, policy
    inline_scripts = page.evaluate(
        "() => [...document.querySelectorAll('script:not([src])')].map(s => s.outerHTML)"
    )
    assert inline_scripts == []
    assert page.evaluate("() => window.__cspViolations") == []
    assert [line for line in console if "Content Security Policy" in line] == []
    assert [line for line in console if line.startswith(("error:", "pageerror:"))] == []
    page.screenshot(path=str(artifacts_dir / "sign-in.png"), full_page=True)

    # If the NHS.UK bundle is installed, registry.js (not an inline snippet) started it.
    if page.locator("script[src$='/nhsuk/nhsuk-frontend.min.js']").count():
        expect(page.locator("body")).to_have_class(re.compile(r"\bnhsuk-frontend-supported\b"))

    # And the policy is really enforced: an injected inline script does not run.
    ran = page.evaluate(
        """() => {
          const script = document.createElement("script");
          script.textContent = "window.__inlineRan = true";
          document.head.appendChild(script);
          return window.__inlineRan === true;
        }"""
    )
    assert ran is False
    page.wait_for_function("() => window.__cspViolations.length > 0")
    assert any(v.startswith("script-src") for v in page.evaluate("() => window.__cspViolations"))


def _record_console(lines: list[str], message: ConsoleMessage) -> None:
    lines.append(f"{message.type}: {message.text}")
