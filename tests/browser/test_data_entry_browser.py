"""Safe data entry in a real browser (issue #21): a mistyped date of birth caught by the
date boxes and later corrected with a reason, the patient banner, the item-9 prompt after a
PHQ-9, and a PHQ-9 voided so it leaves the latest scores."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from registry import clock
from registry.auth.permissions import Role
from tests.browser.conftest import LiveServer, add_consent_forms, fill_date, sign_in
from tests.browser.test_enrolment_browser import ANSWERS, _fill_enrolment, _numbers

pytestmark = pytest.mark.browser

YESTERDAY = (clock.today() - dt.timedelta(days=1)).isoformat()


def test_clinician_corrects_a_mistyped_date_of_birth(
    page: Page, live_server: LiveServer, artifacts_dir: Path
) -> None:
    versions = add_consent_forms(live_server)
    clinician = live_server.create_account(Role.CLINICIAN)
    sign_in(page, live_server, clinician.email, clinician.password)
    page.goto(f"{live_server.url}/participants/enrol/TRD")
    number = next(_numbers)
    _fill_enrolment(page, nhs_number=number, version=versions["TRD"], birth="1990-04-12")
    page.get_by_label("Diagnosis (ICD-10 code)").fill("F33.2")
    fill_date(page, "Month the current episode began", "2025-06")

    # A date that is not a date: the box at fault is named and highlighted.
    birth = page.get_by_role("group", name="Date of birth", exact=True)
    birth.get_by_label("Day", exact=True).fill("31")
    birth.get_by_label("Month", exact=True).fill("2")
    page.get_by_role("button", name="Enrol").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary.get_by_role("link", name="Date of birth must be a real date")).to_be_visible()
    expect(page.locator("#date_of_birth-error")).to_contain_text(
        "Date of birth must be a real date"
    )
    expect(page).to_have_title(re.compile("^Error: "))
    page.screenshot(path=str(artifacts_dir / "date-input-error.png"), full_page=True)

    # Enrolled with the day and month the wrong way round.
    birth.get_by_label("Day", exact=True).fill("4")
    birth.get_by_label("Month", exact=True).fill("12")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Enrolled")
    banner = page.get_by_test_id("patient-banner")
    expect(banner).to_contain_text(f"{number[:3]} {number[3:6]} {number[6:]}")
    expect(banner).to_contain_text("4 December 1990")

    # Put right, with the reason, on the correction page.
    page.get_by_role("link", name="Correct their details").click()
    expect(page.get_by_test_id("patient-banner")).to_contain_text("4 December 1990")
    fill_date(page, "Date of birth", "1990-04-12")
    page.get_by_label(re.compile("Why the NHS number or date of birth was wrong")).fill(
        "Day and month swapped when typed from the referral letter"
    )
    page.screenshot(path=str(artifacts_dir / "correct-date-of-birth.png"), full_page=True)
    page.get_by_role("button", name="Save corrections").click()

    expect(page.get_by_test_id("notice")).to_contain_text("Their record has been corrected.")
    expect(page.get_by_test_id("patient-banner")).to_contain_text("12 April 1990")
    assert "1990" not in page.url


def test_clinician_sees_the_item_9_prompt_and_voids_the_phq9(
    page: Page, live_server: LiveServer, artifacts_dir: Path
) -> None:
    versions = add_consent_forms(live_server)
    clinician = live_server.create_account(Role.CLINICIAN)
    sign_in(page, live_server, clinician.email, clinician.password)
    page.goto(f"{live_server.url}/participants/enrol/TRD")
    _fill_enrolment(page, nhs_number=next(_numbers), version=versions["TRD"], birth="1990-04-12")
    page.get_by_label("Diagnosis (ICD-10 code)").fill("F33.2")
    fill_date(page, "Month the current episode began", "2025-06")
    page.get_by_role("button", name="Enrol").click()
    expect(page.get_by_test_id("notice")).to_contain_text("Enrolled")

    page.get_by_role("link", name="Record a rating scale").click()
    page.get_by_role("link", name="PHQ-9", exact=True).click()
    expect(page.get_by_test_id("patient-banner")).to_be_visible()
    fill_date(page, "Date it was done", YESTERDAY)
    for number in range(1, 10):
        item = page.locator(f"#item_{number}").locator("xpath=ancestor::fieldset[1]")
        score = 2 if number == 9 else 1
        item.get_by_label(ANSWERS[score], exact=True).check()
    page.screenshot(path=str(artifacts_dir / "phq9-in-words.png"), full_page=True)
    page.get_by_role("button", name="Save PHQ-9").click()

    prompt = page.get_by_test_id("risk-prompt")
    expect(prompt).to_contain_text("Follow your service's risk procedure")
    expect(prompt).to_contain_text("More than half the days")
    expect(page.get_by_test_id("scores")).to_contain_text("PHQ-9")
    page.screenshot(path=str(artifacts_dir / "phq9-item9-prompt.png"), full_page=True)

    page.get_by_test_id("assessments").get_by_role("link", name=re.compile("^Void")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Void the PHQ-9")
    page.get_by_label("Entered against the wrong patient", exact=True).check()
    page.screenshot(path=str(artifacts_dir / "void-phq9-check.png"), full_page=True)
    page.get_by_role("button", name="Void this record").click()

    expect(page.get_by_test_id("notice")).to_contain_text(
        "voided: entered against the wrong patient"
    )
    expect(page.get_by_test_id("scores")).to_contain_text("None recorded yet.")
    expect(page.get_by_test_id("assessments")).to_contain_text("Voided")
    page.screenshot(path=str(artifacts_dir / "phq9-voided.png"), full_page=True)
