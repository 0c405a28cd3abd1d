"""The recruitment pages through the Flask test client, each role signed in through the real
pages: a partner's form and its refusals, an admin's decision and the two-person rule, a
clinician's contact list and outcomes, and what a partner's pages never show."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from html import unescape
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import clock
from registry.audit.models import AuditEvent
from registry.auth.permissions import Role
from registry.db import session
from registry.recruitment.models import RecruitmentRequest
from tests.conftest import Account, ApiUser, csrf_token_from, post_form
from tests.participants.test_web import page_of
from tests.recruitment.conftest import ADULT_TRD, URL, World, audited, contacts_of

TOMORROW = (clock.today() + dt.timedelta(days=1)).isoformat()
YESTERDAY = (clock.today() - dt.timedelta(days=1)).isoformat()
# What a partner may be shown as a figure: "<10", or a multiple of 5 from 10.
PUBLISHED = re.compile(r"\A(?:<10|[1-9][0-9]*[05])\Z")
FIGURES = re.compile(r'class="registry-figure"[^>]*>([^<]*)<|data-figure="([^"]*)"')


def request_form(**answers: str) -> dict[str, str]:
    """A complete, valid request as a partner would type it, criteria pasted as JSON."""
    return {
        "study_title": "SERENE-2: a trial of a new treatment for resistant depression",
        "sponsor": "Example Pharma Ltd",
        "ethics_reference": "1004567",
        "target": "40",
        "contact_from": "",
        "contact_until": "",
        "lay_summary": "A 12-week study of a new tablet for depression.",
        "saved_query": "",
        "criteria_json": json.dumps(ADULT_TRD),
        **answers,
    }


def post_from(client: FlaskClient, page: str, action: str, data: dict[str, str]) -> Any:
    """Press a button on ``page`` whose form posts to ``action``."""
    token = csrf_token_from(client.get(page).get_data(as_text=True))
    return client.post(action, data={**data, "csrf_token": token})


def request_count(app: Flask) -> int:
    with app.app_context():
        return int(session().scalar(select(func.count()).select_from(RecruitmentRequest)) or 0)


def status_of(world: World, request_id: str) -> str:
    response = world.client.get(f"{URL}/{request_id}", headers=world.admin.headers)
    return str(response.get_json()["status"])


@pytest.fixture
def web(app: Flask, sign_in: Callable[..., Any]) -> Callable[[Account], FlaskClient]:
    """A browser of its own, signed in as the account through the real pages."""

    def open_as(account: Account) -> FlaskClient:
        browser = app.test_client()
        sign_in(account, test_client=browser)
        return browser

    return open_as


@pytest.fixture
def partner_web(world: World, web: Callable[[Account], FlaskClient]) -> FlaskClient:
    return web(world.partner.account)


@pytest.fixture
def admin_web(world: World, web: Callable[[Account], FlaskClient]) -> FlaskClient:
    return web(world.admin.account)


@pytest.fixture
def clinician_web(world: World, web: Callable[[Account], FlaskClient]) -> FlaskClient:
    return web(world.clinician_a.account)


# -- a partner submits ----------------------------------------------------------------------


def test_submit_with_errors_answers_422_naming_each_field_and_writes_nothing(
    world: World, partner_web: FlaskClient, app: Flask
) -> None:
    audited = _audit_count(app)

    response = post_form(
        partner_web,
        "/recruitment/new",
        request_form(
            study_title="",
            ethics_reference="IRAS-12",
            target="0",
            contact_from=YESTERDAY,
            criteria_json="",
        ),
    )

    assert response.status_code == 422
    page = page_of(response)
    assert page.error_at("study_title") == "Enter the study's title."
    assert page.error_at("ethics_reference").startswith("Give the study's IRAS ID")
    assert (
        page.error_at("target")
        == "Give the number of participants the study needs from 1 to 100000."
    )
    assert page.error_at("contact_from") == "The contact window cannot start in the past."
    assert page.error_at("criteria_json") == (
        "Choose one of your saved queries, or paste the criteria."
    )
    assert {href for href, _ in page.summary} >= {"#study_title", "#target", "#criteria_json"}
    assert page.value("sponsor") == "Example Pharma Ltd"  # what was typed is kept
    assert request_count(app) == 0 and _audit_count(app) == audited


def test_criteria_errors_show_on_the_criteria_field_at_their_clause(
    world: World, partner_web: FlaskClient, app: Flask
) -> None:
    criteria = {
        "cohort": "TRD",
        "all": [
            {"field": "ethnicity", "op": "=", "value": "A"},  # not a partner's field
            {"field": "age", "op": ">=", "value": "old"},
        ],
    }

    response = post_form(
        partner_web, "/recruitment/new", request_form(criteria_json=json.dumps(criteria))
    )

    assert response.status_code == 422
    error = page_of(response).error_at("criteria_json")
    assert error == (
        "Clause 1: Your role may not use this field. "
        "Clause 2 (Age in years): The value must be a whole number."
    )
    assert request_count(app) == 0


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"criteria_json": "{not json"}, "The criteria are not valid JSON"),
        ({"saved_query": "no-such-query"}, "Choose one of your saved queries."),
    ],
)
def test_criteria_that_cannot_be_read_are_refused(
    world: World, partner_web: FlaskClient, app: Flask, answers: dict[str, str], message: str
) -> None:
    if "saved_query" in answers:
        answers = {**answers, "criteria_json": ""}

    response = post_form(partner_web, "/recruitment/new", request_form(**answers))

    assert response.status_code == 422
    assert message in page_of(response).text
    assert request_count(app) == 0


def test_a_saved_query_and_pasted_criteria_together_are_refused(
    world: World, partner_web: FlaskClient, app: Flask
) -> None:
    query_id = _save_query(world, ADULT_TRD)

    response = post_form(partner_web, "/recruitment/new", request_form(saved_query=query_id))

    assert response.status_code == 422
    assert page_of(response).error_at("criteria_json") == (
        "Choose a saved query or paste criteria, not both."
    )
    assert request_count(app) == 0


def test_a_partner_submits_from_a_saved_query_and_lands_on_the_request(
    world: World, partner_web: FlaskClient
) -> None:
    first = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 30}]}
    query_id = _save_query(world, first)
    latest = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}]}
    world.client.post(
        f"/api/v1/eligibility/saved-queries/{query_id}/versions",
        json={"criteria": latest},
        headers=world.partner.headers,
    )
    form = partner_web.get("/recruitment/new")
    assert "Trial adults (version 2)" in page_of(form).text

    response = post_form(
        partner_web, "/recruitment/new", request_form(saved_query=query_id, criteria_json="")
    )

    assert response.status_code == 302
    request_id = response.headers["Location"].rsplit("/", 1)[-1]
    page = page_of(partner_web.get(response.headers["Location"]))
    assert "Your request has been submitted." in page.text
    assert "Waiting for a decision" in page.text_of("status")
    shown = world.client.get(f"{URL}/{request_id}", headers=world.admin.headers).get_json()
    assert shown["criteria"] == latest  # the latest version's criteria, as they were
    assert shown["lay_summary"] == "A 12-week study of a new tablet for depression."


def test_the_list_offers_partners_a_new_request_and_shows_status(
    world: World, partner_web: FlaskClient, admin_web: FlaskClient
) -> None:
    world.submit()

    partner_page = page_of(partner_web.get("/recruitment/"))
    admin_page = page_of(admin_web.get("/recruitment/"))

    assert "Submit a recruitment request" in partner_page.text
    assert "SERENE-2" in partner_page.text_of("requests")
    assert "Waiting for a decision" in admin_page.text_of("requests")
    assert "Submit a recruitment request" not in admin_page.text


def test_home_page_links_each_recruitment_role(
    world: World, web: Callable[[Account], FlaskClient], api_user: Callable[..., ApiUser]
) -> None:
    for account in (world.partner.account, world.admin.account, world.clinician_a.account):
        assert 'href="/recruitment/"' in web(account).get("/").get_data(as_text=True)
    researcher = web(api_user(Role.RESEARCHER).account)
    assert 'href="/recruitment/"' not in researcher.get("/").get_data(as_text=True)
    assert researcher.get("/recruitment/").status_code == 403


# -- an admin decides -----------------------------------------------------------------------


def test_an_admin_sees_matches_by_site_and_approves(world: World, admin_web: FlaskClient) -> None:
    world.enrol(world.clinician_a, 3)
    world.enrol(world.clinician_b, 1)
    request_id = world.submit()["id"]
    page_url = f"/recruitment/{request_id}"

    before = page_of(admin_web.get(page_url))
    matches = before.text_of("matches-by-site")
    assert f"{world.site_a.name} ({world.site_a.code}) 3" in matches
    assert f"{world.site_b.name} ({world.site_b.code}) 1" in matches
    assert "Total 4" in matches
    assert '"field": "age"' in before.text_of("criteria")

    chosen = post_from(
        admin_web, page_url, f"{page_url}/decision", {"decision": "approve", "note": "Ethics ok."}
    )
    assert chosen.status_code == 303 and chosen.headers["Location"] == f"{page_url}/approval"
    assert status_of(world, request_id) == "submitted"  # choosing approve is not approving
    check = page_of(admin_web.get(f"{page_url}/approval"))
    by_site = check.text_of("will-list-by-site")
    assert f"{world.site_a.name} 3" in by_site and f"{world.site_b.name} 1" in by_site
    assert check.text_of("will-list-total") == "4"
    assert "4 people on contact lists at 2 sites. The study needs 40 ." in check.text_of(
        "will-list"
    )

    response = post_from(
        admin_web, f"{page_url}/approval", f"{page_url}/approval", {"note": "Ethics ok."}
    )

    assert response.status_code == 302
    after = page_of(admin_web.get(page_url))
    assert "The contact lists are open to each site's clinicians." in after.text
    assert "Open" in after.text_of("status")
    assert after.text_of("listed").startswith("People on the lists: 4 .")
    assert status_of(world, request_id) == "open"


def test_a_rejection_without_a_note_is_422_and_changes_nothing(
    world: World, admin_web: FlaskClient, partner_web: FlaskClient
) -> None:
    request_id = world.submit()["id"]
    page_url = f"/recruitment/{request_id}"

    refused = post_from(admin_web, page_url, f"{page_url}/decision", {"decision": "reject"})
    no_choice = post_from(admin_web, page_url, f"{page_url}/decision", {"note": "Hmm."})

    assert refused.status_code == 422
    assert page_of(refused).error_at("note") == "Say why the request is rejected."
    assert no_choice.status_code == 422
    assert page_of(no_choice).error_at("decision") == "Choose approve or reject."
    assert status_of(world, request_id) == "submitted"

    rejected = post_from(
        admin_web, page_url, f"{page_url}/decision", {"decision": "reject", "note": "No REC."}
    )
    assert rejected.status_code == 302
    partner_page = page_of(partner_web.get(page_url))
    assert "Rejected" in partner_page.text_of("status")
    assert "No REC." in partner_page.text_of("request")


def test_deciding_a_decided_request_shows_the_refusal_as_409(
    world: World, admin_web: FlaskClient
) -> None:
    request_id = world.approved()
    page_url = f"/recruitment/{request_id}"

    response = post_from(
        admin_web, page_url, f"{page_url}/decision", {"decision": "reject", "note": "x"}
    )

    assert response.status_code == 409
    assert "This request is already open." in page_of(response).text_of("refusal")
    assert status_of(world, request_id) == "open"


def decisions_offered(page: Any) -> set[str | None]:
    return {found.get("value") for found in page.inputs.values() if found.get("type") == "radio"}


def test_the_decision_page_warns_and_offers_only_rejection(
    world: World, admin_web: FlaskClient, partner_web: FlaskClient, minimum: int
) -> None:
    world.enrol(world.clinician_a, 1)
    page_url = f"/recruitment/{world.submit()['id']}"

    admin_page = page_of(admin_web.get(page_url))
    partner_page = page_of(partner_web.get(page_url))

    warning = admin_page.text_of("list-too-small")
    assert warning.startswith("Important: This list is too small to approve")
    assert "Approving now would put 1 person on the list." in warning
    assert f"A list needs at least {minimum} people." in warning
    assert "figures would describe the people themselves" in warning
    assert decisions_offered(admin_page) == {"reject"}
    assert "too small" not in partner_page.text and "1 person" not in partner_page.text
    assert decisions_offered(partner_page) == set()


def test_approving_from_a_page_that_is_out_of_date_is_refused_on_the_page(
    world: World, app: Flask, admin_web: FlaskClient, minimum: int
) -> None:
    people = world.enrol(world.clinician_a, minimum)
    request_id = world.submit()["id"]
    page_url = f"/recruitment/{request_id}"
    before = page_of(admin_web.get(page_url))
    assert (
        before.text_of("list-if-approved")
        == f"Approving now would put {minimum} people on the list."
    )
    assert decisions_offered(before) == {"approve", "reject"}

    check = f"{page_url}/approval"
    token = csrf_token_from(admin_web.get(check).get_data(as_text=True))

    world.withdraw(people[0])  # one fewer since the admin opened the check page
    response = admin_web.post(check, data={"csrf_token": token, "cap": ""})

    assert response.status_code == 409
    after = page_of(response)
    assert f"would hold {minimum - 1} people" in after.text_of("refusal")
    assert f"A list needs at least {minimum} people." in after.text_of("list-too-small")
    assert decisions_offered(page_of(admin_web.get(page_url))) == {"reject"}
    assert contacts_of(app, request_id) == 0
    assert [d["listed"] for d in audited(app, "refused.list_too_small")] == [minimum - 1]
    assert (
        world.client.get(f"{URL}/{request_id}", headers=world.admin.headers).get_json()["status"]
        == "submitted"
    )


def test_two_person_rule_the_approving_admin_cannot_confirm_a_second_can(
    world: World,
    admin_web: FlaskClient,
    web: Callable[[Account], FlaskClient],
    settings_with: Callable[..., None],
    app: Flask,
) -> None:
    settings_with(recruitment_two_person_rule=True)
    world.enrol(world.clinician_a, 2)
    request_id = world.submit()["id"]
    page_url = f"/recruitment/{request_id}"
    approved = post_from(admin_web, f"{page_url}/approval", f"{page_url}/approval", {})
    assert approved.status_code == 302
    waiting = page_of(admin_web.get(page_url))
    assert "they open when a second admin confirms" in waiting.text
    assert "Approved: waiting for a second admin" in waiting.text_of("status")
    denials = _audit_count(app, "access.denied")

    same_admin = post_from(admin_web, page_url, f"{page_url}/confirmation", {})

    assert same_admin.status_code == 403
    assert "A second admin must confirm: you approved this request." in page_of(same_admin).text_of(
        "refusal"
    )
    assert status_of(world, request_id) == "approved"
    assert _audit_count(app, "access.denied") == denials + 1

    second = web(world.second_admin.account)
    confirmed = post_from(second, page_url, f"{page_url}/confirmation", {})
    assert confirmed.status_code == 302
    assert "The contact lists are open" in page_of(second.get(page_url)).text
    assert status_of(world, request_id) == "open"


def test_a_partner_closes_their_request_once(world: World, partner_web: FlaskClient) -> None:
    request_id = world.approved()
    page_url = f"/recruitment/{request_id}"

    closed = post_from(partner_web, page_url, f"{page_url}/closure", {})
    again = post_from(partner_web, page_url, f"{page_url}/closure", {})

    assert closed.status_code == 302
    assert status_of(world, request_id) == "closed"
    assert again.status_code == 409
    assert "Only an approved or open request can be closed" in page_of(again).text_of("refusal")


# -- a clinician works the list -------------------------------------------------------------


def test_a_clinician_works_their_sites_list_and_records_an_outcome(
    world: World, clinician_web: FlaskClient, app: Flask
) -> None:
    at_a = world.enrol(world.clinician_a, 2)
    world.enrol(world.clinician_b, 1)
    request_id = world.approved(lay_summary="A 12-week study of a new tablet for depression.")
    list_url = f"/recruitment/{request_id}/contacts"
    assert f'href="{list_url}"' in clinician_web.get(f"/recruitment/{request_id}").get_data(
        as_text=True
    )

    first_look = clinician_web.get(list_url)

    assert first_look.status_code == 200
    page = page_of(first_look)
    assert "A 12-week study of a new tablet" in page.text_of("lay-summary")
    html = first_look.get_data(as_text=True)
    assert html.count('data-testid="new"') == 2  # never looked before: everyone is new
    # The same clinician, through the API (a look of its own, so after the page's).
    contacts = world.contacts(request_id, world.clinician_a).get_json()["items"]
    table = page.text_of("contacts")
    for person in contacts:
        assert person["family_name"] in table and person["nhs_number"] in table
    assert len(re.findall(r'data-participant="', html)) == 2
    # Identifiable page: no one's name or NHS number in its title or any address on it.
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    addresses = " ".join(re.findall(r'(?:href|action)="([^"]*)"', html))
    for person in contacts:
        for identifier in (person["family_name"], person["nhs_number"].replace(" ", "")):
            assert title and identifier not in title.group(1) and identifier not in addresses

    response = post_from(clinician_web, list_url, f"{list_url}/{at_a[0]}", {"status": "interested"})

    assert response.status_code == 302
    assert response.headers["Location"] == f"{list_url}#contact-{at_a[0]}"
    after = page_of(clinician_web.get(list_url))
    assert "Outcome recorded: Interested." in after.text
    assert "Interested" in after.text_of("contact-status")
    assert "New" not in after.text_of("contacts")  # nothing changed by anyone else since
    funnel = world.funnel(request_id, world.admin).get_json()
    assert funnel["current"]["interested"] == 1
    assert _audit_count(app, "recruitment.outcome") == 1


def test_the_list_says_how_many_left_since_the_last_look(
    world: World, clinician_web: FlaskClient
) -> None:
    at_a = world.enrol(world.clinician_a, 3)
    request_id = world.approved()
    list_url = f"/recruitment/{request_id}/contacts"
    clinician_web.get(list_url)

    world.withdraw(at_a[0])
    page = page_of(clinician_web.get(list_url))

    assert "1 person left this list since you last looked" in page.text_of("removed")
    assert at_a[0] not in page.text_of("contacts")


def test_an_outcome_not_offered_is_refused_and_nothing_is_recorded(
    world: World, clinician_web: FlaskClient, app: Flask
) -> None:
    at_a = world.enrol(world.clinician_a, 1)
    request_id = world.approved()
    list_url = f"/recruitment/{request_id}/contacts"

    tampered = post_from(clinician_web, list_url, f"{list_url}/{at_a[0]}", {"status": "held_back"})
    stranger = post_from(
        clinician_web, list_url, f"{list_url}/P-NOTONTHELIST", {"status": "declined"}
    )

    assert tampered.status_code == 422
    assert "Choose one of approached" in page_of(tampered).text
    assert stranger.status_code == 404
    assert _audit_count(app, "recruitment.outcome") == 0


def test_a_clinician_cannot_open_a_request_not_open_at_their_site(
    world: World, clinician_web: FlaskClient
) -> None:
    world.enrol(world.clinician_b, 2)
    submitted = world.submit()["id"]
    elsewhere = world.approved()

    for request_id in (submitted, elsewhere):
        assert clinician_web.get(f"/recruitment/{request_id}").status_code == 404
        assert clinician_web.get(f"/recruitment/{request_id}/contacts").status_code == 404
    assert page_of(clinician_web.get("/recruitment/")).text_of("no-requests")


# -- what a partner never sees --------------------------------------------------------------


def test_a_partners_pages_show_no_person_no_site_and_no_small_number(
    world: World,
    partner_web: FlaskClient,
    admin_web: FlaskClient,
    without_noise: None,
) -> None:
    at_a = world.enrol(world.clinician_a, 11)
    world.enrol(world.clinician_b, 2)
    request_id = world.approved(lay_summary="A 12-week study.")
    for participant_id, status in zip(at_a, ["approached", "interested"], strict=False):
        world.outcome(request_id, participant_id, status, world.clinician_a)
    people = [
        *world.contacts(request_id, world.clinician_a).get_json()["items"],
        *world.contacts(request_id, world.clinician_b).get_json()["items"],
    ]
    page_url = f"/recruitment/{request_id}"

    pages = [partner_web.get("/recruitment/"), partner_web.get(page_url)]

    assert [p.status_code for p in pages] == [200, 200]
    html = " ".join(p.get_data(as_text=True) for p in pages)
    for person in people:
        assert person["participant_id"] not in html
        assert person["family_name"] not in html and person["nhs_number"] not in html
    assert world.site_a.code not in html and world.site_b.code not in html
    figures = [unescape(a or b).strip() for a, b in FIGURES.findall(html)]
    assert figures and all(PUBLISHED.match(f) for f in figures), figures
    page = page_of(pages[1])
    assert page.text_of("funnel-count") == "15"
    assert page.text_of("disclosure-rule")
    assert page.text_of("funnel-by-site") == ""
    # And the doors to people stay shut.
    assert partner_web.get(f"{page_url}/contacts").status_code == 403
    assert (
        post_from(
            partner_web, page_url, f"{page_url}/decision", {"decision": "approve"}
        ).status_code
        == 403
    )

    # The admin, deciding and following, sees exact figures and each site.
    admin_page = page_of(admin_web.get(page_url))
    assert "Interested 1" in admin_page.text_of("funnel-table")
    assert world.site_a.code in admin_page.text_of("funnel-by-site")


def test_the_funnel_chart_and_table_show_the_same_figures(
    world: World, admin_web: FlaskClient
) -> None:
    at_a = world.enrol(world.clinician_a, 4)
    request_id = world.approved()
    world.outcome(request_id, at_a[0], "declined", world.clinician_a)

    html = admin_web.get(f"/recruitment/{request_id}").get_data(as_text=True)

    chart = dict(re.findall(r'data-category="([^"]+)" data-figure="([^"]+)"', html))
    table = page_of_rows(html, "funnel-table")
    assert chart == table
    assert chart["To contact"] == "3" and chart["Declined"] == "1"
    assert page_of(admin_web.get(f"/recruitment/{request_id}")).text_of("funnel-weeks")


def page_of_rows(html: str, testid: str) -> dict[str, str]:
    """A two-column table's rows (header cell -> figure), the total left out."""
    table = html.split(f'data-testid="{testid}"', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<th scope="row">([^<]+)</th><td[^>]*>([^<]+)</td>', table)
    return {label: figure for label, figure in rows if label != "Total"}


# -- helpers --------------------------------------------------------------------------------


def _save_query(world: World, criteria: dict[str, Any]) -> str:
    response = world.client.post(
        "/api/v1/eligibility/saved-queries",
        json={"name": "Trial adults", "criteria": criteria},
        headers=world.partner.headers,
    )
    assert response.status_code == 201, response.get_json()
    return str(response.get_json()["query_id"])


def _audit_count(app: Flask, action: str | None = None) -> int:
    with app.app_context():
        statement = select(func.count()).select_from(AuditEvent)
        if action is not None:
            statement = statement.where(AuditEvent.action == action)
        return int(session().scalar(statement) or 0)
