"""Every page with a table or wide content fits a 390 px phone (the house standard), for
every role, with enough data that the tables have rows: nothing scrolls sideways."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient
from playwright.sync_api import Page, ViewportSize, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from sqlalchemy import select

from registry import clock
from registry.audit.actions import Actor
from registry.auth import actions as auth_actions
from registry.auth.models import User
from registry.auth.permissions import Role
from registry.db import session
from tests.browser.conftest import LiveAccount, LiveServer, add_consent_forms, sign_in
from tests.conftest import enrolment_body

pytestmark = pytest.mark.browser

PHONE: ViewportSize = {"width": 390, "height": 844}
PEOPLE = 12  # enough for a recruitment request's contact lists to open
TODAY = clock.today()
# A long, unbroken criteria document and title, as real ones are: wide content to fit.
CRITERIA = {
    "cohort": "TRD",
    "all": [
        {"field": "age", "op": "between", "value": [18, 90]},
        {"field": "diagnosis_icd10", "op": "in", "value": ["F32.2", "F32.3", "F33.1", "F33.2"]},
    ],
}
BREAKDOWN = ["sex"]
STUDY = "PHONE-WIDTH-2: a randomised, double-blind, placebo-controlled trial of a new treatment"

# Where the page is wider than the window: the outermost element that sticks out (its
# parent fits), which is what a fix must reach, and the element reaching furthest right.
MEASURE = """
() => {
  const limit = window.innerWidth;
  const describe = (element) => {
    let name = element.tagName.toLowerCase();
    if (element.id) name += `#${element.id}`;
    const testId = element.getAttribute("data-testid");
    if (testId) name += `[data-testid=${testId}]`;
    if (typeof element.className === "string" && element.className.trim()) {
      name += "." + element.className.trim().split(/\\s+/).join(".");
    }
    const text = (element.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60);
    return text ? `${name} ("${text}")` : name;
  };
  // Inside a sideways-scrolling box (a wide table's), sticking out is that box's business.
  const scrolls = (element) => {
    for (let box = element.parentElement; box && box !== document.body; box = box.parentElement) {
      if (getComputedStyle(box).overflowX !== "visible") return true;
    }
    return false;
  };
  let outermost = null;
  let furthest = null;
  let furthestRight = limit;
  for (const element of document.body.querySelectorAll("*")) {
    const right = element.getBoundingClientRect().right;
    if (right <= limit + 0.5 || scrolls(element)) continue;
    const parent = element.parentElement;
    if (outermost === null && (!parent || parent.getBoundingClientRect().right <= limit + 0.5)) {
      outermost = element;
    }
    if (right > furthestRight) {
      furthestRight = right;
      furthest = element;
    }
  }
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: limit,
    outermost: outermost && describe(outermost),
    furthest: furthest && `${describe(furthest)} to ${Math.round(furthestRight)} px`,
  };
}
"""


@dataclasses.dataclass(frozen=True)
class PhoneWorld:
    """One of each role and a site's worth of data every page can show."""

    accounts: dict[Role, LiveAccount]
    participant_id: str
    request_id: str
    grant_id: str
    researcher_query: str
    partner_query: str


def _token(live_server: LiveServer, account: LiveAccount) -> dict[str, str]:
    with live_server.app.test_request_context():
        user = session().scalar(select(User).where(User.email == account.email))
        assert user is not None
        issued = auth_actions.issue_token(
            user, name="phone width", expires_days=1, by=Actor.command_line()
        )
        session().commit()
    return {"Authorization": f"Bearer {issued.secret}"}


def _api(client: FlaskClient, headers: dict[str, str]) -> Callable[..., Any]:
    """Calls the API as one user, insisting on success; the JSON answer."""

    def call(method: str, path: str, body: Any = None, expected: int = 200) -> Any:
        response = client.open(f"/api/v1{path}", method=method, json=body, headers=headers)
        assert response.status_code == expected, (path, response.get_json())
        return response.get_json()

    return call


