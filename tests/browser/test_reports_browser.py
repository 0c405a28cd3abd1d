"""A researcher reads the TRD cohort's representativeness report and its datasheet in a real
browser (Debian's Chromium): every bar of every chart shows the share its table gives, and a
group the table flags is flagged on the chart too. Its screenshots illustrate the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from registry.audit.actions import Actor
from registry.auth.permissions import Role
from registry.db import session
from registry.enrolment.actions import enrol_participant
from registry.enrolment.schemas import load_enrolment
from registry.web.charts import percent
from tests.browser.conftest import RECORD_CSP_VIOLATIONS, LiveServer, add_consent_forms, sign_in
from tests.conftest import enrolment_body

pytestmark = pytest.mark.browser

# (ethnic category, sex, gender identity, date of birth, IMD decile): a small, varied
# cohort, missing values included. The live database is shared with the other browser
# tests, whose TRD participants are in the report too; nothing here depends on them.
PEOPLE = [
    ("A", "female", "2", "1958-03-02", 1),
    ("A", "male", "1", "1971-07-19", 2),
    ("A", "female", "2", "1990-11-30", 6),
    ("A", "male", "1", "1984-01-05", None),
    ("B", "female", "2", "1966-05-14", 8),
    ("H", "male", "1", "1979-09-09", 3),
    ("J", "female", "2", "1995-02-21", 1),
    ("J", "male", "3", "1988-06-17", 2),
    ("M", "female", "2", "1975-12-01", 4),
    ("S", "male", "1", "2001-08-08", 5),
    ("Z", "female", "Z", "1962-04-04", 9),
    ("99", "not_stated", "X", "1999-10-10", None),
]
# Bars within this many CSS pixels of where their share puts them (rounding to 0.1 unit).
PIXELS = 1.5


def _enrol_people(live_server: LiveServer, cohort: str = "TRD") -> None:
    """PEOPLE in the cohort at a site of their own, through the app's own enrolment action."""
    versions = add_consent_forms(live_server)
    site_code = live_server.add_site(name=f"Browser Reports Trust {cohort}")
    clinical = (
        {"diagnosis_icd10": "F33.1", "episode_start": "2025-03"}
        if cohort == "TRD"
        else {"diagnosis_icd10": "F20.0", "psychosis_onset": "2025-09"}
    )
    with live_server.app.test_request_context():
        for ethnicity, sex, gender, born, decile in PEOPLE:
            if cohort == "EP" and born < "1962":
                continue  # past EP's intended ages
            body = enrolment_body(
                cohort,
                site=site_code,
                ethnicity=ethnicity,
                sex=sex,
                gender_identity=gender,
                date_of_birth=born,
                imd_decile=decile,
                imd_version="IoD2019" if decile else None,
                clinical=clinical,
            )
            body["consent"]["form_version"] = versions[cohort]
            enrol_participant(load_enrolment(body), by=Actor.command_line(), own_site=None)
        session().commit()


def _check_chart_against_table(page: Page, chart: Locator) -> bool:
    """Each bar's share and flag are its table row's; bar lengths are in proportion to the
    shares. Whether any group is flagged."""
    name = (chart.get_attribute("data-testid") or "").removeprefix("chart-")
    table = page.get_by_test_id(f"table-{name}")
    # Lengths are measured from the laid-out page: wait until its stylesheets have applied,
    # or bars measured before and after they do are drawn at different widths (seen under load).
    page.wait_for_load_state("load")
    any_flagged = False
    lengths = []
    bars = chart.locator("rect[data-share]").all()
    assert bars, name
    for bar in bars:
        group = bar.get_attribute("data-group")
        share = float(bar.get_attribute("data-share") or "nan")
        row = table.locator(f'tr[data-group="{group}"]')
        expect(row.locator('[data-cell="share-figure"]')).to_have_text(percent(share))
        flagged = bar.get_attribute("data-flagged") == "true"
        assert (row.get_attribute("data-flagged") == "true") is flagged, (name, group)
        if flagged:
            # The chart draws the primary comparator: its cell, not the second comparator's.
            primary = row.locator('td[data-cell="ratio"]')
            expect(primary.get_by_test_id("flag")).to_have_text("Under-represented")
            expect(
                chart.locator(f'g[data-group="{group}"] .registry-comparison__flag')
            ).to_have_text("Under-represented")
            any_flagged = True
        box = bar.bounding_box()
        lengths.append((share, box["width"] if box else 0.0))
    longest_share, longest = max(lengths)
    for share, length in lengths:
        assert length == pytest.approx(longest * share / longest_share, abs=PIXELS), (name, share)
    return any_flagged


