"""Two questions racing for the last of an organisation's budget: one is answered, the other
refused, and the ledger holds one charge (PostgreSQL: the budget row's lock)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry.auth.permissions import Role
from registry.db import session
from registry.privacy.models import PrivacyCharge
from tests.concurrency import Call, race
from tests.conftest import committed_accounts, isolated_app, on_postgresql

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not on_postgresql(), reason="needs concurrent writers on PostgreSQL"),
]


@pytest.fixture(scope="module")
def registry(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Flask, list[dict[str, str]]]]:
    # Room for exactly one question.
    with isolated_app(
        tmp_path_factory.mktemp("budget_race"), privacy_query_cost=0.01, privacy_allowance=0.01
    ) as (app, _url):
        yield app, committed_accounts(app, "PBR", (Role.PARTNER, Role.PARTNER))


def test_two_questions_racing_for_the_last_of_a_budget_are_not_both_answered(
    registry: tuple[Flask, list[dict[str, str]]],
) -> None:
    app, (first, second) = registry
    questions = [
        {"criteria": {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": n}]}}
        for n in (20, 30)
    ]

    answers = race(
        app,
        Call(first, "POST", "/api/v1/eligibility/count", questions[0]),
        Call(second, "POST", "/api/v1/eligibility/count", questions[1]),
    )

    assert sorted(status for status, _ in answers) == [200, 429], answers
    with app.app_context():
        assert session().scalar(select(func.count()).select_from(PrivacyCharge)) == 1


@pytest.fixture(scope="module")
def untouched_budget(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Flask, list[dict[str, str]]]]:
    with isolated_app(
        tmp_path_factory.mktemp("same_question_race"),
        privacy_query_cost=0.01,
        privacy_allowance=0.01,
    ) as (app, _url):
        yield app, committed_accounts(app, "PSQ", (Role.PARTNER, Role.PARTNER))


def test_one_question_asked_twice_at_once_is_charged_once_and_answered_alike(
    untouched_budget: tuple[Flask, list[dict[str, str]]],
) -> None:
    """The stored answer is looked up under the budget row's lock, so the second asking waits
    for the first's answer and takes it free (the same path a week's recruitment release
    takes): not a second charge, which the one-question allowance would refuse."""
    app, (first, second) = untouched_budget
    question = {"criteria": {"cohort": "EP", "all": [{"field": "age", "op": ">=", "value": 40}]}}

    answers = race(
        app,
        Call(first, "POST", "/api/v1/eligibility/count", question),
        Call(second, "POST", "/api/v1/eligibility/count", question),
    )

    assert [status for status, _ in answers] == [200, 200], answers
    assert answers[0][1]["count"] == answers[1][1]["count"]
    with app.app_context():
        charges = session().scalar(select(func.count()).select_from(PrivacyCharge))
    assert charges == 1
