"""Retention at follow-up visits in the representativeness report (its attrition section),
by group, in JSON, CSV and the page, on a pinned day (15 June 2026)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from registry.assessments.schedule import SCHEDULE
from registry.reports.retention import closed_for_enrolled_by, retention_figures
from tests.conftest import ApiUser
from tests.followup.conftest import TODAY, assess

pytestmark = pytest.mark.usefixtures("consent_forms", "pinned_today")

REPORT = "/api/v1/cohorts/TRD/representativeness"
ENROLLED = dt.date(2026, 1, 15)  # TRD: 8 weeks closed 26 March; 6 months open until August
AT_8_WEEKS = dt.date(2026, 3, 12)


@pytest.fixture
def followed_up(client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]) -> None:
    """Three TRD participants at the 8-week visit: an Asian one completed it, of two White
    ones one partly and one not at all."""
    asian = enrolled_on(clinician, ENROLLED, "TRD", ethnicity="H")
    partly = enrolled_on(clinician, ENROLLED, "TRD", ethnicity="A")
    enrolled_on(clinician, ENROLLED, "TRD", ethnicity="A")
    for code in ("PHQ9", "GAD7"):
        assess(client, clinician, asian, code, AT_8_WEEKS)
    assess(client, clinician, partly, "PHQ9", AT_8_WEEKS)


def report(client: FlaskClient, user: ApiUser) -> Any:
    response = client.get(REPORT, headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def group(body: Any, attribute: str, name: str) -> dict[str, Any]:
    described = next(a for a in body["attributes"] if a["name"] == attribute)
    found: dict[str, Any] = next(g for g in described["groups"] if g["group"] == name)
    return found


def test_a_visit_counts_those_whose_window_has_closed() -> None:
    visit = next(v for v in SCHEDULE.protocol("EP").visits if v.visit == "month_3")

    enrolled_by = closed_for_enrolled_by(visit, TODAY)

    assert enrolled_by == dt.date(2026, 2, 14)  # closes 14 June, the day before
    assert visit.closes_on(enrolled_by + dt.timedelta(days=1)) == TODAY


def test_retention_at_each_visit_for_the_cohort(
    client: FlaskClient, researcher: ApiUser, followed_up: None
) -> None:
    visits = {v["visit"]: v for v in report(client, researcher)["retention"]["visits"]}

    week_8 = visits["week_8"]
    assert (week_8["eligible"], week_8["complete"], week_8["partial"]) == (3, 1, 1)
    assert week_8["rate"] == pytest.approx(1 / 3)
    assert visits["month_6"]["eligible"] == 0 and visits["month_6"]["rate"] is None


def test_retention_by_ethnic_group(
    client: FlaskClient, researcher: ApiUser, followed_up: None
) -> None:
    body = report(client, researcher)

    asian = group(body, "ethnicity_group", "asian")["retention"]["week_8"]
    white = group(body, "ethnicity_group", "white")["retention"]["week_8"]
    assert (asian["complete"], asian["eligible"]) == (1, 1)
    assert (white["complete"], white["partial"], white["eligible"]) == (0, 1, 2)
    assert white["rate_ci"][0] == 0.0 and white["rate_ci"][1] > 0


def test_retention_by_sex_age_and_deprivation_too(
    client: FlaskClient, researcher: ApiUser, followed_up: None
) -> None:
    body = report(client, researcher)

    assert group(body, "sex", "female")["retention"]["week_8"]["eligible"] == 3
    assert group(body, "imd_quintile_iod2019", "1")["retention"]["week_8"]["eligible"] == 3
    described = next(a for a in body["attributes"] if a["name"] == "age_band")
    assert sum(g["retention"]["week_8"]["eligible"] for g in described["groups"]) == 3


@pytest.mark.parametrize(("overall", "lower"), [(0.5, True), (0.2, False)])
def test_a_group_is_marked_only_when_its_interval_lies_below_the_cohorts_rate(
    overall: float, lower: bool
) -> None:
    figures = retention_figures({"eligible": 20, "complete": 2, "partial": 0}, overall)

    assert figures["lower"] is lower  # 2 of 20: 95% interval about 3% to 30%


def test_retention_in_the_csv(client: FlaskClient, researcher: ApiUser, followed_up: None) -> None:
    response = client.get(f"{REPORT}?format=csv", headers=researcher.headers)

    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    white = next(r for r in rows if r["attribute"] == "ethnicity_group" and r["group"] == "white")
    assert (white["week_8_eligible"], white["week_8_complete"], white["week_8_partial"]) == (
        "2", "0", "1"
    )  # fmt: skip
    other = next(r for r in rows if r["attribute"] == "gender_identity")
    assert other["week_8_eligible"] == ""  # outside the attrition section


def test_retention_on_the_page(
    app: Flask, researcher: ApiUser, sign_in: Callable[..., Any], followed_up: None
) -> None:
    browser = app.test_client()
    sign_in(researcher.account, test_client=browser)

    html = browser.get("/reports/TRD").get_data(as_text=True)

    assert "Retention at follow-up visits" in html
    assert 'data-testid="retention-ethnicity_group"' in html
    assert "1 of 3 completed" in html
    assert "0 of 2 (0.0%)" in html
