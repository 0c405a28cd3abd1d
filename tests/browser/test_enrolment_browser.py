"""A clinician enrols participants and records a PHQ-9 in a real browser (Debian's Chromium)."""

from __future__ import annotations

import datetime as dt
import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from registry import clock
from registry.auth.permissions import Role
from registry.consents.items import CONSENT_ITEM_TEXT, CONSENT_ITEMS
from registry.participants.synthetic import synthetic_nhs_numbers
from tests.browser.conftest import LiveServer, add_consent_forms, fill_date, sign_in

pytestmark = pytest.mark.browser

LAST_WEEK = (clock.today() - dt.timedelta(days=7)).isoformat()
PHQ9_SCORES = [3, 2, 2, 2, 2, 2, 2, 1, 1]  # total 17: moderately severe
ANSWERS = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
_numbers = synthetic_nhs_numbers(secrets.SystemRandom())


def _choose(page: Page, question: str, answer: str) -> None:
    page.get_by_role("group", name=question, exact=True).get_by_label(answer, exact=True).check()


def _fill_enrolment(page: Page, *, nhs_number: str, version: str, birth: str) -> None:
    page.get_by_label("NHS number", exact=True).fill(nhs_number)
    page.get_by_label("Given name", exact=True).fill("Ada")
    page.get_by_label("Family name", exact=True).fill(f"Browser{secrets.token_hex(2)}")
    fill_date(page, "Date of birth", birth)
    page.get_by_label("Postcode", exact=True).fill("B15 2TT")
    _choose(page, "Sex", "Female")
    _choose(page, "Gender identity", "Female (including trans woman)")
    page.get_by_label("Ethnicity", exact=True).select_option("H")
    page.get_by_label("Consent form version", exact=True).select_option(version)
    fill_date(page, "Date signed", LAST_WEEK)
    for item in CONSENT_ITEMS:
        _choose(page, CONSENT_ITEM_TEXT[item], "Yes")
    _choose(
        page, "Do they have capacity to consent?", "Yes, I confirmed they have capacity to consent"
    )


def _bad_check_digit(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


def test_clinician_enrols_ep_and_trd_and_records_a_phq9(
    page: Page, live_server: LiveServer, artifacts_dir: Path
) -> None:
    versions = add_consent_forms(live_server)
    clinician = live_server.create_account(Role.CLINICIAN)
    sign_in(page, live_server, clinician.email, clinician.password)

    # Early psychosis: a mistyped NHS number first, then put right.
    page.get_by_role("link", name="Enrol in the early psychosis cohort").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Enrol in the early psychosis cohort (EP)"
    )
    ep_number = next(_numbers)
    _fill_enrolment(
        page, nhs_number=_bad_check_digit(ep_number), version=versions["EP"], birth="2001-02-03"
    )
    page.get_by_label("Diagnosis (ICD-10 code)").fill("F20.0")
    fill_date(page, "Month psychosis began", "2025-09")
    page.get_by_role("button", name="Enrol").click()

    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    message = "This NHS number is not valid: check it has been typed correctly."
    link = summary.get_by_role("link", name=message)
    expect(link).to_have_attribute("href", "#nhs_number")
    expect(page.locator("#nhs_number-error")).to_contain_text(message)
    expect(page.get_by_label("Given name", exact=True)).to_have_value("Ada")  # kept
    onset = page.get_by_role("group", name="Month psychosis began", exact=True)
    expect(onset.get_by_label("Month", exact=True)).to_have_value("9")
    expect(onset.get_by_label("Year", exact=True)).to_have_value("2025")
    expect(
        page.get_by_role("group", name="Sex", exact=True).get_by_label("Female", exact=True)
    ).to_be_checked()
    assert ep_number[:9] not in page.url  # nothing typed ends up in the address
    page.screenshot(path=str(artifacts_dir / "enrol-ep-error.png"), full_page=True)

    link.click()
    expect(page.get_by_label("NHS number", exact=True)).to_be_focused()
    page.get_by_label("NHS number", exact=True).fill(ep_number)
    page.get_by_role("button", name="Enrol").click()

    expect(page.get_by_test_id("notice")).to_contain_text("Enrolled in the early psychosis cohort.")
    formatted = f"{ep_number[:3]} {ep_number[3:6]} {ep_number[6:]}"
    expect(page.get_by_test_id("identity")).to_contain_text(formatted)
    assert ep_number not in page.url and re.search(r"/participants/P-[0-9A-Z]{12}$", page.url)

    # Treatment-resistant depression, straight through.
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Enrol in the treatment-resistant depression cohort").click()
    trd_number = next(_numbers)
    _fill_enrolment(page, nhs_number=trd_number, version=versions["TRD"], birth="1990-04-12")
    page.get_by_label("Diagnosis (ICD-10 code)").fill("F33.2")
    fill_date(page, "Month the current episode began", "2025-06")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_test_id("notice")).to_contain_text(
        "Enrolled in the treatment-resistant depression cohort."
    )

    # A PHQ-9, item by item.
    page.get_by_role("link", name="Record a rating scale").click()
    page.get_by_role("link", name="PHQ-9", exact=True).click()
    fill_date(page, "Date it was done", LAST_WEEK)
    for number, score in enumerate(PHQ9_SCORES, 1):
        item = page.locator(f"#item_{number}").locator("xpath=ancestor::fieldset[1]")
        item.get_by_label(ANSWERS[score], exact=True).check()
    page.get_by_role("button", name="Save PHQ-9").click()

    expect(page.get_by_test_id("notice")).to_contain_text("PHQ-9 total 17, moderately severe")
    expect(page.get_by_test_id("scores")).to_contain_text("moderately severe")
    page.screenshot(path=str(artifacts_dir / "participant-phq9.png"), full_page=True)
