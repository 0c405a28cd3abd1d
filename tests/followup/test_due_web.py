"""The follow-up worklist page, ``/participants/due``, on a pinned day (15 June 2026)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import ApiUser
from tests.followup.conftest import assess

pytestmark = pytest.mark.usefixtures("consent_forms", "pinned_today")

URL = "/participants/due"
IN_WINDOW_ON = dt.date(2026, 3, 10)  # EP 3 months due 10 June, window to 10 July


@pytest.fixture
def clinician_web(app: Flask, clinician: ApiUser, sign_in: Callable[..., Any]) -> FlaskClient:
    """A browser signed in as ``clinician`` (who enrols through the API on ``client``)."""
    browser = app.test_client()
    sign_in(clinician.account, test_client=browser)
    return browser


@pytest.fixture
def admin_browser(app: Flask, admin: ApiUser, sign_in: Callable[..., Any]) -> FlaskClient:
    browser = app.test_client()
    sign_in(admin.account, test_client=browser)
    return browser


def page(browser: FlaskClient, **query: Any) -> str:
    response = browser.get(URL, query_string=query)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_worklist_shows_the_patient_and_links_to_record_each_scale(
    clinician_web: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    participant_id = enrolled_on(clinician, IN_WINDOW_ON, family_name="Lovelace")

    html = page(clinician_web, visit="month_3")

    assert "Lovelace, Ada" in html
    assert "3 months" in html and "In window (due date passed)" in html
    assert f"/participants/{participant_id}/assessments/new?instrument=CGI_S" in html
    assert f"/participants/{participant_id}/assessments/new?instrument=SOFAS" in html


def test_recorded_scale_leaves_the_links_and_the_rest_stay(
    client: FlaskClient,
    clinician_web: FlaskClient,
    clinician: ApiUser,
    enrolled_on: Callable[..., str],
) -> None:
    participant_id = enrolled_on(clinician, IN_WINDOW_ON)
    assess(client, clinician, participant_id, "SOFAS", dt.date(2026, 6, 1))

    html = page(clinician_web, visit="month_3")

    assert f"{participant_id}/assessments/new?instrument=SOFAS" not in html
    assert f"{participant_id}/assessments/new?instrument=CGI_S" in html
    assert "Done: SOFAS" in html


def test_another_sites_participants_are_not_listed(
    clinician_web: FlaskClient,
    api_user: Callable[..., ApiUser],
    enrolled_on: Callable[..., str],
) -> None:
    theirs = enrolled_on(api_user("clinician"), IN_WINDOW_ON)

    assert theirs not in page(clinician_web)


def test_worklist_pages_by_25_keeping_the_filters(
    clinician_web: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    for _ in range(26):
        enrolled_on(clinician, IN_WINDOW_ON)

    first = page(clinician_web, visit="month_3", status="in_window")
    second = page(clinician_web, visit="month_3", status="in_window", page=2)

    assert "26 visits to follow up" in first
    assert first.count("instrument=CGI_S") == 25 and second.count("instrument=CGI_S") == 1
    assert "page=2" in first and "status=in_window" in first and "visit=month_3" in first


def test_filters_show_what_was_asked(
    clinician_web: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    enrolled_on(clinician, IN_WINDOW_ON)

    html = page(clinician_web, status="overdue", visit="month_3")

    assert "No follow-up visits are due with these filters." in html


def test_bad_filter_gets_a_page_naming_the_problem(clinician_web: FlaskClient) -> None:
    response = clinician_web.get(URL, query_string={"status": "late"})

    assert response.status_code == 422
    assert "Must be one of" in response.get_data(as_text=True)


def test_admin_sees_every_site_without_identifiers_and_may_pick_one(
    admin_browser: FlaskClient,
    clinician: ApiUser,
    api_user: Callable[..., ApiUser],
    enrolled_on: Callable[..., str],
) -> None:
    ours = enrolled_on(clinician, IN_WINDOW_ON, family_name="Lovelace")
    theirs = enrolled_on(api_user("clinician"), IN_WINDOW_ON)

    everyone = page(admin_browser, visit="month_3")
    one_site = page(admin_browser, visit="month_3", site=clinician.account.site_code)

    assert ours in everyone and theirs in everyone and "Lovelace" not in everyone
    assert ours in one_site and theirs not in one_site
    assert 'name="site"' in everyone


def test_researcher_may_not_see_the_worklist(
    app: Flask, researcher: ApiUser, sign_in: Callable[..., Any]
) -> None:
    browser = app.test_client()
    sign_in(researcher.account, test_client=browser)

    assert browser.get(URL).status_code == 403
