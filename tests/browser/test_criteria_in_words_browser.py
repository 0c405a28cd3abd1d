"""Criteria in people's words, in a real browser (issue #22): a researcher builds a query
from labels and pick-lists alone (with JavaScript: no reloads; without: the same form,
posted), a partner turns a count into a recruitment request in one step and sees every
problem of a bad submission at once, and the admin's decision page says the criteria in a
sentence."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import select

from registry.audit.actions import Actor
from registry.auth import actions as auth_actions
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.db import session
from registry.eligibility.describe import describe
from tests.browser.conftest import LiveAccount, LiveServer, add_consent_forms, sign_in
from tests.conftest import enrolment_body

pytestmark = pytest.mark.browser

HIGH_PHQ9 = [2, 2, 2, 2, 2, 2, 2, 1, 1]  # total 16
LOW_PHQ9 = [1, 1, 1, 0, 0, 0, 0, 0, 0]  # total 3
# (sex, ethnicity, PHQ-9 items): four meet the query below, three miss it by one criterion.
PEOPLE = [
    ("female", "A", HIGH_PHQ9),
    ("female", "A", HIGH_PHQ9),
    ("female", "J", HIGH_PHQ9),
    ("female", "J", HIGH_PHQ9),
    ("male", "A", HIGH_PHQ9),
    ("female", "H", HIGH_PHQ9),
    ("female", "A", LOW_PHQ9),
]
CODED = {
    "cohort": "TRD",
    "all": [
        {"field": "sex", "op": "=", "value": "female"},
        {"field": "age", "op": "between", "value": [18, 65]},
        {"field": "ethnicity", "op": "in", "value": ["A", "J"]},
        {"field": "latest_score.PHQ9", "op": ">=", "value": 15},
    ],
}


def _token(live_server: LiveServer, account: LiveAccount) -> dict[str, str]:
    with live_server.app.test_request_context():
        user = session().scalar(select(User).where(User.email == account.email))
        assert user is not None
        issued = auth_actions.issue_token(
            user, name="words", expires_days=1, by=Actor.command_line()
        )
        session().commit()
    return {"Authorization": f"Bearer {issued.secret}"}


def _api(client: FlaskClient, headers: dict[str, str]) -> Callable[..., Any]:
    def call(method: str, path: str, body: Any = None, expected: int = 200) -> Any:
        response = client.open(f"/api/v1{path}", method=method, json=body, headers=headers)
        assert response.status_code == expected, (path, response.get_json())
        return response.get_json()

    return call


@pytest.fixture(scope="module")
def world(live_server: LiveServer) -> dict[str, Any]:
    """People enrolled and assessed through the API, and a researcher's API to count with."""
    versions = add_consent_forms(live_server)
    clinician = _api(
        live_server.app.test_client(),
        _token(live_server, live_server.create_account(Role.CLINICIAN)),
    )
    for sex, ethnicity, items in PEOPLE:
        body = enrolment_body("TRD", sex=sex, ethnicity=ethnicity)
        body["consent"]["form_version"] = versions["TRD"]
        person = clinician("POST", "/participants", body, 201)["participant_id"]
        assessment = {"instrument": "PHQ9", "administered_on": "2026-11-25", "items": items}
        clinician("POST", f"/participants/{person}/assessments", assessment, 201)
    researcher = live_server.create_account(Role.RESEARCHER)
    counted = _api(live_server.app.test_client(), _token(live_server, researcher))
    return {
        "researcher": researcher,
        "count": lambda c: counted("POST", "/eligibility/count", {"criteria": c}),
    }


def _clause(page: Page, number: int) -> Locator:
    return page.get_by_role("group", name=f"Clause {number}", exact=True)


def _build_from_labels(page: Page, *, javascript: bool) -> None:
    """The query, chosen from labels and ticked from pick-lists: no code typed anywhere."""

    def show_values() -> None:
        if not javascript:  # the values come with the page the server sends back
            page.get_by_role("button", name="Show the values to choose from").click()

    def add_clause() -> None:
        page.get_by_role("button", name="Add a clause").click()

    page.get_by_label("Cohort", exact=True).select_option(
        label="Treatment-resistant depression (TRD)"
    )
    _clause(page, 1).get_by_label("Field", exact=True).select_option(label="Sex")
    show_values()
    _clause(page, 1).get_by_label("Female", exact=True).check()
    add_clause()
    _clause(page, 2).get_by_label("Field", exact=True).select_option(label="Age in years")
    show_values()
    _clause(page, 2).get_by_label("Operator", exact=True).select_option(
        label="between (both ends included)"
    )
    expect(_clause(page, 2).get_by_text("A whole number from 0 to 130")).to_be_visible()
    _clause(page, 2).get_by_label("Value", exact=True).fill("18 to 65")
    add_clause()
    _clause(page, 3).get_by_label("Field", exact=True).select_option(label="Ethnic category")
    show_values()
    _clause(page, 3).get_by_label("White \u2013 British (A)", exact=True).check()
    _clause(page, 3).get_by_label("Asian or Asian British \u2013 Pakistani (J)", exact=True).check()
    add_clause()
    _clause(page, 4).get_by_label("Field", exact=True).select_option(label="Latest PHQ-9 total")
    show_values()
    _clause(page, 4).get_by_label("Operator", exact=True).select_option(label="at least")
    _clause(page, 4).get_by_label("Value", exact=True).fill("15")


