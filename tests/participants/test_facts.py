"""The participant facts row (what eligibility queries and reports read) after each kind of
change made through the API: enrolment, an assessment, a treatment trial, a correction."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import clock
from registry.consents.items import CONSENT_ITEMS
from registry.db import session
from registry.participants.models import Participant, ParticipantFacts
from tests.conftest import ApiUser, enrol, enrolment_body

pytestmark = pytest.mark.usefixtures("consent_forms")

URL = "/api/v1/participants"


def enrol_with_items(client: FlaskClient, user: ApiUser, **items: bool) -> str:
    body = enrolment_body("TRD")
    body["consent"]["items"].update(items)
    response = client.post(URL, json=body, headers=user.headers)
    assert response.status_code == 201, response.get_json()
    participant_id: str = response.get_json()["participant_id"]
    return participant_id


def facts_of(app: Flask, participant_id: str) -> dict[str, Any]:
    """The participant's facts row, as plain column values."""
    with app.app_context():
        facts = session().scalar(
            select(ParticipantFacts)
            .join(Participant, Participant.id == ParticipantFacts.participant_pk)
            .where(Participant.participant_id == participant_id)
        )
        assert facts is not None
        return {column.key: getattr(facts, column.key) for column in ParticipantFacts.__table__.c}


def assess(
    client: FlaskClient, user: ApiUser, participant_id: str, instrument: str, on: str, total: int
) -> None:
    response = client.post(
        f"{URL}/{participant_id}/assessments",
        json={"instrument": instrument, "administered_on": on, "total": total},
        headers=user.headers,
    )
    assert response.status_code == 201, response.get_json()


