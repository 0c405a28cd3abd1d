"""Partners' budget through the real endpoint: respellings cost, one organisation's partners
share one budget, an exhausted budget refuses with 429 and charges nothing, the consistency
window, the append-only ledger, and the issue's attack stopped by the budget."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError

from registry.db import session, utcnow
from registry.privacy.models import PrivacyCharge
from tests.conftest import ApiUser, enrolment_body

pytestmark = pytest.mark.usefixtures("consent_forms")

COUNT = "/api/v1/eligibility/count"
QUESTION = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 15}]}
# The issue's respellings of QUESTION: each is another question, so each costs.
RESPELT: list[dict[str, Any]] = [
    {"cohort": "TRD", "all": [{"all": [{"field": "age", "op": ">=", "value": 15}]}]},
    {"cohort": "TRD", "all": [{"field": "age", "op": ">", "value": 14}]},
    {"cohort": "TRD", "all": [{"field": "age", "op": "between", "value": [15, 130]}]},
    {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 15},
                              {"field": "age", "op": "between", "value": [0, 130]}]},
    {"all": [{"field": "cohort", "op": "=", "value": "TRD"},
             {"field": "age", "op": ">=", "value": 15}]},
]  # fmt: skip


def ask(client: FlaskClient, user: ApiUser, criteria: Any) -> Any:
    return client.post(COUNT, json={"criteria": criteria}, headers=user.headers)


def charges(app: Flask) -> int:
    with app.app_context():
        return int(session().scalar(select(func.count()).select_from(PrivacyCharge)) or 0)


def test_each_respelling_costs_budget(client: FlaskClient, partner: ApiUser) -> None:
    answers = [ask(client, partner, c).get_json() for c in [QUESTION, *RESPELT]]

    assert [a["privacy"]["cost"] for a in answers] == [0.01] * 6
    assert [a["privacy"]["spent"] for a in answers] == [0.01, 0.02, 0.03, 0.04, 0.05, 0.06]


def test_two_partners_of_one_organisation_share_one_budget(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    first, second = api_user("partner"), api_user("partner")  # both of Example Pharma Ltd

    mine = ask(client, first, QUESTION).get_json()
    theirs = ask(client, second, RESPELT[0]).get_json()
    again = ask(client, second, QUESTION).get_json()  # the colleague's question: no cost

    assert (mine["privacy"]["spent"], theirs["privacy"]["spent"]) == (0.01, 0.02)
    assert again == {**mine, "privacy": {**again["privacy"], "cost": 0.0}}
    assert again["privacy"]["spent"] == 0.02


def test_an_exhausted_organisation_is_refused_with_retry_after_and_nothing_charged(
    app: Flask, client: FlaskClient, partner: ApiUser, settings_with: Callable[..., None]
) -> None:
    settings_with(privacy_allowance=0.02)
    assert [ask(client, partner, c).status_code for c in (QUESTION, RESPELT[0])] == [200, 200]

    refused = ask(client, partner, RESPELT[1])

    assert refused.status_code == 429
    error = refused.get_json()["error"]
    assert error["code"] == "privacy_budget_exhausted"
    assert "privacy budget" in error["message"]
    # The first charge leaves the 30-day period first, and then one question fits again.
    assert 29 * 86400 < int(refused.headers["Retry-After"]) <= 30 * 86400
    assert charges(app) == 2  # the two answered; the refused one charged nothing
    assert ask(client, partner, QUESTION).status_code == 200  # answered before: free


def test_identical_questions_within_the_window_are_free_and_after_it_cost_again(
    client: FlaskClient, clinician: ApiUser, partner: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(20):
        client.post("/api/v1/participants", json=enrolment_body(), headers=clinician.headers)
    first = ask(client, partner, QUESTION).get_json()
    within = ask(client, partner, QUESTION).get_json()
    later = utcnow() + dt.timedelta(hours=25)
    monkeypatch.setattr("registry.privacy.actions.utcnow", lambda: later)

    after = ask(client, partner, QUESTION).get_json()

    assert within == {**first, "privacy": {**within["privacy"], "cost": 0.0}}
    assert after["privacy"]["cost"] == 0.01
    assert after["privacy"]["spent"] == 0.02


def test_the_issues_attack_runs_out_of_budget_through_the_endpoint(
    client: FlaskClient, partner: ApiUser
) -> None:
    """39 questions: count(P) and count(any[P, all T]) for P = EP, age >= k. The default
    budget answers 25 fresh questions in 30 days, each with fresh noise."""
    target = {"all": [{"field": "cohort", "op": "=", "value": "TRD"},
                      {"field": "sex", "op": "=", "value": "male"},
                      {"field": "age", "op": "=", "value": 58}]}  # fmt: skip
    statuses = []
    for k in range(18, 58):
        padding = {"all": [{"field": "cohort", "op": "=", "value": "EP"},
                           {"field": "age", "op": ">=", "value": k}]}  # fmt: skip
        for question in (padding, {"any": [padding, target]}):
            statuses.append(ask(client, partner, question).status_code)
            if len(statuses) == 39:
                break
        if len(statuses) == 39:
            break

    assert statuses[:25] == [200] * 25
    assert set(statuses[25:]) == {429}


def test_the_ledger_refuses_update_and_delete(
    app: Flask, client: FlaskClient, partner: ApiUser
) -> None:
    ask(client, partner, QUESTION)
    with app.app_context():
        for change in (update(PrivacyCharge).values(cost=0), delete(PrivacyCharge)):
            with pytest.raises(DBAPIError, match="append-only"), session().begin_nested():
                session().execute(change)
