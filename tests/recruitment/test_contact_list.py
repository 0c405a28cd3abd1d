"""A clinician's contact list to work through (#21 item 7): 25 a page, filters by status and
by what is new since their last visit, no outcome chosen for them, "not appropriate to
approach" not counted as an approach, and back to the row just saved."""

from __future__ import annotations

import re
from collections.abc import Callable
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.db import session
from registry.eligibility.describe import describe
from registry.participants.models import Participant
from registry.recruitment.models import RecruitmentContact
from tests.conftest import ApiUser
from tests.participants.test_web import page_of
from tests.recruitment.conftest import ADULT_TRD, World, audited

ROW = re.compile(r'<li class="nhsuk-card registry-contact" id="contact-([^"]+)"(.*?)</li>', re.S)
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')


@pytest.fixture
def clinician_web(world: World, app: Flask, sign_in: Callable[..., Any]) -> FlaskClient:
    browser = app.test_client()
    sign_in(world.clinician_a.account, test_client=browser)
    return browser


def rows(response: Any) -> list[str]:
    """The participant ids of the cards on the page, in order."""
    return [pid for pid, _ in ROW.findall(response.get_data(as_text=True))]


def save(client: FlaskClient, page: Any, participant_id: str, status: str) -> Any:
    """Choose ``status`` in the person's card on ``page`` and press Save."""
    html = page.get_data(as_text=True)
    card = dict(ROW.findall(html))[participant_id]
    action = re.search(r'<form method="post" action="([^"]+)"', card)
    assert action
    return client.post(action.group(1), data={**dict(HIDDEN.findall(card)), "status": status})


def link(response: Any, text: str) -> str:
    found = re.search(
        rf'<a[^>]*href="([^"]+)"[^>]*>\s*(?:<[^>]+>\s*)*{text}', response.get_data(as_text=True)
    )
    assert found, text
    return found.group(1).replace("&amp;", "&")


def test_the_list_shows_25_a_page_and_how_many_remain(
    world: World, clinician_web: FlaskClient
) -> None:
    people = world.enrol(world.clinician_a, 30)
    request_id = world.approved()
    list_url = f"/recruitment/{request_id}/contacts"

    first = clinician_web.get(list_url)
    second = clinician_web.get(link(first, "Next"))

    assert rows(first) == people[:25] and rows(second) == people[25:]
    assert page_of(first).text_of("remaining") == "30 remain to contact."
    assert page_of(second).text_of("showing") == "Showing 26 to 30 of 30."
    # Turning the page is the same visit: everyone is still new on the second page.
    assert second.get_data(as_text=True).count('data-testid="new"') == 5


def test_no_outcome_is_chosen_for_the_clinician(world: World, clinician_web: FlaskClient) -> None:
    world.enrol(world.clinician_a, 3)
    request_id = world.approved()

    html = clinician_web.get(f"/recruitment/{request_id}/contacts").get_data(as_text=True)

    for _, card in ROW.findall(html):
        assert re.findall(r"<option[^>]*selected[^>]*>([^<]*)<", card) == ["Choose an outcome"]
    assert "Not appropriate to approach (clinical judgement)" in html


def test_saving_without_a_choice_is_refused_at_the_row(
    world: World, clinician_web: FlaskClient, app: Flask
) -> None:
    people = world.enrol(world.clinician_a, 3)
    request_id = world.approved()
    page = clinician_web.get(f"/recruitment/{request_id}/contacts")

    refused = save(clinician_web, page, people[1], "")

    assert refused.status_code == 422
    shown = page_of(refused)
    assert shown.error_at(f"status-{people[1]}") == "Choose an outcome."
    assert shown.summary == [(f"#status-{people[1]}", "Choose an outcome.")]
    assert shown.error_at(f"status-{people[0]}") == ""
    assert "<title>Error: Contact list" in refused.get_data(as_text=True)
    assert audited(app, "recruitment.outcome") == []


