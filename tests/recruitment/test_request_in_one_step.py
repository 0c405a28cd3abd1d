"""From a count to a recruitment request in one step, and every problem of a submission at
once, in words (issue #22): criteria errors at their clause, hand-typed JSON's line and
column, and the ethics reference in any common spelling."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.db import session
from registry.recruitment.models import RecruitmentRequest
from tests.conftest import Account, post_form
from tests.participants.test_web import page_of
from tests.recruitment.conftest import ADULT_TRD, World
from tests.recruitment.test_recruitment_web import request_count, request_form

NEW = "/recruitment/new"


def _signed_in(app: Flask, sign_in: Callable[..., Any], account: Account) -> FlaskClient:
    browser = app.test_client()
    sign_in(account, test_client=browser)
    return browser


@pytest.fixture
def partner_web(world: World, app: Flask, sign_in: Callable[..., Any]) -> FlaskClient:
    return _signed_in(app, sign_in, world.partner.account)


@pytest.fixture
def admin_web(world: World, app: Flask, sign_in: Callable[..., Any]) -> FlaskClient:
    return _signed_in(app, sign_in, world.admin.account)


def test_criteria_carried_from_a_count_fill_the_form_in_words_and_submit_nothing(
    partner_web: FlaskClient, app: Flask
) -> None:
    response = post_form(
        partner_web, NEW, {"criteria_json": json.dumps(ADULT_TRD), "from_count": "y"}
    )

    assert response.status_code == 200
    page = page_of(response)
    assert page.text_of("criteria-sentence") == describe_adult_trd()
    assert "There is a problem" not in page.text  # nothing asked for yet
    assert request_count(app) == 0


def describe_adult_trd() -> str:
    from registry.eligibility.describe import describe

    return describe(ADULT_TRD)


def test_then_submitting_sends_the_carried_criteria(partner_web: FlaskClient, app: Flask) -> None:
    response = post_form(
        partner_web,
        NEW,
        request_form(criteria_json=json.dumps(ADULT_TRD), ethics_reference="IRAS ID: 1004567"),
    )

    assert response.status_code == 302
    with app.app_context():
        stored = session().scalars(select(RecruitmentRequest)).one()
        assert stored.criteria == ADULT_TRD
        assert stored.ethics_reference == "IRAS 1004567"


def test_every_problem_of_a_submission_is_shown_at_once_in_words(
    partner_web: FlaskClient, app: Flask
) -> None:
    criteria = {
        "cohort": "TRD",
        "all": [{"field": "age", "op": ">=", "value": 18}, {"field": "sex", "op": "="}],
    }

    response = post_form(
        partner_web,
        NEW,
        request_form(
            study_title="", ethics_reference="IRAS-12", criteria_json=json.dumps(criteria)
        ),
    )

    assert response.status_code == 422
    page = page_of(response)
    assert page.error_at("study_title") == "Enter the study's title."
    assert page.error_at("ethics_reference").startswith("Give the study's IRAS ID")
    assert page.error_at("criteria_json") == "Clause 2: choose a value for Sex."
    assert ("#criteria_json", "Clause 2: choose a value for Sex.") in page.summary
    assert request_count(app) == 0


def test_json_typed_by_hand_gets_its_line_column_and_a_readable_message(
    partner_web: FlaskClient, app: Flask
) -> None:
    typed = '{"cohort": "TRD",\n "all": [{"field": "age" "op": ">=", "value": 18}]}'

    response = post_form(partner_web, NEW, request_form(criteria_json=typed))

    assert response.status_code == 422
    assert page_of(response).error_at("criteria_json") == (
        "The criteria are not valid JSON: at line 2, column 26, a comma (or a closing bracket) "
        "is missing."
    )
    assert request_count(app) == 0


def test_the_admins_decision_page_shows_the_criteria_as_a_sentence(
    partner_web: FlaskClient, admin_web: FlaskClient, app: Flask
) -> None:
    post_form(partner_web, NEW, request_form(criteria_json=json.dumps(ADULT_TRD)))
    with app.app_context():
        request_id = session().scalars(select(RecruitmentRequest.request_id)).one()

    page = page_of(admin_web.get(f"/recruitment/{request_id}"))

    assert page.text_of("criteria-sentence") == f"Who: {describe_adult_trd()}"
