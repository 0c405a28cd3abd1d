"""The representativeness pages, through the Flask test client: what a researcher sees (and
that it is the API's report), who is refused, the downloads, and the admin's datasheet
sections and reference populations, with their errors shown and nothing written."""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry.auth.permissions import Role
from registry.reports.queries import available_references, written_sections
from registry.reports.report import ATTRITION_ATTRIBUTES
from registry.web.charts import percent
from registry.web.reports.display import interval, ratio, ratio_interval
from tests.conftest import Account, ApiUser, enrol, post_form
from tests.participants.test_web import page_of
from tests.reports.test_representativeness import GOOD_CSV

pytestmark = pytest.mark.usefixtures("consent_forms")

REPORT = "/reports/TRD"
API_REPORT = "/api/v1/cohorts/TRD/representativeness"
DATASHEET = "/reports/TRD/datasheet"
EDIT_SUMMARY = "/reports/TRD/datasheet/summary"
REFERENCES = "/reports/references"
PAGES = (
    "/reports/",
    REPORT,
    "/reports/TRD/representativeness.csv",
    DATASHEET,
    "/reports/TRD/datasheet.md",
)
ADMIN_PAGES = (EDIT_SUMMARY, REFERENCES)
ICB = {
    "reference_id": "icb-2021-bsol",
    "name": "Birmingham and Solihull ICB, Census 2021",
    "geography": "Birmingham and Solihull ICB",
    "geography_code": "E54000055",
    "year": "2021",
    "source": "ONS Census 2021 TS021, aggregated to the ICB.",
}