def trial(client: FlaskClient, user: ApiUser, participant_id: str, **overrides: Any) -> Any:
    body = {
        "drug": "sertraline",
        "started_on": "2025-07",
        "adequate_dose": True,
        "weeks": 8,
        "outcome": "non_response",
        **overrides,
    }
    response = client.post(
        f"{URL}/{participant_id}/treatment-trials", json=body, headers=user.headers
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()


# -- enrolment ----------------------------------------------------------------------------------


def test_facts_after_enrolment_hold_the_coarse_attributes(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, "EP", date_of_birth="2001-02-03", ethnicity="M")

    facts = facts_of(app, participant_id)

    assert facts["cohort"] == "EP"
    assert facts["site_id"] == clinician.account.user.site_id
    assert facts["birth_month_start"] == dt.date(2001, 2, 1)
    assert (facts["ethnicity"], facts["ethnicity_group"]) == ("M", "black")
    assert (facts["sex"], facts["gender_identity"]) == ("female", "2")
    assert facts["imd_decile"] == 2
    assert facts["postcode_district"] == "B15"
    assert facts["diagnosis_icd10"] == "F20.0"
    assert facts["psychosis_onset"] == dt.date(2025, 9, 1)
    assert facts["episode_start"] is None
    assert facts["enrolled_on"] == clock.today()
    assert facts["failed_adequate_trials"] == 0
    assert facts["failed_trials_definition"] == "eu-pearl-2022@2"
    assert all(facts[f"score_{code}"] is None for code in ("phq9", "gad7", "panss", "madrs"))


def test_facts_after_enrolment_hold_each_consent_answer(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    refused = {"samples", "commercial_partners", "record_linkage"}
    participant_id = enrol_with_items(client, clinician, **dict.fromkeys(refused, False))

    facts = facts_of(app, participant_id)

    assert {item: facts[f"consent_{item}"] for item in CONSENT_ITEMS} == {
        item: item not in refused for item in CONSENT_ITEMS
    }


@pytest.mark.parametrize(
    ("contact_for_research", "contactable"),
    [pytest.param(True, True, id="agreed"), pytest.param(False, False, id="declined")],
)
def test_facts_contactable_follows_consent_to_contact(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    contact_for_research: bool,
    contactable: bool,
) -> None:
    participant_id = enrol_with_items(client, clinician, contact_for_research=contact_for_research)

    facts = facts_of(app, participant_id)

    assert facts["consent_registry_storage"] is True
    assert facts["contactable"] is contactable


def test_facts_unknown_imd_is_null(app: Flask, client: FlaskClient, clinician: ApiUser) -> None:
    participant_id = enrol(client, clinician, imd_decile=None, imd_version=None)

    assert facts_of(app, participant_id)["imd_decile"] is None


def test_facts_trd_enrolment_holds_the_episode_month(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, "TRD", date_of_birth="1990-04-12")

    facts = facts_of(app, participant_id)

    assert (facts["episode_start"], facts["psychosis_onset"]) == (dt.date(2025, 6, 1), None)
    assert facts["birth_month_start"] == dt.date(1990, 4, 1)


# -- assessments --------------------------------------------------------------------------------


def test_facts_score_is_the_latest_assessment_by_date_not_by_entry(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)
    assess(client, clinician, participant_id, "PHQ9", "2026-11-20", 12)

    assess(client, clinician, participant_id, "PHQ9", "2026-10-01", 22)  # older, entered later

    assert facts_of(app, participant_id)["score_phq9"] == 12
    assess(client, clinician, participant_id, "PHQ9", "2026-11-25", 4)
    assert facts_of(app, participant_id)["score_phq9"] == 4


def test_facts_scores_of_each_instrument_are_kept_apart(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    assess(client, clinician, participant_id, "PHQ9", "2026-11-20", 12)
    assess(client, clinician, participant_id, "GAD7", "2026-11-02", 9)
    assess(client, clinician, participant_id, "MADRS", "2026-11-21", 30)

    facts = facts_of(app, participant_id)
    assert (facts["score_phq9"], facts["score_gad7"], facts["score_madrs"]) == (12, 9, 30)
    assert facts["score_hamd17"] is None


def test_facts_same_day_assessments_keep_the_one_entered_last(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)
    assess(client, clinician, participant_id, "PHQ9", "2026-11-20", 12)

    assess(client, clinician, participant_id, "PHQ9", "2026-11-20", 14)

    assert facts_of(app, participant_id)["score_phq9"] == 14


def test_latest_scores_shown_agree_with_the_facts(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)
    assess(client, clinician, participant_id, "PHQ9", "2026-11-20", 12)
    assess(client, clinician, participant_id, "PHQ9", "2026-10-01", 22)

    shown = client.get(f"{URL}/{participant_id}", headers=clinician.headers).get_json()

    assert shown["latest_scores"]["PHQ9"] == {
        "total": 12,
        "band": "moderate",
        "administered_on": "2026-11-20",
        "administered_month": "2026-11",
    }
    assert facts_of(app, participant_id)["score_phq9"] == 12


# -- treatment trials ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trial_values", "counted"),
    [
        pytest.param({}, 1, id="adequate-8-weeks-non-response"),
        pytest.param({"weeks": 4}, 1, id="exactly-4-weeks"),
        pytest.param({"weeks": 3}, 0, id="3-weeks"),
        pytest.param({"adequate_dose": False}, 0, id="inadequate-dose"),
        pytest.param({"outcome": "partial_response"}, 0, id="partial-response"),
        pytest.param({"outcome": "intolerance"}, 0, id="intolerance"),
        pytest.param({"outcome": "response"}, 0, id="response"),
    ],
)
def test_facts_failed_adequate_trials_under_eu_pearl(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    trial_values: dict[str, Any],
    counted: int,
) -> None:
    participant_id = enrol(client, clinician)

    recorded = trial(client, clinician, participant_id, **trial_values)

    assert recorded["counts_as_failed"] is bool(counted)
    assert recorded["failed_adequate_trials"] == counted
    assert recorded["failed_trials_definition"] == "eu-pearl-2022@2"
    facts = facts_of(app, participant_id)
    assert (facts["failed_adequate_trials"], facts["failed_trials_definition"]) == (
        counted,
        "eu-pearl-2022@2",
    )


def test_facts_failed_adequate_trials_accumulate(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)

    trial(client, clinician, participant_id, drug="sertraline")
    trial(client, clinician, participant_id, drug="citalopram", weeks=3)
    trial(client, clinician, participant_id, drug="mirtazapine", outcome="intolerance")
    last = trial(client, clinician, participant_id, drug="venlafaxine", weeks=6)

    assert last["failed_adequate_trials"] == 2
    assert facts_of(app, participant_id)["failed_adequate_trials"] == 2
    seen = client.get(f"{URL}/{participant_id}", headers=clinician.headers)
    assert seen.get_json()["failed_adequate_trials"] == 2


def test_facts_failed_trials_follow_the_configured_definition(
    app: Flask, client: FlaskClient, clinician: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(
        app.config["SETTINGS"], failed_trials_definition="operational-6-weeks"
    )
    monkeypatch.setitem(app.config, "SETTINGS", settings)
    participant_id = enrol(client, clinician)

    trial(client, clinician, participant_id, outcome="partial_response", weeks=6)
    last = trial(client, clinician, participant_id, weeks=4)

    assert last["failed_adequate_trials"] == 1
    facts = facts_of(app, participant_id)
    assert (facts["failed_adequate_trials"], facts["failed_trials_definition"]) == (
        1,
        "operational-6-weeks@2",
    )


# -- corrections --------------------------------------------------------------------------------


def test_facts_follow_a_demographic_correction(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)  # H, Asian; IMD 2
    assess(client, clinician, participant_id, "PHQ9", "2026-11-20", 12)

    response = client.patch(
        f"{URL}/{participant_id}",
        json={"ethnicity": "D", "imd_decile": 9, "imd_version": "IoD2025", "sex": "not_stated"},
        headers=clinician.headers,
    )

    assert response.status_code == 200, response.get_json()
    facts = facts_of(app, participant_id)
    assert (facts["ethnicity"], facts["ethnicity_group"]) == ("D", "mixed")
    assert (facts["imd_decile"], facts["sex"]) == (9, "not_stated")
    assert facts["score_phq9"] == 12  # the rest of the row survives the refresh
    assert facts["contactable"] is True


def test_facts_follow_a_decile_cleared(app: Flask, client: FlaskClient, clinician: ApiUser) -> None:
    participant_id = enrol(client, clinician)

    response = client.patch(
        f"{URL}/{participant_id}", json={"imd_decile": None}, headers=clinician.headers
    )

    assert response.status_code == 200, response.get_json()
    assert (response.get_json()["imd_decile"], response.get_json()["imd_version"]) == (None, None)
    assert facts_of(app, participant_id)["imd_decile"] is None


def test_facts_follow_a_postcode_correction(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician)  # B15 2TT

    response = client.patch(
        f"{URL}/{participant_id}", json={"postcode": "LS1 4AP"}, headers=clinician.headers
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["postcode_district"] == "LS1"
    assert facts_of(app, participant_id)["postcode_district"] == "LS1"
