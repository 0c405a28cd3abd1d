"""A researcher builds a two-clause eligibility query in a real browser (Debian's Chromium),
counts it with a breakdown by sex, checks the chart against the table, saves the query and
opens it again."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from registry.audit.actions import Actor
from registry.auth.permissions import Role
from registry.db import session
from registry.enrolment.actions import enrol_participant
from registry.enrolment.schemas import load_enrolment
from tests.browser.conftest import LiveServer, add_consent_forms, sign_in
from tests.conftest import enrolment_body

pytestmark = pytest.mark.browser

SEXES = ["female"] * 3 + ["male"] * 2


def _site_with_participants(live_server: LiveServer) -> str:
    """A new site with three women and two men enrolled in TRD; its code. The live
    database is shared by every browser test, so the query names this site."""
    versions = add_consent_forms(live_server)
    site_code = live_server.add_site()
    with live_server.app.test_request_context():
        for sex in SEXES:
            body = enrolment_body("TRD", site=site_code, sex=sex)
            body["consent"]["form_version"] = versions["TRD"]
            enrol_participant(load_enrolment(body), by=Actor.command_line(), own_site=None)
        session().commit()
    return site_code


def _clause(page: Page, number: int) -> Locator:
    return page.get_by_role("group", name=f"Clause {number}", exact=True)


def _fill_clause(page: Page, number: int, field: str, op: str, value: str) -> None:
    clause = _clause(page, number)
    clause.get_by_label("Field", exact=True).select_option(field)
    clause.get_by_label("Operator", exact=True).select_option(op)
    clause.get_by_label("Value", exact=True).fill(value)


def _table(page: Page) -> dict[str, str]:
    """The breakdown table's figures by category (the total row included)."""
    figures = {}
    for row in page.get_by_test_id("breakdown").locator("tbody tr").all():
        figures[row.locator("th").inner_text().strip()] = row.locator("td").inner_text().strip()
    return figures


def _bar_width(page: Page, category: str) -> float:
    page.wait_for_load_state("load")  # measured once the stylesheets have applied
    bar = page.get_by_test_id("chart").locator(f'g[data-category="{category}"] rect')
    box = bar.bounding_box()
    assert box is not None, category
    return box["width"]


def test_researcher_builds_counts_charts_saves_and_reloads_a_query(
    page: Page, live_server: LiveServer, artifacts_dir: Path
) -> None:
    site_code = _site_with_participants(live_server)
    researcher = live_server.create_account(Role.RESEARCHER)
    # The browser reports a Content-Security-Policy violation (an inline style in the
    # chart, say) on the console: the page must draw without one.
    violations: list[str] = []
    page.on(
        "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
    )
    sign_in(page, live_server, researcher.email, researcher.password)

    page.get_by_role("link", name="Count who meets a study's criteria").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Eligibility counts")
    page.get_by_label("Cohort", exact=True).select_option("TRD")
    _fill_clause(page, 1, "site", "=", site_code)
    page.get_by_role("button", name="Add a clause").click()

    expect(_clause(page, 2)).to_be_visible()
    expect(_clause(page, 1).get_by_label("Value", exact=True)).to_have_value(site_code)
    expect(page.get_by_test_id("answer")).to_have_count(0)  # adding a row counts nothing
    _fill_clause(page, 2, "age", "between", "18 to 80")
    page.get_by_label("Break the count down by").select_option("sex")
    # Enter in a value box counts (the form's default button), rather than removing a row.
    _clause(page, 2).get_by_label("Value", exact=True).press("Enter")

    expect(page.get_by_test_id("count")).to_have_text("5")
    expect(_clause(page, 2)).to_be_visible()  # the query stays, to be changed or saved
    table = _table(page)
    assert table == {"Female": "3", "Male": "2", "Not stated": "0", "Total": "5"}  # in words
    chart = page.get_by_test_id("chart")
    for category, figure in table.items():
        if category != "Total":
            row = chart.locator(f'g[data-category="{category}"]')
            expect(row.locator("text.registry-chart__figure")).to_have_text(figure)
    assert _bar_width(page, "Male") / _bar_width(page, "Female") == pytest.approx(2 / 3, rel=0.02)
    expect(chart.locator('g[data-category="Not stated"] rect')).to_have_count(0)
    page.screenshot(path=str(artifacts_dir / "eligibility-count.png"), full_page=True)

    name = f"Browser adults {secrets.token_hex(3)}"
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_role("button", name="Save as a new query").click()

    expect(page).to_have_url(re.compile(r"/eligibility/saved/[0-9a-f]+$"))
    expect(page.locator(".registry-flash")).to_contain_text("Your query has been saved.")

    page.goto(f"{live_server.url}/eligibility/")
    expect(_clause(page, 1).get_by_label("Value", exact=True)).to_have_value("")
    page.get_by_test_id("saved-queries").get_by_role("link", name=name).click()

    expect(page.get_by_test_id("loaded")).to_contain_text(name)
    expect(page.get_by_label("Cohort", exact=True)).to_have_value("TRD")
    expect(_clause(page, 1).get_by_label("Field", exact=True)).to_have_value("site")
    expect(_clause(page, 1).get_by_label("Value", exact=True)).to_have_value(site_code)
    expect(_clause(page, 2).get_by_label("Operator", exact=True)).to_have_value("between")
    expect(_clause(page, 2).get_by_label("Value", exact=True)).to_have_value("18 to 80")
    expect(page.get_by_label("Break the count down by")).to_have_value("sex")
    page.get_by_role("button", name="Count", exact=True).click()
    expect(page.get_by_test_id("count")).to_have_text("5")
    page.screenshot(path=str(artifacts_dir / "eligibility-saved-query.png"), full_page=True)
    assert violations == []