class ReportPage(HTMLParser):
    """What the report's tables and charts say: each table's cells by group and column
    (``data-cell``), each chart's bars' data, and the main content's headings in order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: dict[tuple[str, str, str], str] = defaultdict(str)
        self.bars: dict[tuple[str, str], dict[str, str | None]] = {}
        self.flagged_rows: set[tuple[str, str]] = set()
        self.headings: list[str] = []
        self._table: str | None = None
        self._chart: str | None = None
        self._group: str | None = None
        self._cells: list[str] = []
        self._heading: list[str] | None = None
        self._in_main = False
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        testid = found.get("data-testid") or ""
        if tag == "table":
            self._table = testid
        elif tag == "figure":
            self._chart = testid
        elif tag == "tr" and self._table:
            self._group = found.get("data-group")
            if found.get("data-flagged") == "true" and self._group:
                self.flagged_rows.add((self._table, self._group))
        elif tag == "rect" and self._chart and found.get("data-group"):
            kind = "reference" if "data-reference-share" in found else "cohort"
            self.bars[(f"{self._chart}/{kind}", found["data-group"] or "")] = found
        elif tag == "main":
            self._in_main = True
        elif tag in ("h1", "h2", "h3") and self._in_main:
            self._heading = []
        if found.get("data-cell"):
            self._cells.append(found["data-cell"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None
        elif tag == "figure":
            self._chart = None
        elif tag == "td" and self._cells:
            self._cells.clear()
        elif tag == "span" and len(self._cells) > 1:
            self._cells.pop()
        elif tag == "main":
            self._in_main = False
        elif tag in ("h1", "h2", "h3") and self._heading is not None:
            self.headings.append(" ".join("".join(self._heading).split()))
            self._heading = None

    def handle_data(self, data: str) -> None:
        if self._table and self._group:
            for cell in self._cells:
                self.cells[(self._table, self._group, cell)] += data
        if self._heading is not None:
            self._heading.append(data)

    def cell(self, table: str, group: str, column: str) -> str:
        return " ".join(self.cells[(table, group, column)].split())


# -- builders -------------------------------------------------------------------------------


@pytest.fixture
def cohort(consent_forms: None, client: FlaskClient, api_user: Callable[..., ApiUser]) -> None:
    """Ten TRD participants: 6 White British, 2 Indian, 1 not stated, 1 not known. Against
    Birmingham, Black, Mixed and Other (none enrolled) are under-represented."""
    clinician = api_user(Role.CLINICIAN)
    for ethnicity, n, extra in (
        ("A", 6, {"sex": "female"}),
        ("H", 2, {"sex": "male", "imd_decile": 9}),
        ("Z", 1, {"gender_identity": "Z", "imd_decile": None, "imd_version": None}),
        ("99", 1, {"gender_identity": "X", "sex": "not_stated"}),
    ):
        for _ in range(n):
            enrol(client, clinician, ethnicity=ethnicity, **extra)


@pytest.fixture
def signed_in_as(
    app: Flask, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> Callable[[Role], FlaskClient]:
    """A browser of its own, signed in as a new account of the role."""

    def browser(role: Role) -> FlaskClient:
        web = app.test_client()
        sign_in(create_account(role), test_client=web)
        return web

    return browser


@pytest.fixture
def researcher_web(signed_in_as: Callable[[Role], FlaskClient]) -> FlaskClient:
    return signed_in_as(Role.RESEARCHER)


@pytest.fixture
def admin_web(signed_in_as: Callable[[Role], FlaskClient]) -> FlaskClient:
    return signed_in_as(Role.ADMIN)


# -- the report -----------------------------------------------------------------------------


@pytest.mark.usefixtures("cohort")
def test_a_researcher_sees_the_report_against_both_comparators_with_uncertain_groups(
    researcher_web: FlaskClient,
) -> None:
    response = researcher_web.get(f"{REPORT}?reference=census-2021-birmingham")

    assert response.status_code == 200
    page = page_of(response)
    reference = page.text_of("reference")
    assert "Birmingham residents, 2021 (general population)" in reference
    assert "E08000025" in reference and "General population" in reference
    assert "Birmingham, need-based for depression" in page.text_of("second-reference")
    assert "18 and over" in page.text
    # 8 people with a known ethnic group: no group's whole interval is below 0.8, so none is
    # flagged; the groups none of them belong to are uncertain (the point ratio flagged them).
    # None of 9 in England's most deprived decile, where 43% of Birmingham lives, is flagged.
    flagged = page.text_of("flagged")
    assert "1 (most deprived) (ratio 0.00, 95% CI 0.00\N{EN DASH}0.70)" in flagged
    assert "Ethnic group" not in flagged
    assert "convention" in page.text_of("threshold")
    assert "STANDING" not in page.text_of("threshold")
    report = ReportPage(response.get_data(as_text=True))
    assert ("table-ethnicity_group", "black") not in report.flagged_rows
    assert report.bars[("chart-ethnicity_group/cohort", "black")]["data-flagged"] == "false"
    black_ratio = report.cell("table-ethnicity_group", "black", "ratio")
    assert black_ratio.startswith("0.00 (0.00") and "Uncertain" in black_ratio
    # The sex rows carry both comparators' figures, in words.
    assert report.cell("table-sex", "female", "second-reference-share")
    assert "Uncertain" in report.cell("table-sex", "male", "second-ratio")
    assert "mid-2021 population estimate" in page.text_of("sources-sex")
    assert "Self-reported" in page.text_of("provenance-gender_identity")
    # Not stated and not known apart, as shares of all ten.
    missing = page.text_of("missing-ethnicity_group")
    assert "Not stated (asked, declined) 1 10.0%" in missing
    assert "Not known (never recorded) 1 10.0%" in missing
    # Birmingham's IoD2019 distribution: a chart; no IoD2025 figures: a table only.
    assert ("chart-imd_quintile_iod2019/cohort", "1") in report.bars
    assert report.cell("table-imd_quintile_iod2019", "1", "enrolled") == "7"
    assert ("chart-imd_quintile_iod2025/cohort", "1") not in report.bars


@pytest.mark.usefixtures("cohort")
@pytest.mark.parametrize("reference", ["census-2021-birmingham", "census-2021-england-wales"])
def test_the_pages_figures_and_chart_are_the_apis(
    client: FlaskClient,
    researcher_web: FlaskClient,
    api_user: Callable[..., ApiUser],
    reference: str,
) -> None:
    api = client.get(
        f"{API_REPORT}?reference={reference}", headers=api_user(Role.RESEARCHER).headers
    ).get_json()

    page = ReportPage(researcher_web.get(f"{REPORT}?reference={reference}").get_data(as_text=True))

    for attribute in api["attributes"]:
        table = f"table-{attribute['name']}"
        for g in attribute["groups"]:
            group = g["group"]
            assert page.cell(table, group, "enrolled") == str(g["counts"]["enrolled"])
            assert page.cell(table, group, "share") == (
                f"{percent(g['share'])} ({interval(g['share_ci'])})"
            )
            if not attribute["has_reference"]:
                continue
            expected_ratio = ratio(g["ratio"])
            if g["ratio_ci"]:
                expected_ratio += f" ({ratio_interval(g['ratio_ci'])})"
            assert page.cell(table, group, "ratio").startswith(expected_ratio)
            assert ((table, group) in page.flagged_rows) is g["flagged"]
            bar = page.bars[(f"chart-{attribute['name']}/cohort", group)]
            assert float(bar["data-share"] or "nan") == pytest.approx(g["share"])
            if g["reference_share"] is not None:
                reference_bar = page.bars[(f"chart-{attribute['name']}/reference", group)]
                assert float(reference_bar["data-reference-share"] or "nan") == pytest.approx(
                    g["reference_share"]
                )
        if attribute["name"] in ATTRITION_ATTRIBUTES:
            for g in attribute["groups"]:
                for stage in api["stages"]:
                    assert page.cell(f"attrition-{attribute['name']}", g["group"], stage) == str(
                        g["counts"][stage]
                    )


@pytest.mark.usefixtures("cohort")
def test_choosing_a_cohort_and_reference_opens_that_report(researcher_web: FlaskClient) -> None:
    chosen = researcher_web.get("/reports/?cohort=TRD&reference=census-2021-england-wales")

    assert chosen.status_code == 302
    assert chosen.location == "/reports/TRD?reference=census-2021-england-wales"
    page = page_of(researcher_web.get(chosen.location))
    assert "England and Wales, Census 2021" in page.text_of("reference")


def test_choosing_no_cohort_says_so(researcher_web: FlaskClient) -> None:
    response = researcher_web.get("/reports/?reference=census-2021-birmingham")

    assert response.status_code == 422
    assert page_of(response).summary == [("#cohort", "Choose a cohort.")]


@pytest.mark.parametrize(
    "url", ["/reports/XYZ", f"{REPORT}?reference=nowhere", "/reports/XYZ/datasheet"]
)
def test_an_unknown_cohort_or_reference_is_a_404_page(
    researcher_web: FlaskClient, url: str
) -> None:
    response = researcher_web.get(url)

    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert "Page not found" in page_of(response).text


@pytest.mark.parametrize("role", [Role.PARTNER, Role.CLINICIAN])
def test_partners_and_clinicians_are_refused(
    signed_in_as: Callable[[Role], FlaskClient], role: Role
) -> None:
    web = signed_in_as(role)

    for url in (*PAGES, *ADMIN_PAGES):
        assert web.get(url).status_code == 403, url


def test_researchers_cannot_write_sections_or_load_references(researcher_web: FlaskClient) -> None:
    for url in ADMIN_PAGES:
        assert researcher_web.get(url).status_code == 403, url


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    for url in (*PAGES, *ADMIN_PAGES):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.location.startswith("/sign-in"), url


# -- downloads ------------------------------------------------------------------------------


@pytest.mark.usefixtures("cohort")
def test_the_csv_download_is_the_apis_csv(
    client: FlaskClient, researcher_web: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    api = client.get(f"{API_REPORT}?format=csv", headers=api_user(Role.RESEARCHER).headers)

    response = researcher_web.get("/reports/TRD/representativeness.csv")

    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == (
        'attachment; filename="representativeness-TRD.csv"'
    )
    assert response.get_data(as_text=True) == api.get_data(as_text=True)


@pytest.mark.usefixtures("cohort")
def test_the_markdown_download_is_the_apis_datasheet(
    client: FlaskClient, researcher_web: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    api = client.get(
        "/api/v1/cohorts/TRD/datasheet?format=md&reference=census-2021-birmingham",
        headers=api_user(Role.RESEARCHER).headers,
    )

    response = researcher_web.get("/reports/TRD/datasheet.md?reference=census-2021-birmingham")

    assert response.status_code == 200 and response.mimetype == "text/markdown"
    assert response.headers["Content-Disposition"] == 'attachment; filename="datasheet-TRD.md"'
    assert response.get_data(as_text=True) == api.get_data(as_text=True)


# -- the datasheet --------------------------------------------------------------------------


@pytest.mark.usefixtures("cohort")
def test_the_datasheet_page_has_the_markdowns_sections_in_its_order(
    researcher_web: FlaskClient,
) -> None:
    markdown = researcher_web.get("/reports/TRD/datasheet.md").get_data(as_text=True)
    markdown_headings = [
        line.lstrip("#").strip() for line in markdown.splitlines() if line.startswith("#")
    ]

    page = researcher_web.get(DATASHEET)

    assert page.status_code == 200
    assert ReportPage(page.get_data(as_text=True)).headings == markdown_headings
    text = page_of(page).text
    assert "Not yet written: an admin adds this section." in text
    assert "Edit" not in page_of(page).text_of("section-summary")  # researchers only read


@pytest.mark.usefixtures("cohort")
def test_an_admin_writes_a_section_and_each_save_is_a_new_version(
    app: Flask, admin_web: FlaskClient
) -> None:
    page = page_of(admin_web.get(DATASHEET))
    assert "Edit" in page.text_of("section-summary")

    for text in ("Adults with depression.", "Adults with treatment-resistant depression."):
        saved = post_form(
            admin_web, f"{EDIT_SUMMARY}?reference=census-2021-england-wales", {"text": text}
        )
        assert saved.status_code == 302
        assert saved.location == f"{DATASHEET}?reference=census-2021-england-wales"

    shown = admin_web.get(saved.location)
    assert "Summary saved as version 2." in page_of(shown).text
    section = page_of(shown).text_of("section-summary")
    assert "Adults with treatment-resistant depression." in section
    assert "Version 2" in section
    assert "This is version 2" in page_of(admin_web.get(EDIT_SUMMARY)).text_of("current-version")
    with app.test_request_context():
        assert written_sections("TRD")["summary"]["version"] == 2


def test_a_blank_section_is_refused_and_nothing_is_written(
    app: Flask, admin_web: FlaskClient
) -> None:
    response = post_form(admin_web, EDIT_SUMMARY, {"text": "   "})

    assert response.status_code == 422
    assert page_of(response).summary == [("#text", "Write the section's text.")]
    with app.test_request_context():
        assert written_sections("TRD")["summary"]["version"] == 0


def test_a_section_without_a_csrf_token_is_refused(app: Flask, admin_web: FlaskClient) -> None:
    response = admin_web.post(EDIT_SUMMARY, data={"text": "Forged."})

    assert response.status_code == 400
    with app.test_request_context():
        assert written_sections("TRD")["summary"]["version"] == 0


@pytest.mark.parametrize("url", ["/reports/TRD/datasheet/gossip", "/reports/XYZ/datasheet/summary"])
def test_an_unknown_section_or_cohort_is_a_404_page(admin_web: FlaskClient, url: str) -> None:
    assert admin_web.get(url).status_code == 404


# -- reference populations ------------------------------------------------------------------


def test_an_admin_loads_a_pasted_reference_and_it_is_listed(admin_web: FlaskClient) -> None:
    response = post_form(admin_web, REFERENCES, {**ICB, "shares_text": GOOD_CSV})

    assert response.status_code == 302
    page = admin_web.get(REFERENCES)
    assert "Loaded Birmingham and Solihull ICB, Census 2021 as icb-2021-bsol, version 1." in (
        page_of(page).text
    )
    assert 'data-reference="icb-2021-bsol"' in page.get_data(as_text=True)
    report = admin_web.get("/reports/TRD?reference=icb-2021-bsol")
    assert "(version 1)" in page_of(report).text_of("reference")


def test_an_admin_loads_a_reference_from_a_file(admin_web: FlaskClient) -> None:
    upload = (io.BytesIO(GOOD_CSV.encode("utf-8-sig")), "icb.csv")

    response = post_form(
        admin_web,
        REFERENCES,
        {**ICB, "shares_file": upload},
        content_type="multipart/form-data",
    )

    assert response.status_code == 302
    assert 'data-reference="icb-2021-bsol"' in admin_web.get(REFERENCES).get_data(as_text=True)


def test_a_bad_reference_csv_is_refused_naming_each_problem(
    app: Flask, admin_web: FlaskClient
) -> None:
    bad = GOOD_CSV.replace("white,", "beige,").replace("other,3.0,", "other,3.0,maybe")

    response = post_form(admin_web, REFERENCES, {**ICB, "shares_text": bad})

    assert response.status_code == 422
    summary = page_of(response).summary
    assert any(
        href == "#shares_text" and text.startswith("line 2: unknown ethnicity_group group")
        for href, text in summary
    ), summary
    # One summary entry per field; every line's problem is listed at the field itself.
    assert "line 6: confirm must be" in response.get_data(as_text=True)
    with app.test_request_context():
        assert "icb-2021-bsol" not in available_references()


def test_a_reference_without_shares_or_a_year_is_refused(admin_web: FlaskClient) -> None:
    response = post_form(admin_web, REFERENCES, {**ICB, "year": "twenty"})

    assert response.status_code == 422
    assert sorted(page_of(response).summary) == [
        ("#shares_text", "Choose a CSV file, or paste its text."),
        ("#year", "Not a valid integer."),
    ]


def test_an_admin_loads_an_eip_caseload_of_counts_for_ep(admin_web: FlaskClient) -> None:
    counts = (
        "attribute,group,count,confirm\n"
        "ethnicity_group,white,620,no\nethnicity_group,asian,410,no\n"
        "ethnicity_group,black,330,no\nethnicity_group,mixed,90,no\n"
        "ethnicity_group,other,50,yes\nsex,female,560,no\nsex,male,940,no\n"
    )
    response = post_form(
        admin_web,
        REFERENCES,
        {
            **ICB,
            "reference_id": "eip-caseload-bsol",
            "name": "EIP caseload, Birmingham and Solihull ICB",
            "kind": "caseload",
            "cohort": "EP",
            "shares_text": counts,
        },
    )

    assert response.status_code == 302
    listed = page_of(admin_web.get(REFERENCES)).text
    assert "Service caseload (for EP)" in listed
    report = page_of(admin_web.get("/reports/EP?reference=eip-caseload-bsol"))
    assert "Service caseload" in report.text_of("reference")
    assert "need-based for first-episode psychosis" in report.text_of("second-reference")