def test_not_appropriate_to_approach_is_not_counted_as_an_approach(
    world: World, clinician_web: FlaskClient, app: Flask, settings_with: Callable[..., None]
) -> None:
    settings_with(contact_max_approaches_per_year=1)
    people = world.enrol(world.clinician_a, 2)
    first = world.approved()
    page = clinician_web.get(f"/recruitment/{first}/contacts")

    saved = save(clinician_web, page, people[0], "not_appropriate")
    world.outcome(first, people[1], "declined", world.clinician_a)

    assert saved.status_code == 302
    assert "Not appropriate to approach" in page_of(clinician_web.get(saved.location)).text
    funnel = world.funnel(first, world.admin).get_json()["current"]
    assert funnel["not_appropriate"] == 1 and funnel["approached"] == 0
    with app.app_context():
        approached = {
            pid: at
            for pid, at in session().execute(
                select(Participant.participant_id, RecruitmentContact.approached_at).join(
                    Participant, Participant.id == RecruitmentContact.participant_pk
                )
            )
        }
    assert approached[people[0]] is None and approached[people[1]] is not None
    # The contact-fatigue limit (one approach a year here) holds back only the one approached.
    world.client.post(f"/api/v1/recruitment-requests/{first}/closure", headers=world.admin.headers)
    second = world.approved()
    assert world.listed_ids(second, world.clinician_a) == {people[0]}


def test_the_filters_show_one_status_or_what_is_new_since_the_last_visit(
    world: World, clinician_web: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    people = world.enrol(world.clinician_a, 5)
    colleague = api_user("clinician", site=world.site_a)
    request_id = world.approved()
    list_url = f"/recruitment/{request_id}/contacts"
    clinician_web.get(list_url)  # the first visit
    world.outcome(request_id, people[0], "interested", colleague)
    world.outcome(request_id, people[1], "declined", world.clinician_a)

    new = clinician_web.get(list_url, query_string={"new": "y"})
    declined = clinician_web.get(list_url, query_string={"status": "declined"})
    waiting = clinician_web.get(list_url, query_string={"status": "to_contact"})

    assert rows(new) == [people[0]]  # a colleague's change; their own is not news
    assert rows(declined) == [people[1]]
    assert rows(waiting) == people[2:]
    assert page_of(waiting).text_of("remaining") == "3 remain to contact."


def test_saving_returns_to_the_row_on_the_same_page_with_the_same_filters(
    world: World, clinician_web: FlaskClient
) -> None:
    people = world.enrol(world.clinician_a, 30)
    request_id = world.approved()
    list_url = f"/recruitment/{request_id}/contacts"
    first = clinician_web.get(list_url, query_string={"status": "to_contact"})
    second = clinician_web.get(link(first, "Next"))

    saved = save(clinician_web, second, people[27], "unreachable")

    assert saved.status_code == 302
    where = urlsplit(saved.location)
    assert where.path == list_url and where.fragment == f"contact-{people[27]}"
    assert parse_qs(where.query) == {"page": ["2"], "status": ["to_contact"], "since": ["first"]}
    assert people[27].startswith("P-")  # the anchor is the registry id, never an NHS number
    back = clinician_web.get(saved.location)
    assert "Outcome recorded: Unreachable." in page_of(back).text
    assert page_of(back).text_of("remaining") == "29 remain to contact."


@pytest.mark.parametrize(
    "query", [{"status": "held_back"}, {"page": "0"}, {"page": "two"}, {"since": "yesterday"}]
)
def test_a_filter_the_page_never_offers_is_refused(
    world: World, clinician_web: FlaskClient, query: dict[str, str]
) -> None:
    world.enrol(world.clinician_a, 1)
    request_id = world.approved()

    response = clinician_web.get(f"/recruitment/{request_id}/contacts", query_string=query)

    assert response.status_code == 422


def test_the_api_says_how_many_remain_to_contact(world: World) -> None:
    people = world.enrol(world.clinician_a, 3)
    request_id = world.approved()
    world.outcome(request_id, people[0], "not_appropriate", world.clinician_a)

    listing = world.contacts(request_id, world.clinician_a).get_json()

    assert listing["remaining"] == 2 and len(listing["items"]) == 3


def test_the_clinician_reads_who_the_study_is_looking_for_in_words(
    world: World, clinician_web: FlaskClient
) -> None:
    world.enrol(world.clinician_a, 1)
    request_id = world.approved()

    html = clinician_web.get(f"/recruitment/{request_id}/contacts").get_data(as_text=True)

    sentence = re.search(r'data-testid="criteria-sentence">(.*?)</p>', html)
    assert sentence is not None
    assert describe(ADULT_TRD) in unescape(sentence.group(1))
    assert '"field"' not in html  # words, not the criteria's JSON
