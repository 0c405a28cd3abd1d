"""The checks before approving and closing a recruitment request (#20 item 8): the numbers
the check pages give, the cap on an approval (pages and API), and what the audit keeps."""

from __future__ import annotations

import json
import random
import secrets
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import Account, csrf_token_from
from tests.participants.test_web import Page, page_of
from tests.recruitment.conftest import URL, World, audited, contacts_of


@pytest.fixture
def admin_web(world: World, app: Flask, sign_in: Callable[..., Any]) -> FlaskClient:
    return _signed_in(app, sign_in, world.admin.account)


@pytest.fixture
def partner_web(world: World, app: Flask, sign_in: Callable[..., Any]) -> FlaskClient:
    return _signed_in(app, sign_in, world.partner.account)


def _signed_in(app: Flask, sign_in: Callable[..., Any], account: Account) -> FlaskClient:
    browser = app.test_client()
    sign_in(account, test_client=browser)
    return browser


def approve_on_page(admin_web: FlaskClient, request_id: str, **answers: str) -> Any:
    check = f"/recruitment/{request_id}/approval"
    token = csrf_token_from(admin_web.get(check).get_data(as_text=True))
    return admin_web.post(check, data={"csrf_token": token, "cap": "", "note": "", **answers})


def everyone_listed(world: World, request_id: str) -> set[str]:
    """Who is on the lists at either site. A site the random choice missed has no list, and
    its clinician no request to see."""
    listed: set[str] = set()
    for clinician in (world.clinician_a, world.clinician_b):
        response = world.contacts(request_id, clinician)
        if response.status_code != 404:
            listed |= {item["participant_id"] for item in response.get_json()["items"]}
    return listed


# -- approving ------------------------------------------------------------------------------


def test_the_check_page_gives_each_sites_number_the_total_and_the_studys_need(
    world: World, admin_web: FlaskClient
) -> None:
    world.enrol(world.clinician_a, 3)
    world.enrol(world.clinician_b, 2)
    request_id = world.submit(target=2)["id"]

    page = page_of(admin_web.get(f"/recruitment/{request_id}/approval"))

    by_site = page.text_of("will-list-by-site")
    assert f"{world.site_a.name} 3" in by_site and f"{world.site_b.name} 2" in by_site
    assert page.text_of("will-list-total") == "5"
    assert "The study needs 2 ." in page.text_of("will-list")
    assert "That is 3 more than the study needs." in page.text_of("more-than-needed")
    assert world.client.get(f"{URL}/{request_id}", headers=world.admin.headers).get_json()[
        "status"
    ] == ("submitted")


def test_a_cap_lists_exactly_that_many_chosen_among_the_eligible(
    world: World, admin_web: FlaskClient, app: Flask
) -> None:
    eligible = set(world.enrol(world.clinician_a, 6) + world.enrol(world.clinician_b, 4))
    request_id = world.submit()["id"]

    response = approve_on_page(admin_web, request_id, cap="4")

    assert response.status_code == 302
    listed = everyone_listed(world, request_id)
    assert len(listed) == 4 and listed <= eligible
    assert contacts_of(app, request_id) == 4  # the others were never frozen
    shown = world.client.get(f"{URL}/{request_id}", headers=world.admin.headers).get_json()
    assert shown["list_cap"] == 4 and shown["listed"] == 4
    assert "At most 4 people, chosen at random" in page_of(
        admin_web.get(f"/recruitment/{request_id}")
    ).text_of("request")
    [approval] = audited(app, "recruitment.approve")
    assert approval | {"awaiting_confirmation": None} == {
        "listed": 4,
        "held_back": 0,
        "cap": 4,
        "eligible": 10,
        "awaiting_confirmation": None,
    }
    assert not any(pid in json.dumps(approval) for pid in eligible)


