"""What a browser sees of the registry's defences, checked on every page a clinician
walks through while enrolling someone and opening their record: a CSP with no inline
script and no violations, cookies' flags, a CSRF token in every form, no framing, no
identifier in any URL or title, and no-store on every page."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest
from playwright.sync_api import Page, Response, expect

from registry.auth.permissions import Role
from tests.browser.conftest import (
    RECORD_CSP_VIOLATIONS,
    LiveServer,
    add_consent_forms,
    fill_date,
    sign_in,
)
from tests.browser.test_enrolment_browser import _fill_enrolment, _numbers

pytestmark = pytest.mark.browser


def test_every_page_a_clinician_sees_keeps_the_browser_rules(
    page: Page, live_server: LiveServer
) -> None:
    versions = add_consent_forms(live_server)
    clinician = live_server.create_account(Role.CLINICIAN)
    documents: list[Response] = []
    page.on(
        "response", lambda r: documents.append(r) if r.request.resource_type == "document" else None
    )
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    titles: list[str] = []
    page.on("load", lambda p: titles.append(p.title()))

    sign_in(page, live_server, clinician.email, clinician.password)
    page.get_by_role("link", name="Enrol in the treatment-resistant depression cohort").click()
    number = next(_numbers)
    _fill_enrolment(page, nhs_number=number, version=versions["TRD"], birth="1990-04-12")
    family_name = page.get_by_label("Family name", exact=True).input_value()
    page.get_by_label("Diagnosis (ICD-10 code)").fill("F33.2")
    fill_date(page, "Month the current episode began", "2025-06")
    _assert_every_post_form_has_a_csrf_token(page)
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Enrolled")
    _assert_every_post_form_has_a_csrf_token(page)
    record_url = page.url
    page.goto(f"{live_server.url}/participants/")
    _assert_every_post_form_has_a_csrf_token(page)
    page.goto(record_url)

    identifiers = [
        number,
        f"{number[:3]} {number[3:6]} {number[6:]}",
        family_name,
        "B15 2TT",
        "1990-04-12",
    ]
    assert documents, "no page was loaded"
    for response in documents:
        headers = response.headers
        where = response.url
        for identifier in identifiers:
            assert identifier not in unquote(where), where
        policy = headers.get("content-security-policy", "")
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy, where
        assert "frame-ancestors 'none'" in policy or headers.get("x-frame-options") == "DENY", where
        assert headers.get("x-frame-options") == "DENY", where
        assert headers.get("x-content-type-options") == "nosniff", where
        assert headers.get("cache-control") == "no-store", where
        assert headers.get("referrer-policy") == "no-referrer", where
    for title in titles:
        assert all(identifier not in title for identifier in identifiers), title
    assert page.evaluate("window.__cspViolations") == []

    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    session_cookie = next(c for name, c in cookies.items() if "session" in name)
    assert session_cookie["httpOnly"] is True
    assert session_cookie["sameSite"] == "Lax"


def test_the_registry_cannot_be_framed(page: Page, live_server: LiveServer) -> None:
    """Clickjacking: a page that frames the sign-in page gets an empty frame."""
    page.goto(f"{live_server.url}/sign-in")
    page.set_content(f'<iframe id="victim" src="{live_server.url}/sign-in"></iframe>')
    page.wait_for_timeout(500)
    frame = page.frame_locator("#victim")
    expect(frame.get_by_role("heading", name="Sign in")).to_have_count(0)


def _assert_every_post_form_has_a_csrf_token(page: Page) -> None:
    forms = page.locator("form").all()
    for form in forms:
        method = (form.get_attribute("method") or "get").lower()
        if method == "post":
            # A form with a prefix (several forms on one page) names it "<prefix>-csrf_token";
            # Flask-WTF's CSRF check reads any field ending in csrf_token.
            token = form.locator('input[name$="csrf_token"]')
            expect(token).to_have_count(1)
            assert re.fullmatch(r"[\w.-]{20,}", token.get_attribute("value") or "")