@pytest.fixture(scope="module")
def phone_world(live_server: LiveServer) -> PhoneWorld:
    """Built through the API as each role would (the live database is shared by every
    browser test, so everything here is this module's own)."""
    versions = add_consent_forms(live_server)
    site = live_server.add_site(name="Browser Phone Width Trust")
    accounts = {
        role: live_server.create_account(role, site_code=site if role is Role.CLINICIAN else None)
        for role in Role
    }
    client = live_server.app.test_client()
    clinician, admin, researcher, partner = (
        _api(client, _token(live_server, accounts[role]))
        for role in (Role.CLINICIAN, Role.ADMIN, Role.RESEARCHER, Role.PARTNER)
    )

    participant_ids = []
    for _ in range(PEOPLE):
        body = enrolment_body("TRD")
        body["consent"]["form_version"] = versions["TRD"]
        participant_ids.append(clinician("POST", "/participants", body, 201)["participant_id"])
    first = participant_ids[0]
    clinician(
        "POST",
        f"/participants/{first}/assessments",
        {
            "instrument": "PHQ9",
            "administered_on": TODAY.isoformat(),
            "items": [1, 2, 1, 0, 3, 2, 1, 0, 1],
        },
        201,
    )
    clinician(
        "POST",
        f"/participants/{first}/treatment-trials",
        {
            "drug": "sertraline",
            "started_on": "2025-07",
            "adequate_dose": True,
            "weeks": 8,
            "outcome": "non_response",
        },
        201,
    )

    request_id = partner(
        "POST",
        "/recruitment-requests",
        {
            "study_title": STUDY,
            "sponsor": "Example Pharma Ltd",
            "ethics_reference": "1009876",
            "criteria": CRITERIA,
            "target": 40,
        },
        201,
    )["id"]
    admin(
        "POST",
        f"/recruitment-requests/{request_id}/decision",
        {"decision": "approve", "note": "Ethics checked."},
    )
    clinician(
        "PATCH",
        f"/recruitment-requests/{request_id}/contacts/{first}",
        {"status": "interested"},
    )

    grant_id = admin(
        "POST",
        "/grants",
        {
            "title": "TRAJECTORY: long-term outcomes of treatment-resistant depression",
            "ethics_reference": "1004567",
            "cohorts": ["TRD", "EP"],
            "variables": ["participants.cohort", "participants.sex", "assessments.total"],
            "consent_items": ["future_research"],
            "expires_on": (TODAY + dt.timedelta(days=365)).isoformat(),
            "researchers": [accounts[Role.RESEARCHER].email],
        },
        201,
    )["id"]

    # A partner's question spends from the organisation's privacy budget: a row for
    # /admin/privacy; the saved queries count again on their pages, with a breakdown.
    partner("POST", "/eligibility/count", {"criteria": CRITERIA, "breakdown": BREAKDOWN})
    saved = {"criteria": CRITERIA, "breakdown": BREAKDOWN}
    researcher_query = researcher(
        "POST",
        "/eligibility/saved-queries",
        {"name": f"Phone {secrets.token_hex(3)}", **saved},
        201,
    )["query_id"]
    partner_query = partner(
        "POST",
        "/eligibility/saved-queries",
        {"name": f"Phone {secrets.token_hex(3)}", **saved},
        201,
    )["query_id"]
    return PhoneWorld(accounts, first, request_id, grant_id, researcher_query, partner_query)


def _pages(role: Role, world: PhoneWorld) -> list[str]:
    """The pages a role reaches that show a table or wide content."""
    person, request, grant = world.participant_id, world.request_id, world.grant_id
    by_role = {
        Role.ADMIN: [
            "/",
            "/admin/participants/",
            "/participants/due",
            f"/admin/participants/{person}",
            f"/admin/participants/{person}/withdraw",
            "/admin/consents/reconsent",
            "/admin/consent-forms/",
            "/recruitment/",
            f"/recruitment/{request}",
            f"/recruitment/{request}/closure",
            "/grants/",
            f"/grants/{grant}",
            "/reports/",
            "/reports/TRD",
            "/reports/TRD/datasheet",
            "/reports/references",
            "/admin/privacy/",
            "/admin/sites/",
            "/admin/sites/new",
            "/admin/grants/",
            "/admin/grants/new",
            f"/admin/grants/{grant}",
            f"/admin/grants/{grant}/renew",
            f"/admin/grants/{grant}/revoke",
            "/admin/users/",
            "/admin/users/new",
            "/account/tokens",
        ],
        Role.CLINICIAN: [
            "/",
            "/participants/",
            "/participants/due",
            f"/participants/{person}",
            f"/participants/{person}/consent",
            f"/participants/{person}/correct",
            f"/participants/{person}/assessments/new",
            f"/participants/{person}/treatment-trials/new",
            "/participants/enrol/TRD",
            "/participants/enrol/EP",
            "/recruitment/",
            f"/recruitment/{request}",
            f"/recruitment/{request}/contacts",
            "/account/tokens",
        ],
        Role.RESEARCHER: [
            "/",
            "/eligibility/",
            f"/eligibility/saved/{world.researcher_query}",
            "/grants/",
            f"/grants/{grant}",
            "/reports/",
            "/reports/TRD",
            "/reports/EP",
            "/reports/TRD/datasheet",
            "/account/tokens",
        ],
        Role.PARTNER: [
            "/",
            "/eligibility/",
            f"/eligibility/saved/{world.partner_query}",
            "/recruitment/",
            "/recruitment/new",
            f"/recruitment/{request}",
            "/account/tokens",
            f"/recruitment/{request}/closure",
        ],
    }
    return by_role[role]


def _too_wide(page: Page, name: str) -> str | None:
    # NHS.UK's header folds the navigation items that do not fit under "More" from a script
    # after load: give it a moment on a busy machine before measuring.
    with contextlib.suppress(PlaywrightTimeoutError):
        page.wait_for_function(
            "document.documentElement.scrollWidth <= window.innerWidth", timeout=2_000
        )
    measured = page.evaluate(MEASURE)
    if measured["scrollWidth"] <= measured["innerWidth"]:
        return None
    return (
        f"{name}: {measured['scrollWidth']} px wide in a {measured['innerWidth']} px window;"
        f" sticks out: {measured['outermost']}; furthest: {measured['furthest']}"
    )


@pytest.mark.parametrize("role", list(Role), ids=lambda role: role.value)
def test_every_page_fits_a_390_px_phone(
    page: Page, live_server: LiveServer, phone_world: PhoneWorld, role: Role
) -> None:
    page.set_viewport_size(PHONE)
    account = phone_world.accounts[role]
    sign_in(page, live_server, account.email, account.password)
    problems = []
    for path in _pages(role, phone_world):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.ok, (path, response and response.status)
        problems.append(_too_wide(page, path))
        if path.startswith("/eligibility/saved/"):
            # The query counted, with its breakdown's table and chart.
            page.get_by_role("button", name="Count", exact=True).click()
            expect(page.get_by_test_id("breakdown")).to_be_visible()
            problems.append(_too_wide(page, f"{path}, counted"))
    too_wide = [problem for problem in problems if problem]
    assert not too_wide, "\n".join(too_wide)