def test_the_random_choice_is_drawn_from_everyone_eligible_at_every_site(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.enrol(world.clinician_a, 5)
    world.enrol(world.clinician_b, 3)
    request_id = world.submit()["id"]
    drawn: list[int] = []

    class Recording(random.SystemRandom):
        def sample(self, population: Sequence[Any], k: int, **kwargs: Any) -> list[Any]:
            drawn.append(len(population))
            return super().sample(population, k, **kwargs)

    monkeypatch.setattr(secrets, "SystemRandom", Recording)

    response = world.client.post(
        f"{URL}/{request_id}/decision",
        json={"decision": "approve", "note": None, "cap": 3},
        headers=world.admin.headers,
    )

    assert response.status_code == 200
    assert drawn == [8]  # one draw over all eight, not per site
    assert len(everyone_listed(world, request_id)) == 3


def test_a_cap_above_the_number_eligible_lists_everyone(world: World, app: Flask) -> None:
    people = set(world.enrol(world.clinician_a, 3))
    request_id = world.submit()["id"]

    response = world.client.post(
        f"{URL}/{request_id}/decision",
        json={"decision": "approve", "note": None, "cap": 40},
        headers=world.admin.headers,
    )

    assert response.status_code == 200 and response.get_json()["list_cap"] == 40
    assert world.listed_ids(request_id, world.clinician_a) == people
    assert [
        (a["cap"], a["eligible"], a["listed"]) for a in audited(app, "recruitment.approve")
    ] == [(40, 3, 3)]


@pytest.mark.parametrize("cap", [0, -5, "5", 2.5, True])
def test_the_api_refuses_a_cap_that_is_not_a_positive_whole_number(
    world: World, app: Flask, cap: Any
) -> None:
    world.enrol(world.clinician_a, 2)
    request_id = world.submit()["id"]

    response = world.client.post(
        f"{URL}/{request_id}/decision",
        json={"decision": "approve", "note": None, "cap": cap},
        headers=world.admin.headers,
    )

    assert response.status_code == 422
    assert set(response.get_json()["error"]["fields"]) == {"cap"}
    assert contacts_of(app, request_id) == 0
    assert audited(app, "recruitment.approve") == []


def test_the_page_refuses_a_cap_that_is_not_a_positive_whole_number(
    world: World, admin_web: FlaskClient, app: Flask
) -> None:
    world.enrol(world.clinician_a, 2)
    request_id = world.submit()["id"]

    response = approve_on_page(admin_web, request_id, cap="0")

    assert response.status_code == 422
    page = page_of(response)
    assert page.error_at("cap") == "Give the most people to list from 1 to 100000."
    assert ("#cap", "Give the most people to list from 1 to 100000.") in page.summary
    assert "Error:" in response.get_data(as_text=True).split("</title>")[0]
    assert contacts_of(app, request_id) == 0


def test_a_cap_below_the_minimum_list_size_is_refused_at_the_cap(
    world: World, admin_web: FlaskClient, app: Flask, minimum: int
) -> None:
    world.enrol(world.clinician_a, minimum + 2)
    request_id = world.submit()["id"]

    api = world.client.post(
        f"{URL}/{request_id}/decision",
        json={"decision": "approve", "note": None, "cap": minimum - 1},
        headers=world.admin.headers,
    )
    page = approve_on_page(admin_web, request_id, cap=str(minimum - 1))

    assert api.status_code == 422 and set(api.get_json()["error"]["fields"]) == {"cap"}
    assert page.status_code == 422
    assert page_of(page).error_at("cap").startswith(f"A list needs at least {minimum} people")
    assert contacts_of(app, request_id) == 0


def test_the_check_page_of_a_decided_request_says_so(world: World, admin_web: FlaskClient) -> None:
    world.enrol(world.clinician_a, 1)
    request_id = world.approved()

    shown = admin_web.get(f"/recruitment/{request_id}/approval")
    again = approve_on_page(admin_web, request_id)

    assert shown.status_code == 409 and again.status_code == 409
    assert "This request is already open." in page_of(shown).text_of("refusal")


def test_only_admins_reach_the_approval_check_page(world: World, partner_web: FlaskClient) -> None:
    request_id = world.submit()["id"]

    assert partner_web.get(f"/recruitment/{request_id}/approval").status_code == 403


# -- closing --------------------------------------------------------------------------------


def test_the_closing_check_page_counts_who_is_still_on_the_lists_and_where(
    world: World, admin_web: FlaskClient
) -> None:
    at_a = world.enrol(world.clinician_a, 3)
    world.enrol(world.clinician_b, 2)
    request_id = world.approved()
    world.outcome(request_id, at_a[0], "declined", world.clinician_a)
    world.withdraw(at_a[1])  # already off the lists: not counted

    page = page_of(admin_web.get(f"/recruitment/{request_id}/closure"))

    assert page.text_of("will-close") == (
        "4 people are still on contact lists at 2 sites and will be taken off."
    )
    assert page.text_of("not-yet-contacted") == "3 of them have not been contacted yet."
    assert world.client.get(f"{URL}/{request_id}", headers=world.admin.headers).get_json()[
        "status"
    ] == ("open")


def test_closing_after_the_check_page_closes_the_request(
    world: World, admin_web: FlaskClient
) -> None:
    world.enrol(world.clinician_a, 2)
    request_id = world.approved()
    check = f"/recruitment/{request_id}/closure"
    token = csrf_token_from(admin_web.get(check).get_data(as_text=True))

    response = admin_web.post(check, data={"csrf_token": token})

    assert response.status_code == 302
    shown = world.client.get(f"{URL}/{request_id}", headers=world.admin.headers).get_json()
    assert shown["status"] == "closed"
    assert admin_web.get(check).status_code == 409  # nothing left to close


def test_a_partners_closing_check_page_gives_only_the_released_figure(
    world: World, partner_web: FlaskClient
) -> None:
    world.enrol(world.clinician_a, 3)
    world.enrol(world.clinician_b, 2)
    request_id = world.approved()

    html = partner_web.get(f"/recruitment/{request_id}/closure").get_data(as_text=True)
    page = Page(html)

    assert page.text_of("will-close").startswith("About ")
    assert "(the figure released to you" in page.text_of("will-close")
    assert "sites" not in page.text_of("will-close")
    assert world.site_a.code not in html and world.site_b.code not in html


def test_a_clinician_cannot_close(world: World, app: Flask, sign_in: Callable[..., Any]) -> None:
    world.enrol(world.clinician_a, 1)
    request_id = world.approved()
    clinician = _signed_in(app, sign_in, world.clinician_a.account)

    assert clinician.get(f"/recruitment/{request_id}/closure").status_code == 403
