"""Admins see every partner organisation's budget and set its allowance, through the API and
the pages (with a check page that says what changes in numbers); each change is audited with
its old and new values, nonsense is a field-level 422 that changes nothing, and the new
allowance is what partners' questions are then held to."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.audit.models import AuditEvent
from registry.db import session
from registry.privacy.models import PrivacyBudget
from tests.conftest import ApiUser, csrf_token_from, post_form

BUDGETS = "/api/v1/privacy/budgets"
ALLOWANCE = "/api/v1/privacy/allowance"
COUNT = "/api/v1/eligibility/count"
ORG = "Example Pharma Ltd"  # every partner account the fixtures make
PAGE = "/admin/privacy/allowance?organisation=Example+Pharma+Ltd"


def budget_of(client: FlaskClient, admin: ApiUser, organisation: str = ORG) -> dict[str, Any]:
    items = client.get(BUDGETS, headers=admin.headers).get_json()["items"]
    return next(item for item in items if item["organisation"] == organisation)


def stored_allowance(app: Flask, organisation: str = ORG) -> float | None:
    with app.app_context():
        return session().scalar(
            select(PrivacyBudget.allowance).where(PrivacyBudget.organisation == organisation)
        )


def allowance_events(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        rows = session().scalars(
            select(AuditEvent.details).where(AuditEvent.action == "privacy.allowance_set")
        )
        return [json.loads(details) for details in rows]


def test_admins_see_every_partner_organisation_with_its_spending(
    client: FlaskClient, admin: ApiUser, partner: ApiUser
) -> None:
    untouched = budget_of(client, admin)  # a partner account is enough to be listed
    assert untouched["allowance_is_default"] is True
    assert (untouched["allowance"], untouched["questions_per_period"]) == (0.25, 25)
    assert untouched["period_ends"] is None

    question = {"criteria": {"cohort": "TRD"}}
    assert client.post(COUNT, json=question, headers=partner.headers).status_code == 200
    body = client.get(BUDGETS, headers=admin.headers).get_json()
    seen = next(item for item in body["items"] if item["organisation"] == ORG)

    assert (seen["spent"], seen["remaining"], seen["questions_left"]) == (0.01, 0.24, 24)
    assert seen["period_ends"] is not None
    # epsilon at the configured delta: 0.01 rho is about 0.62, 0.25 about 3.54 (README)
    assert 0.5 < seen["epsilon_spent"] < 0.7 < 3.4 < seen["epsilon_allowance"] < 3.7
    assert (body["default_allowance"], body["question_cost"], body["delta"]) == (0.25, 0.01, 1e-6)


def test_setting_an_allowance_is_audited_and_holds_partners_to_it(
    app: Flask, client: FlaskClient, admin: ApiUser, partner: ApiUser
) -> None:
    put = client.put(
        ALLOWANCE, json={"organisation": ORG, "allowance": 0.01}, headers=admin.headers
    )

    assert put.status_code == 200, put.get_json()
    assert put.get_json()["allowance_is_default"] is False
    assert put.get_json()["questions_per_period"] == 1
    assert stored_allowance(app) == 0.01
    first = client.post(COUNT, json={"criteria": {"cohort": "TRD"}}, headers=partner.headers)
    second = client.post(COUNT, json={"criteria": {"cohort": "EP"}}, headers=partner.headers)
    assert (first.status_code, second.status_code) == (200, 429)

    restored = client.put(
        ALLOWANCE, json={"organisation": ORG, "allowance": None}, headers=admin.headers
    )
    assert restored.get_json()["allowance_is_default"] is True
    assert stored_allowance(app) is None
    events = allowance_events(app)
    assert [(e["old_allowance"], e["new_allowance"]) for e in events] == [
        (None, 0.01),
        (0.01, None),
    ]
    assert all(e["organisation"] == ORG and e["default_allowance"] == 0.25 for e in events)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"organisation": ORG, "allowance": -0.1}, "allowance"),
        ({"organisation": ORG, "allowance": "lots"}, "allowance"),
        ({"organisation": ORG, "allowance": True}, "allowance"),
        ({"organisation": ORG, "allowance": 25}, "allowance"),  # 0.25 with a slipped point
        ({"organisation": ORG}, "allowance"),
        ({"organisation": "Nobody Ltd", "allowance": 0.5}, "organisation"),
        ({"organisation": "", "allowance": 0.5}, "organisation"),
    ],
)
def test_nonsense_is_refused_at_its_field_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    admin: ApiUser,
    partner: ApiUser,
    body: dict[str, Any],
    field: str,
) -> None:
    refused = client.put(ALLOWANCE, json=body, headers=admin.headers)

    assert refused.status_code == 422
    assert list(refused.get_json()["error"]["fields"]) == [field]
    assert stored_allowance(app) is None
    assert stored_allowance(app, "Nobody Ltd") is None
    assert allowance_events(app) == []


def test_an_organisation_name_with_a_slash_is_set_through_the_body(
    app: Flask,
    client: FlaskClient,
    admin: ApiUser,
    api_user: Callable[..., ApiUser],
    partner: ApiUser,
) -> None:
    with app.app_context():
        user = session().merge(partner.account.user)
        user.organisation = "Acme / R&D"
        session().commit()

    put = client.put(
        ALLOWANCE, json={"organisation": "Acme / R&D", "allowance": 0.5}, headers=admin.headers
    )

    assert put.status_code == 200, put.get_json()
    assert budget_of(client, admin, "Acme / R&D")["questions_per_period"] == 50


# -- the pages --------------------------------------------------------------------------


def test_the_page_lists_budgets_in_a_responsive_table_linked_from_home(
    admin_web: FlaskClient, partner: ApiUser
) -> None:
    home = admin_web.get("/").get_data(as_text=True)
    assert "/admin/privacy/" in home

    page = admin_web.get("/admin/privacy/")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-testid="budgets"' in html and "nhsuk-table--responsive" in html
    assert ORG in html and "the default" in html
    assert "organisation=Example+Pharma+Ltd" in html
    assert '<a href="/admin/privacy/allowance?organisation=Example+Pharma+Ltd">Change' in html
    assert "&lt;a href" not in html  # a link, not its escaped text
    assert "epsilon" in html.lower() and "rho" in html


def test_the_check_page_says_what_changes_in_numbers_before_anything_changes(
    app: Flask, admin_web: FlaskClient, partner: ApiUser
) -> None:
    check = post_form(admin_web, PAGE, {"organisation": ORG, "questions": "40", "step": "check"})

    html = check.get_data(as_text=True)
    assert check.status_code == 200
    assert f"{ORG} will be able to ask 40 new questions in the next 30 days instead of 25" in html
    assert "epsilon for any 30 days goes from 3.54 to" in html
    assert stored_allowance(app) is None and allowance_events(app) == []

    token = csrf_token_from(html)
    done = admin_web.post(
        PAGE,
        data={"organisation": ORG, "questions": "40", "step": "confirm", "csrf_token": token},
    )

    assert done.status_code == 302
    assert stored_allowance(app) == 0.4
    assert [(e["old_allowance"], e["new_allowance"]) for e in allowance_events(app)] == [
        (None, 0.4)
    ]
    listed = admin_web.get("/admin/privacy/").get_data(as_text=True)
    assert "allowance has been changed" in listed


def test_an_empty_answer_restores_the_default(
    app: Flask, admin_web: FlaskClient, admin: ApiUser, partner: ApiUser
) -> None:
    admin_web.put(ALLOWANCE, json={"organisation": ORG, "allowance": 0.4}, headers=admin.headers)

    check = post_form(admin_web, PAGE, {"organisation": ORG, "questions": "", "step": "check"})

    assert "instead of 40: the registry's default" in check.get_data(as_text=True)


@pytest.mark.parametrize("typed", ["-3", "forty", "2.5", "100000"])
def test_the_form_refuses_nonsense_with_the_error_summary(
    app: Flask, admin_web: FlaskClient, partner: ApiUser, typed: str
) -> None:
    refused = post_form(admin_web, PAGE, {"organisation": ORG, "questions": typed, "step": "check"})

    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "nhsuk-error-summary" in html and 'href="#questions"' in html
    assert "questions" in html.split("nhsuk-error-summary", 1)[1].split("</ul>", 1)[0]
    assert stored_allowance(app) is None


def test_an_unknown_organisation_has_no_page(admin_web: FlaskClient) -> None:
    assert admin_web.get("/admin/privacy/allowance?organisation=Nobody").status_code == 404


def test_an_allowance_too_large_to_state_as_epsilon_is_shown_in_words(
    client: FlaskClient,
    admin_web: FlaskClient,
    admin: ApiUser,
    partner: ApiUser,
    settings_with: Callable[..., None],
) -> None:
    settings_with(privacy_allowance=1_000_000.0)  # as the fuzz tests' world has it

    assert budget_of(client, admin)["epsilon_allowance"] is None
    assert "beyond stating" in admin_web.get("/admin/privacy/").get_data(as_text=True)