def test_researcher_reads_the_trd_report_and_its_chart_agrees_with_its_table(
    page: Page, live_server: LiveServer, artifacts_dir: Path
) -> None:
    _enrol_people(live_server)
    researcher = live_server.create_account(Role.RESEARCHER)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    sign_in(page, live_server, researcher.email, researcher.password)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    page.get_by_role("link", name="Representativeness of the cohorts").click()
    page.get_by_label("Treatment-resistant depression (TRD)").check()
    page.get_by_role("button", name="Show the report").click()

    # TRD's default comparator: Birmingham weighted by the prevalence of depression.
    expect(page).to_have_url(re.compile(r"/reports/TRD$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Who is in the cohort, against Birmingham, need-based for depression"
    )
    charts = page.locator('figure[data-testid^="chart-"]').all()
    # The need-based reference has sex, age and IoD2019 deprivation (no ethnic group).
    assert [c.get_attribute("data-testid") for c in charts] == [
        "chart-sex",
        "chart-age_band",
        "chart-imd_quintile_iod2019",
    ]
    for chart in charts:
        _check_chart_against_table(page, chart)
    page.screenshot(path=str(artifacts_dir / "representativeness-TRD.png"), full_page=True)
    # The top of the page, down to the ethnic-group chart and table, for the README.
    page.screenshot(
        path=str(artifacts_dir / "representativeness-TRD-top.png"),
        full_page=True,
        clip={"x": 0, "y": 0, "width": 1280, "height": 2500},
    )

    # Against Birmingham's general population: ethnic group, sex, age and IoD2019 deciles.
    page.get_by_label("Compare with").select_option("census-2021-birmingham")
    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Who is in the cohort, against Birmingham residents, 2021 (general population)"
    )
    charts = page.locator('figure[data-testid^="chart-"]').all()
    assert [c.get_attribute("data-testid") for c in charts] == [
        "chart-ethnicity_group",
        "chart-sex",
        "chart-age_band",
        "chart-imd_decile_iod2019",
        "chart-imd_quintile_iod2019",
    ]
    for chart in charts:
        _check_chart_against_table(page, chart)
    # England and Wales: no deprivation figures (the IoD covers England only).
    page.get_by_label("Compare with").select_option("census-2021-england-wales")
    page.get_by_role("button", name="Compare").click()
    charts = page.locator('figure[data-testid^="chart-"]').all()
    assert [c.get_attribute("data-testid") for c in charts] == [
        "chart-ethnicity_group",
        "chart-sex",
    ]
    for chart in charts:
        _check_chart_against_table(page, chart)

    page.goto(f"{live_server.url}/reports/TRD")
    page.get_by_role("link", name=re.compile("datasheet")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"^Datasheet: MHMTC Research Registry: Treatment-resistant depression")
    )
    expect(page.get_by_role("link", name="Download as Markdown")).to_be_visible()
    expect(page.get_by_test_id("section-summary")).to_contain_text("Not yet written")
    page.screenshot(path=str(artifacts_dir / "datasheet-TRD.png"), full_page=True)
    assert page.evaluate("() => window.__cspViolations") == []


def test_the_ep_report_defaults_to_the_need_based_comparator_with_the_census_beside_it(
    page: Page, live_server: LiveServer, artifacts_dir: Path
) -> None:
    _enrol_people(live_server, "EP")
    researcher = live_server.create_account(Role.RESEARCHER)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    sign_in(page, live_server, researcher.email, researcher.password)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Welcome")

    page.get_by_role("link", name="Representativeness of the cohorts").click()
    page.get_by_label("Early psychosis (EP)").check()
    page.get_by_role("button", name="Show the report").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Who is in the cohort, against Birmingham, need-based for first-episode psychosis"
    )
    expect(page.get_by_test_id("reference")).to_contain_text(
        "Need-based: the population weighted by how often the condition occurs"
    )
    expect(page.get_by_test_id("second-reference")).to_contain_text(
        "Birmingham residents, 2021 (general population)"
    )
    expect(page.get_by_test_id("why-need-based")).to_contain_text("several times more common")
    table = page.get_by_test_id("table-ethnicity_group")
    expect(table.get_by_test_id("comparator-primary")).to_have_text(
        "Birmingham, need-based for first-episode psychosis"
    )
    expect(table.get_by_test_id("comparator-second")).to_have_text(
        "Birmingham residents, 2021 (general population)"
    )
    black = table.locator('tr[data-group="black"]')
    # Birmingham's Black share is 10.9% of residents; the need-based share is far larger.
    expect(black.locator('[data-cell="second-reference-share"]')).to_have_text("10.9%")
    need = float(black.locator('[data-cell="reference-share"]').inner_text().split("%")[0])
    assert need > 25
    for cell in ("ratio", "second-ratio"):
        expect(black.locator(f'[data-cell="{cell}"]')).to_contain_text(re.compile(r"\(\d"))
    for chart in page.locator('figure[data-testid^="chart-"]').all():
        _check_chart_against_table(page, chart)
    page.screenshot(path=str(artifacts_dir / "representativeness-EP.png"), full_page=True)

    # On a 390 px phone the page does not scroll sideways: the wide table scrolls in its region.
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    assert page.evaluate("() => window.__cspViolations") == []
