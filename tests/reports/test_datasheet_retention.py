"""The datasheet's "Follow-up and retention" section: the schedule in words, the report's
retention at each visit, and the groups the report marks as retained worse, in the page,
the Markdown and the JSON, on a pinned day (15 June 2026)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry.assessments.schedule import Span, Visit
from registry.auth.permissions import Role
from registry.reports.datasheet import _when, _window
from tests.conftest import Account, ApiUser
from tests.followup.conftest import TODAY, assess
from tests.participants.test_web import page_of
from tests.reports.test_report_pages import ReportPage

pytestmark = pytest.mark.usefixtures("consent_forms", "pinned_today")

DATASHEET = "/reports/TRD/datasheet"
API_DATASHEET = "/api/v1/cohorts/TRD/datasheet"
ENROLLED = dt.date(2026, 1, 15)  # TRD: 8 weeks closed 26 March; 6 months open until August
AT_8_WEEKS = dt.date(2026, 3, 12)


@pytest.fixture
def followed_up(
    consent_forms: None, client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    """Ten TRD participants due their 8-week visit: five Asian ones completed it, of five
    White ones one partly and four not at all. 5 of 10 is the cohort's 50%; the White
    group's 0 of 5 has a 95% interval (0% to 43%) wholly below it."""
    for _ in range(5):
        asian = enrolled_on(clinician, ENROLLED, "TRD", ethnicity="H")
        for code in ("PHQ9", "GAD7"):
            assess(client, clinician, asian, code, AT_8_WEEKS)
    partly = enrolled_on(clinician, ENROLLED, "TRD", ethnicity="A")
    assess(client, clinician, partly, "PHQ9", AT_8_WEEKS)
    for _ in range(4):
        enrolled_on(clinician, ENROLLED, "TRD", ethnicity="A")


@pytest.fixture
def researcher_web(
    app: Flask, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> FlaskClient:
    web = app.test_client()
    sign_in(create_account(Role.RESEARCHER), test_client=web)
    return web


@pytest.mark.usefixtures("followed_up")
def test_the_page_shows_the_schedule_and_each_visits_due_completed_and_rate(
    researcher_web: FlaskClient,
) -> None:
    response = researcher_web.get(DATASHEET)

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    page = page_of(response)
    schedule = page.text_of("followup-schedule")
    assert "8 weeks after enrolment; window 2 weeks either side of the due date." in schedule
    assert "Scales: PHQ-9, GAD-7." in schedule
    assert "Baseline" in schedule and "At enrolment" in schedule
    table = ReportPage(html)
    assert table.cell("retention-by-visit", "week_8", "due") == "10"
    assert table.cell("retention-by-visit", "week_8", "completed") == "5 and 1 partly"
    retention = table.cell("retention-by-visit", "week_8", "retention")
    assert retention == "50.0% (23.7%\N{EN DASH}76.3%)"
    assert table.cell("retention-by-visit", "month_6", "due") == "None due yet"


@pytest.mark.usefixtures("followed_up")
def test_the_page_names_the_group_retained_worse(researcher_web: FlaskClient) -> None:
    page = page_of(researcher_web.get(DATASHEET))

    lower = " ".join(page.text_of("retention-lower").split())
    assert "Ethnic group (ONS 2021, 5 groups): White" in lower
    assert (
        "at 8 weeks: 0 of 5 completed (0.0%, 95% CI 0.0%\N{EN DASH}43.4%), "
        "against 50.0% for the cohort."
    ) in lower
    assert "Asian" not in lower


@pytest.mark.usefixtures("followed_up")
def test_the_markdown_shows_each_visit_and_names_the_group_retained_worse(
    client: FlaskClient, researcher: ApiUser
) -> None:
    response = client.get(f"{API_DATASHEET}?format=md", headers=researcher.headers)

    text = response.get_data(as_text=True)
    assert "## Follow-up and retention" in text
    assert "- **8 weeks †**: 8 weeks after enrolment; window 2 weeks either side" in text
    assert "| 8 weeks | 10 | 5 | 1 | 50.0% (23.7%\N{EN DASH}76.3%) |" in text
    assert "| 6 months | 0 | — | — | none due yet |" in text
    assert (
        "- **Ethnic group (ONS 2021, 5 groups): White**, at 8 weeks: 0 of 5 completed "
        "(0.0%, 95% CI 0.0%\N{EN DASH}43.4%), against 50.0% for the cohort."
    ) in text


@pytest.mark.usefixtures("followed_up")
def test_the_json_carries_the_reports_own_figures_and_marks(
    client: FlaskClient, researcher: ApiUser
) -> None:
    sheet = client.get(API_DATASHEET, headers=researcher.headers).get_json()

    follow_up = sheet["follow_up"]
    week_8 = next(v for v in follow_up["visits"] if v["visit"] == "week_8")
    reported = next(v for v in sheet["report"]["retention"]["visits"] if v["visit"] == "week_8")
    assert {k: week_8[k] for k in ("eligible", "complete", "partial", "rate", "rate_ci")} == {
        k: reported[k] for k in ("eligible", "complete", "partial", "rate", "rate_ci")
    }
    assert week_8["scales"] == ["PHQ-9", "GAD-7"]
    assert follow_up["any_due"] is True
    marked = {
        (a["name"], entry["group"], visit)
        for a in sheet["report"]["attributes"]
        for entry in (*a["groups"], *({"group": k, **m} for k, m in a["missing"].items()))
        for visit, figures in entry.get("retention", {}).items()
        if figures["lower"]
    }
    assert {(x["attribute"], x["group"], x["visit"]) for x in follow_up["lower"]} == marked
    assert marked == {("ethnicity_group", "white", "week_8")}


def test_a_cohort_with_no_visit_due_says_so_in_words(
    researcher_web: FlaskClient, client: FlaskClient, researcher: ApiUser,
    clinician: ApiUser, enrolled_on: Callable[..., str],
) -> None:  # fmt: skip
    enrolled_on(clinician, TODAY - dt.timedelta(days=7), "TRD")  # baseline window still open

    response = researcher_web.get(DATASHEET)
    markdown = client.get(f"{API_DATASHEET}?format=md", headers=researcher.headers)

    page = page_of(response)
    assert "so there is no retention to give yet" in page.text_of("retention-none-due")
    assert "None yet: no visit has anyone due." in page.text_of("retention-lower-none")
    assert 'data-testid="retention-by-visit"' not in response.get_data(as_text=True)
    text = markdown.get_data(as_text=True)
    assert "so there is no\nretention to give yet." in text
    assert "| visit | due |" not in text


@pytest.mark.parametrize(
    ("due", "before", "after", "when", "window"),
    [
        (Span(), Span(weeks=4), Span(weeks=4), "At enrolment",
         "4 weeks either side of the due date"),
        (Span(months=12), Span(months=2), Span(weeks=1), "12 months after enrolment",
         "from 2 months before the due date to 1 week after"),
        (Span(months=1, weeks=2), Span(), Span(months=1), "1 month and 2 weeks after enrolment",
         "from the due date to 1 month after"),
    ],
)  # fmt: skip
def test_a_visits_timing_reads_in_words(
    due: Span, before: Span, after: Span, when: str, window: str
) -> None:
    visit = Visit("month_12", "12 months", due, before, after, ("PHQ9",), "A protocol.")

    assert (_when(visit), _window(visit)) == (when, window)
