"""Voiding an assessment or treatment trial entered in error (issue #21): it leaves the
latest scores, the facts (and so eligibility) and the lists at once; the timeline keeps
that it existed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import clock
from registry.assessments.models import Assessment
from registry.auth.permissions import Role
from registry.db import session
from registry.participants.models import Participant, ParticipantFacts
from tests.conftest import Account, ApiUser, enrol, post_form
from tests.participants.test_web import enrolled, page_of

pytestmark = pytest.mark.usefixtures("consent_forms")

URL = "/api/v1/participants"
TODAY = clock.today()
PHQ9 = {"instrument": "PHQ9", "administered_on": TODAY.isoformat(), "items": [2] * 9}
TRIAL = {
    "drug": "sertraline",
    "started_on": "2025-07",
    "adequate_dose": True,
    "weeks": 8,
    "outcome": "non_response",
}


def record(client: FlaskClient, user: ApiUser, participant_id: str, kind: str, body: Any) -> int:
    response = client.post(f"{URL}/{participant_id}/{kind}", json=body, headers=user.headers)
    assert response.status_code == 201, response.get_json()
    return int(response.get_json()["id"])


def void(
    client: FlaskClient, user: ApiUser, participant_id: str, kind: str, record_id: int, **body: Any
) -> Any:
    return client.post(
        f"{URL}/{participant_id}/{kind}/{record_id}/void", json=body, headers=user.headers
    )


def phq9_fact(app: Flask, participant_id: str) -> int | None:
    with app.app_context():
        person = session().scalar(
            select(Participant).where(Participant.participant_id == participant_id)
        )
        assert person is not None
        facts = session().get(ParticipantFacts, person.id)
        assert facts is not None
        return facts.score_phq9


def test_voided_assessment_leaves_latest_scores_facts_and_the_list(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, "TRD")
    assessment_id = record(client, clinician, participant_id, "assessments", PHQ9)
    assert phq9_fact(app, participant_id) == 18

    response = void(
        client, clinician, participant_id, "assessments", assessment_id, reason="wrong_participant"
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["void_reason"] == "wrong_participant"
    assert phq9_fact(app, participant_id) is None
    shown = client.get(f"{URL}/{participant_id}", headers=clinician.headers).get_json()
    assert "PHQ9" not in shown["latest_scores"]
    listed = client.get(f"{URL}/{participant_id}/assessments", headers=clinician.headers)
    assert listed.get_json() == []


def test_voided_trial_is_no_longer_counted_as_failed(
    client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, "TRD")
    trial_id = record(client, clinician, participant_id, "treatment-trials", TRIAL)

    response = void(
        client, clinician, participant_id, "treatment-trials", trial_id, reason="entered_twice"
    )

    shown = client.get(f"{URL}/{participant_id}", headers=clinician.headers).get_json()
    assert response.status_code == 200, response.get_json()
    assert shown["failed_adequate_trials"] == 0


def test_void_without_a_known_reason_is_refused(client: FlaskClient, clinician: ApiUser) -> None:
    participant_id = enrol(client, clinician, "TRD")
    assessment_id = record(client, clinician, participant_id, "assessments", PHQ9)

    response = void(client, clinician, participant_id, "assessments", assessment_id, reason="oops")

    assert response.status_code == 422
    assert "reason" in response.get_json()["error"]["fields"]


def test_voiding_twice_is_a_conflict(client: FlaskClient, clinician: ApiUser) -> None:
    participant_id = enrol(client, clinician, "TRD")
    assessment_id = record(client, clinician, participant_id, "assessments", PHQ9)
    void(client, clinician, participant_id, "assessments", assessment_id, reason="not_done")

    again = void(client, clinician, participant_id, "assessments", assessment_id, reason="not_done")

    assert again.status_code == 409


def test_another_participants_record_is_not_found(client: FlaskClient, clinician: ApiUser) -> None:
    owner = enrol(client, clinician, "TRD")
    assessment_id = record(client, clinician, owner, "assessments", PHQ9)
    other = enrol(client, clinician, "TRD")

    response = void(client, clinician, other, "assessments", assessment_id, reason="not_done")

    assert response.status_code == 404


def test_timeline_keeps_the_voided_assessment(
    client: FlaskClient, clinician: ApiUser, api_user: Callable[..., ApiUser]
) -> None:
    participant_id = enrol(client, clinician, "TRD")
    assessment_id = record(client, clinician, participant_id, "assessments", PHQ9)
    void(
        client, clinician, participant_id, "assessments", assessment_id, reason="wrong_participant"
    )
    admin = api_user(Role.ADMIN)

    timeline = client.get(f"{URL}/{participant_id}/timeline", headers=admin.headers).get_json()

    assert [a["instrument"] for a in timeline["assessments"]] == ["PHQ9"]
    assert "assessment.void" in [event["action"] for event in timeline["events"]]


# -- on the page ----------------------------------------------------------------------------


@pytest.fixture
def clinician_web(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> FlaskClient:
    sign_in(create_account(Role.CLINICIAN))
    return client


def phq9_on_the_page(client: FlaskClient, participant_id: str) -> int:
    url = f"/participants/{participant_id}/assessments/new?instrument=PHQ9"
    answers = {f"item_{n}": "1" for n in range(1, 10)}
    response = post_form(client, url, {"administered_on": "2026-03-03", **answers})
    assert response.status_code == 302
    page = page_of(client.get(f"/participants/{participant_id}"))
    link = next(href for href in page.links if href.endswith("/void"))
    return int(link.split("/")[-2])


def test_void_page_says_what_voiding_does_and_voids_with_a_reason(
    clinician_web: FlaskClient,
) -> None:
    participant_id = enrolled(clinician_web, "TRD")
    assessment_id = phq9_on_the_page(clinician_web, participant_id)
    url = f"/participants/{participant_id}/assessments/{assessment_id}/void"

    check = page_of(clinician_web.get(url))
    response = post_form(clinician_web, url, {"reason": "wrong_participant"})

    shown = page_of(clinician_web.get(f"/participants/{participant_id}"))
    assert "no longer count in their latest scores" in check.text
    assert "Total 9, mild" in check.text_of("void-record")
    assert response.status_code == 302
    assert shown.text_of("notice").endswith(
        "PHQ-9 of 3 March 2026 voided: entered against the wrong patient."
    )
    assert "None recorded yet." in shown.text_of("scores")


def test_void_page_without_a_reason_says_so_and_voids_nothing(
    clinician_web: FlaskClient,
) -> None:
    participant_id = enrolled(clinician_web, "TRD")
    assessment_id = phq9_on_the_page(clinician_web, participant_id)
    url = f"/participants/{participant_id}/assessments/{assessment_id}/void"

    response = post_form(clinician_web, url, {})

    page = page_of(response)
    assert response.status_code == 422
    assert page.summary == [("#reason", "Select why it is void.")]
    assert "PHQ-9" in page_of(clinician_web.get(f"/participants/{participant_id}")).text_of(
        "scores"
    )


# -- scales in words and the risk prompt -------------------------------------------------------


def test_phq9_page_asks_each_question_in_its_words_with_answers_in_words(
    clinician_web: FlaskClient,
) -> None:
    participant_id = enrolled(clinician_web, "TRD")

    page = page_of(
        clinician_web.get(f"/participants/{participant_id}/assessments/new?instrument=PHQ9")
    )

    assert "Over the last 2 weeks" in page.text_of("stem")
    assert "9. Thoughts that you would be better off dead" in page.text
    for words in ("Not at all", "Several days", "More than half the days", "Nearly every day"):
        assert words in page.text


def save_phq9(client: FlaskClient, participant_id: str, item_9: str) -> Any:
    url = f"/participants/{participant_id}/assessments/new?instrument=PHQ9"
    answers = {f"item_{n}": "1" for n in range(1, 9)} | {"item_9": item_9}
    response = post_form(client, url, {"administered_on": TODAY.isoformat(), **answers})
    assert response.status_code == 302
    return page_of(client.get(response.headers["Location"]))


def test_phq9_with_item_9_above_0_prompts_the_risk_procedure_and_records_it(
    app: Flask, clinician_web: FlaskClient
) -> None:
    participant_id = enrolled(clinician_web, "TRD")

    shown = save_phq9(clinician_web, participant_id, "2")

    again = page_of(clinician_web.get(f"/participants/{participant_id}"))
    prompt = shown.text_of("risk-prompt")
    assert "Follow your service's risk procedure" in prompt
    assert '"More than half the days"' in prompt
    assert again.text_of("risk-prompt") == ""  # shown once, with the confirmation
    with app.app_context():
        assessment = session().scalar(select(Assessment))
        assert assessment is not None and assessment.risk_prompt_shown_at is not None


def test_phq9_with_item_9_at_0_gives_no_prompt(app: Flask, clinician_web: FlaskClient) -> None:
    participant_id = enrolled(clinician_web, "TRD")

    shown = save_phq9(clinician_web, participant_id, "0")

    assert shown.text_of("risk-prompt") == ""
    with app.app_context():
        assessment = session().scalar(select(Assessment))
        assert assessment is not None and assessment.risk_prompt_shown_at is None