@pytest.fixture
def page_without_js(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.mark.parametrize("javascript", [True, False], ids=["with-js", "without-js"])
def test_a_researcher_builds_a_query_from_labels_and_gets_the_apis_count(
    page: Page,
    page_without_js: Page,
    live_server: LiveServer,
    world: dict[str, Any],
    artifacts_dir: Path,
    javascript: bool,
) -> None:
    tab = page if javascript else page_without_js
    expected = world["count"](CODED)["count"]
    sign_in(tab, live_server, world["researcher"].email, world["researcher"].password)
    tab.goto(f"{live_server.url}/eligibility/")
    if javascript:
        tab.evaluate("window.__samePage = true")  # lost on any reload

    _build_from_labels(tab, javascript=javascript)
    # A clause added and removed again leaves the four as they were, renumbered in place.
    tab.get_by_role("button", name="Add a clause").click()
    _clause(tab, 5).get_by_label("Field", exact=True).select_option(label="Remission")
    _clause(tab, 2).get_by_role("button", name="Remove clause 2").click()
    expect(_clause(tab, 5)).to_have_count(0)
    expect(_clause(tab, 4).get_by_label("Field", exact=True)).to_have_value("remission")
    _clause(tab, 4).get_by_role("button", name="Remove clause 4").click()
    tab.get_by_role("button", name="Add a clause").click()
    _clause(tab, 4).get_by_label("Field", exact=True).select_option(label="Age in years")
    if not javascript:
        tab.get_by_role("button", name="Show the values to choose from").click()
    _clause(tab, 4).get_by_label("Operator", exact=True).select_option(
        label="between (both ends included)"
    )
    _clause(tab, 4).get_by_label("Value", exact=True).fill("18 to 65")
    expect(_clause(tab, 2).get_by_label("Field", exact=True)).to_have_value("ethnicity")
    expect(_clause(tab, 2).get_by_label("White \u2013 British (A)", exact=True)).to_be_checked()
    expect(_clause(tab, 3).get_by_label("Value", exact=True)).to_have_value("15")
    if javascript:
        assert tab.evaluate("window.__samePage === true"), "a clause change reloaded the page"
    tab.get_by_role("button", name="Count", exact=True).click()

    expect(tab.get_by_test_id("count")).to_have_text(str(expected))
    assert expected >= 4
    sex, age, ethnicity, phq9 = CODED["all"]
    as_built = {"cohort": "TRD", "all": [sex, ethnicity, phq9, age]}  # age removed, re-added
    expect(tab.get_by_test_id("criteria-sentence")).to_have_text(describe(as_built))
    tab.screenshot(
        path=str(artifacts_dir / f"criteria-in-words-{'js' if javascript else 'nojs'}.png"),
        full_page=True,
    )


def test_a_partner_turns_a_count_into_a_request_and_the_admin_reads_it_in_words(
    page: Page, live_server: LiveServer, world: dict[str, Any], artifacts_dir: Path
) -> None:
    partner = live_server.create_account(Role.PARTNER)
    sign_in(page, live_server, partner.email, partner.password)
    page.goto(f"{live_server.url}/eligibility/")
    page.get_by_label("Cohort", exact=True).select_option(
        label="Treatment-resistant depression (TRD)"
    )
    _clause(page, 1).get_by_label("Field", exact=True).select_option(label="Age in years")
    _clause(page, 1).get_by_label("Operator", exact=True).select_option(label="at least")
    _clause(page, 1).get_by_label("Value", exact=True).fill("18")
    page.get_by_role("button", name="Count", exact=True).click()
    sentence = "Treatment-resistant depression (TRD) \u00b7 Age in years at least 18"
    expect(page.get_by_test_id("criteria-sentence")).to_have_text(sentence)

    page.get_by_role("button", name="Ask to recruit these people").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Submit a recruitment request")
    expect(page.get_by_test_id("criteria-sentence")).to_have_text(sentence)
    assert "criteria" not in page.url and "TRD" not in page.url  # carried in the body
    # A bad submission: every problem at once, in words, the criteria's at their clause.
    page.get_by_label("Sponsor").fill("Example Pharma Ltd")
    page.get_by_label("Ethics reference: IRAS ID or REC reference").fill("IRAS-12")
    page.get_by_label("How many participants the study needs").fill("0")
    page.get_by_text("The criteria as JSON", exact=True).click()
    page.get_by_label("Or paste the criteria as JSON").fill(
        '{"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}, '
        '{"field": "sex", "op": "="}]}'
    )
    page.get_by_role("button", name="Submit the request").click()

    summary = page.locator(".nhsuk-error-summary")
    expect(page).to_have_title(re.compile(r"^Error: "))
    for message in (
        "Enter the study's title.",
        "Clause 2: choose a value for Sex.",
        "Give the study's IRAS ID",
        "Give the number of participants the study needs",
    ):
        expect(summary).to_contain_text(message)
    page.screenshot(path=str(artifacts_dir / "request-errors-in-words.png"), full_page=True)

    page.get_by_label("Study title").fill(f"Words {secrets.token_hex(3)}")
    page.get_by_label("Ethics reference: IRAS ID or REC reference").fill("iras id: 1004567")
    page.get_by_label("How many participants the study needs").fill("5")
    page.get_by_label("Or paste the criteria as JSON").fill(
        '{"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}]}'
    )
    page.get_by_role("button", name="Submit the request").click()
    expect(page.get_by_test_id("criteria-sentence")).to_have_text(f"Who: {sentence}")
    expect(page.get_by_text("IRAS 1004567")).to_be_visible()
    request_url = page.url

    page.context.clear_cookies()
    admin = live_server.create_account(Role.ADMIN)
    sign_in(page, live_server, admin.email, admin.password)
    page.goto(request_url)
    expect(page.get_by_test_id("criteria-sentence")).to_have_text(f"Who: {sentence}")
    page.screenshot(path=str(artifacts_dir / "decision-criteria-in-words.png"), full_page=True)
