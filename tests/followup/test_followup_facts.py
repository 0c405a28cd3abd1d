"""Follow-up completeness in the facts row, and eligibility on it, as a researcher counts:
on SQLite, and on PostgreSQL when TEST_DATABASE_URL names one."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.db import session
from registry.facts.derive import refresh_facts_for
from registry.participants.models import Participant, ParticipantFacts
from tests.conftest import ApiUser
from tests.followup.conftest import assess

pytestmark = pytest.mark.usefixtures("consent_forms")

ENROLLED = dt.date(2026, 1, 15)  # EP 3-month window: 15 March to 15 May 2026
COUNT = "/api/v1/eligibility/count"


def facts_of(app: Flask, participant_id: str) -> ParticipantFacts:
    with app.test_request_context():
        return (
            session()
            .scalars(
                select(ParticipantFacts)
                .join(Participant, Participant.id == ParticipantFacts.participant_pk)
                .where(Participant.participant_id == participant_id)
            )
            .one()
        )


def count(client: FlaskClient, user: ApiUser, cohort: str, *clauses: dict[str, Any]) -> int:
    criteria = {"cohort": cohort, "all": list(clauses)}
    response = client.post(COUNT, json={"criteria": criteria}, headers=user.headers)
    assert response.status_code == 200, response.get_json()
    value: int = response.get_json()["count"]
    return value


def visit_is(visit: str, state: str) -> dict[str, Any]:
    return {"field": f"followup.{visit}", "op": "=", "value": state}


def test_new_participant_has_every_visit_of_their_cohort_at_none(
    app: Flask, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    participant_id = enrolled_on(clinician, ENROLLED, "EP")

    facts = facts_of(app, participant_id)

    assert (facts.followup_baseline, facts.followup_month_3, facts.followup_month_24) == (
        "none", "none", "none"
    )  # fmt: skip
    assert facts.followup_week_8 is None  # a TRD visit
    assert facts.followup_schedule == "2026-12"


def test_recording_every_scale_in_window_completes_the_visit(
    app: Flask, client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    participant_id = enrolled_on(clinician, ENROLLED, "EP")

    assess(client, clinician, participant_id, "CGI_S", dt.date(2026, 4, 10))
    assess(client, clinician, participant_id, "SOFAS", dt.date(2026, 4, 12))

    facts = facts_of(app, participant_id)
    assert (facts.followup_month_3, facts.followup_month_6) == ("complete", "none")


def test_recording_some_scales_leaves_the_visit_partial(
    app: Flask, client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    participant_id = enrolled_on(clinician, ENROLLED, "EP")

    assess(client, clinician, participant_id, "SOFAS", dt.date(2026, 4, 12))

    assert facts_of(app, participant_id).followup_month_3 == "partial"


def test_assessment_outside_every_window_completes_nothing(
    app: Flask, client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    participant_id = enrolled_on(clinician, ENROLLED, "EP")

    assess(client, clinician, participant_id, "SOFAS", dt.date(2026, 5, 20))  # 3 months closed

    facts = facts_of(app, participant_id)
    assert (facts.followup_month_3, facts.followup_month_6) == ("none", "none")


def test_bulk_refresh_derives_the_same_columns(
    app: Flask, client: FlaskClient, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    participant_id = enrolled_on(clinician, ENROLLED, "TRD")
    assess(client, clinician, participant_id, "PHQ9", dt.date(2026, 3, 12))
    with app.test_request_context():
        participant = (
            session()
            .scalars(select(Participant).where(Participant.participant_id == participant_id))
            .one()
        )
        facts = session().get(ParticipantFacts, participant.id)
        assert facts is not None
        facts.followup_week_8 = None  # as a row from before migration 0016 holds

        refresh_facts_for([participant.id])
        session().commit()

    assert facts_of(app, participant_id).followup_week_8 == "partial"


def test_researcher_counts_those_who_completed_a_visit(
    client: FlaskClient,
    clinician: ApiUser,
    researcher: ApiUser,
    enrolled_on: Callable[..., str],
) -> None:
    before = [
        count(client, researcher, "EP", visit_is("month_3", s)) for s in ("complete", "partial")
    ]
    completed = enrolled_on(clinician, ENROLLED, "EP")
    partial = enrolled_on(clinician, ENROLLED, "EP")
    enrolled_on(clinician, ENROLLED, "EP")  # nothing recorded
    for code in ("CGI_S", "SOFAS"):
        assess(client, clinician, completed, code, dt.date(2026, 4, 15))
    assess(client, clinician, partial, "CGI_S", dt.date(2026, 4, 15))

    after = [
        count(client, researcher, "EP", visit_is("month_3", s)) for s in ("complete", "partial")
    ]

    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1]


def test_visit_another_cohort_has_matches_nobody(
    client: FlaskClient, researcher: ApiUser, clinician: ApiUser, enrolled_on: Callable[..., str]
) -> None:
    enrolled_on(clinician, ENROLLED, "TRD")

    assert count(client, researcher, "TRD", {"field": "followup.month_3", "op": "exists"}) == 0


def test_unknown_visit_state_is_refused(client: FlaskClient, researcher: ApiUser) -> None:
    criteria = {"cohort": "EP", "all": [visit_is("month_6", "done")]}

    response = client.post(COUNT, json={"criteria": criteria}, headers=researcher.headers)

    assert response.status_code == 422


def test_visit_fields_are_in_the_catalogue(client: FlaskClient, researcher: ApiUser) -> None:
    response = client.get("/api/v1/eligibility/fields", headers=researcher.headers)

    fields = {f["name"]: f for f in response.get_json()["fields"]}
    assert fields["followup.month_6"]["values"] == ["complete", "partial", "none"]
    assert "followup.week_8" in fields
