"""An admin finds an event in the audit log and downloads it as CSV; every role sees its
own sections in the header, the current one marked, on a desktop and on a 390 px phone."""

from __future__ import annotations

import csv
import datetime as dt
import json
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Page, ViewportSize, expect

from registry.auth.permissions import Role
from registry.web.navigation import sections_for
from tests.browser.conftest import RECORD_CSP_VIOLATIONS, LiveServer, fill_date, sign_in

pytestmark = pytest.mark.browser

DESKTOP: ViewportSize = {"width": 1024, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}


def test_admin_filters_the_log_to_an_event_and_downloads_it_as_csv(
    page: Page, live_server: LiveServer, artifacts_dir: Path, tmp_path: Path
) -> None:
    code = live_server.add_site(code=f"AUD{secrets.token_hex(2).upper()}", name="Audit Trust")
    admin = live_server.create_account(Role.ADMIN)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    sign_in(page, live_server, admin.email, admin.password)

    page.get_by_role("link", name="Audit", exact=True).click()
    page.get_by_label("Who did it").select_option(label="The command line")
    page.get_by_label("What they did").select_option(value="site.add")
    today = dt.datetime.now(dt.UTC).date().isoformat()
    fill_date(page, "Start date", today)
    fill_date(page, "End date", today)
    page.get_by_role("button", name="Show events").click()

    events = page.get_by_test_id("event")
    expect(events.filter(has_text=code)).to_have_count(1)
    expect(events.first).to_contain_text("Someone at the command line")
    expect(events.first).to_contain_text("added site")
    assert "site.add" in page.url and "@" not in page.url  # filters, never an identity
    assert "since-day=" in page.url and "until-year=" in page.url
    page.screenshot(path=str(artifacts_dir / "audit-log-filtered.png"), full_page=True)

    with page.expect_download() as download_info:
        page.get_by_test_id("download").click()
    download = download_info.value
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)

    assert download.suggested_filename == "audit-log.csv"
    with saved.open(newline="") as file:
        rows = list(csv.DictReader(file))
    assert rows, "the CSV has the filtered events"
    assert {row["Action"] for row in rows} == {"site.add"}
    assert all(row["Who"].startswith("Someone at the command line") for row in rows)
    ours = [row for row in rows if json.loads(row["Details"]).get("code") == code]
    assert len(ours) == 1
    assert ours[0]["What happened"].startswith("Someone at the command line")
    assert page.evaluate("window.__cspViolations") == []


# The page that stands for each role's section, and the section it should mark.
CURRENT = {
    Role.CLINICIAN: ("/participants/", "Participants"),
    Role.RESEARCHER: ("/reports/", "Reports"),
    Role.PARTNER: ("/recruitment/", "Requests"),
    Role.ADMIN: ("/admin/audit/", "Audit"),
}


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1024px", "390px"])
@pytest.mark.parametrize("role", list(CURRENT), ids=lambda role: role.value)
def test_each_role_sees_its_own_sections_with_the_current_one_marked(
    page: Page, live_server: LiveServer, artifacts_dir: Path, role: Role, viewport: ViewportSize
) -> None:
    page.set_viewport_size(viewport)
    account = live_server.create_account(role)
    sign_in(page, live_server, account.email, account.password)
    path, current = CURRENT[role]

    page.goto(f"{live_server.url}{path}")

    navigation = page.get_by_role("navigation", name="Menu")  # not the account links
    # Narrow screens move the items that do not fit under a "More" button: all still there.
    labels = [text.strip() for text in navigation.locator("a").all_text_contents()]
    assert [label for label in labels if label] == [s.label for s in sections_for(role)]
    marked = navigation.locator('a[aria-current="page"]')
    expect(marked).to_have_count(1)
    expect(marked).to_have_text(current)
    if not marked.is_visible():  # under "More" on a phone: one tap shows it, still marked
        navigation.get_by_role("button", name="More").click()
    expect(marked).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{width} px wide in a {viewport['width']} px window"
    page.screenshot(
        path=str(artifacts_dir / f"navigation-{role.value}-{viewport['width']}.png"),
        full_page=True,
    )
