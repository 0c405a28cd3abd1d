"""A partner's recruitment figures under the privacy budget (#18): released once a week,
charged once to the request's organisation and stored; later views that week are free and
identical; the history is the stored releases; admins see exact figures, never charged;
with the budget used up the partner sees the last release with its date and a notice."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.db import session, utcnow
from registry.privacy.models import PrivacyCharge
from tests.participants.test_web import page_of
from tests.recruitment.conftest import URL, World


@pytest.fixture
def partner_web(world: World, app: Flask, sign_in: Callable[..., Any]) -> FlaskClient:
    browser = app.test_client()
    sign_in(world.partner.account, test_client=browser)
    return browser


def recruitment_charges(app: Flask) -> list[tuple[str, str, float]]:
    with app.app_context():
        rows = session().execute(
            select(PrivacyCharge.organisation, PrivacyCharge.question, PrivacyCharge.cost)
            .where(PrivacyCharge.purpose == "recruitment")
            .order_by(PrivacyCharge.id)
        )
        return [tuple(row) for row in rows]  # type: ignore[misc]


def week_later(monkeypatch: pytest.MonkeyPatch, weeks: int) -> None:
    """Move the clock on for releases and the budget (ISO weeks: 7 days is always the next)."""
    later = utcnow() + dt.timedelta(days=7 * weeks)
    for module in ("registry.recruitment.released", "registry.privacy.actions"):
        monkeypatch.setattr(f"{module}.utcnow", lambda: later)


def figures(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: answer[key] for key in ("count", "current", "held_back", "released_at")}


def test_a_partners_figures_are_released_once_a_week_and_stored(
    world: World, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = world.enrol(world.clinician_a, 14)
    request_id = world.approved()
    world.outcome(request_id, people[0], "interested", world.clinician_a)

    first = world.funnel(request_id, world.partner).get_json()
    assert first["privacy"]["cost"] > 0
    # Published form only: "<10" or a multiple of 5 from 10, the total from the statuses.
    for value in [first["count"], first["held_back"], *first["current"].values()]:
        assert value == "<10" or (value >= 10 and value % 5 == 0)
    charged = recruitment_charges(app)
    assert len(charged) == 1
    _, question, _ = charged[0]
    assert question.startswith(f"recruitment:{request_id}:")

    # Again this week, by the API or the request: the same release, at no cost.
    again = world.funnel(request_id, world.partner).get_json()
    assert figures(again) == figures(first) and again["privacy"]["cost"] == 0
    shown = world.client.get(f"{URL}/{request_id}", headers=world.partner.headers).get_json()
    assert (shown["listed"], shown["held_back"]) == (first["count"], first["held_back"])
    assert shown["privacy"]["cost"] == 0
    assert len(recruitment_charges(app)) == 1

    # A new week: a new release, charged again; the history keeps the first as published.
    week_later(monkeypatch, 1)
    next_week = world.funnel(request_id, world.partner).get_json()
    assert next_week["privacy"]["cost"] > 0
    assert len(recruitment_charges(app)) == 2
    weeks = next_week["by_week"]
    assert len(weeks) == 2
    assert {k: v for k, v in weeks[0].items() if k not in ("week_ending", "released_at")} == (
        first["current"]
    )
    assert next_week["released_at"] != first["released_at"]


def test_the_request_organisations_budget_pays(world: World, app: Flask) -> None:
    world.enrol(world.clinician_a, 3)
    request_id = world.approved()
    world.funnel(request_id, world.partner)
    ((holder, _, _),) = recruitment_charges(app)
    partner = world.partner.account.user
    assert holder == (partner.organisation or f"account:{partner.id}")


def test_an_admin_sees_exact_figures_and_is_never_charged(world: World, app: Flask) -> None:
    world.enrol(world.clinician_a, 7)
    request_id = world.approved()
    funnel = world.funnel(request_id, world.admin).get_json()
    shown = world.client.get(f"{URL}/{request_id}", headers=world.admin.headers).get_json()
    assert (funnel["count"], shown["listed"]) == (7, 7)
    assert "privacy" not in funnel and "privacy" not in shown
    assert recruitment_charges(app) == []


def test_a_closed_request_is_released_once_more_and_then_never(
    world: World, app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.enrol(world.clinician_a, 3)
    request_id = world.approved()
    world.funnel(request_id, world.partner)
    world.client.post(f"{URL}/{request_id}/closure", headers=world.partner.headers)
    closed = world.funnel(request_id, world.partner).get_json()
    week_later(monkeypatch, 3)
    later = world.funnel(request_id, world.partner).get_json()
    assert figures(later) == figures(closed) and later["privacy"]["cost"] == 0
    assert [q.rsplit(":", 1)[1] for _, q, _ in recruitment_charges(app)][-1] == "closed"
    assert len(recruitment_charges(app)) == 2


def test_with_the_budget_used_up_the_partner_sees_the_last_release_and_why(
    world: World,
    app: Flask,
    partner_web: FlaskClient,
    settings_with: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world.enrol(world.clinician_a, 12)
    request_id = world.approved()
    settings_with(privacy_query_cost=0.1, privacy_allowance=0.1)
    first = world.funnel(request_id, world.partner).get_json()
    assert first["notice"] is None

    week_later(monkeypatch, 1)
    stale = world.funnel(request_id, world.partner)
    assert stale.status_code == 200  # a page merely opened is not refused
    body = stale.get_json()
    assert figures(body) == figures(first) and body["privacy"]["cost"] == 0
    assert "privacy budget" in body["notice"] and "New figures can be released" in body["notice"]
    assert len(body["by_week"]) == 1
    assert len(recruitment_charges(app)) == 1

    page = page_of(partner_web.get(f"/recruitment/{request_id}"))
    assert "privacy budget" in page.text_of("figures-notice")
    assert page.text_of("funnel-released")


def test_with_no_budget_at_all_no_figures_are_shown_and_the_page_says_so(
    world: World, app: Flask, partner_web: FlaskClient, settings_with: Callable[..., None]
) -> None:
    world.enrol(world.clinician_a, 12)
    request_id = world.approved()
    settings_with(privacy_query_cost=0.1, privacy_allowance=0.05)
    answer = world.funnel(request_id, world.partner)
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["count"], body["current"], body["by_week"]) == (None, {}, [])
    assert body["notice"]
    page = page_of(partner_web.get(f"/recruitment/{request_id}"))
    assert page.text_of("funnel-not-released")
    assert "No figures have been released" in page.text_of("listed")
    assert recruitment_charges(app) == []
