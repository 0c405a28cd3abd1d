"""The new scales and response and remission through the API and into the facts row: what
a clinician's client sends, what the facts row then says, and that the bulk refresh (the
demo seed's path) derives the same row as the per-change refresh."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from registry.db import session
from registry.facts.derive import refresh_facts_for
from registry.facts.outcomes import OUTCOME_COLUMNS
from registry.participants.models import Participant, ParticipantFacts
from tests.conftest import ApiUser, enrol

pytestmark = pytest.mark.usefixtures("consent_forms")

URL = "/api/v1/participants"


def post(client: FlaskClient, user: ApiUser, participant_id: str, body: dict[str, Any]) -> Any:
    return client.post(f"{URL}/{participant_id}/assessments", json=body, headers=user.headers)


def total(
    client: FlaskClient, user: ApiUser, participant_id: str, code: str, on: str, value: int
) -> None:
    body = {"instrument": code, "administered_on": on, "total": value}
    response = post(client, user, participant_id, body)
    assert response.status_code == 201, response.get_json()


def facts_of(participant_id: str) -> dict[str, Any]:
    facts = session().scalar(
        select(ParticipantFacts)
        .join(Participant, Participant.id == ParticipantFacts.participant_pk)
        .where(Participant.participant_id == participant_id)
        .execution_options(populate_existing=True)  # as stored, not as last loaded
    )
    assert facts is not None
    return {column.key: getattr(facts, column.key) for column in ParticipantFacts.__table__.c}


def outcome_of(participant_id: str) -> dict[str, Any]:
    facts = facts_of(participant_id)
    return {name: facts[name] for name in OUTCOME_COLUMNS}


# -- the new scales ---------------------------------------------------------------------------


def test_psp_items_are_refused_with_the_licence_named_and_nothing_stored(
    app_ctx: None, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, "EP")
    body = {"instrument": "PSP", "administered_on": "2026-11-20", "items": [2, 2, 3, 1]}

    response = post(client, clinician, participant_id, body)

    assert response.status_code == 422
    assert response.get_json()["error"]["fields"]["items"] == [
        "The PSP licence does not allow its item scores to be stored: give the total only."
    ]
    assert facts_of(participant_id)["score_psp"] is None


def test_psp_total_is_recorded_banded_and_becomes_the_latest_score(
    app_ctx: None, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, "EP")

    response = post(
        client,
        clinician,
        participant_id,
        {"instrument": "PSP", "administered_on": "2026-11-20", "total": 45},
    )

    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["band"], response.get_json()["items"]) == (
        "variable disability",
        None,
    )
    assert facts_of(participant_id)["score_psp"] == 45


def test_cssrs_screen_answers_give_a_risk_band_and_its_level_is_the_latest_score(
    app_ctx: None, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, "EP")
    body = {
        "instrument": "CSSRS_SCREEN",
        "administered_on": "2026-11-20",
        "items": [1, 1, 0, 1, 0, 0, 0],
    }

    response = post(client, clinician, participant_id, body)

    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["total"], response.get_json()["band"]) == (3, "high risk")
    assert facts_of(participant_id)["score_cssrs_screen"] == 3


@pytest.mark.parametrize(
    ("code", "items", "column", "expected"),
    [
        ("SOFAS", [55], "score_sofas", 55),
        ("CGI_I", [2], "score_cgi_i", 2),
        ("CDSS", [1, 1, 1, 1, 1, 1, 1, 0, 0], "score_cdss", 7),
    ],
)
def test_new_scale_items_become_its_latest_score(
    app_ctx: None,
    client: FlaskClient,
    clinician: ApiUser,
    code: str,
    items: list[int],
    column: str,
    expected: int,
) -> None:
    participant_id = enrol(client, clinician, "EP")

    response = post(
        client,
        clinician,
        participant_id,
        {"instrument": code, "administered_on": "2026-11-20", "items": items},
    )

    assert response.status_code == 201, response.get_json()
    assert facts_of(participant_id)[column] == expected


# -- response and remission in the facts row ---------------------------------------------------


def test_trd_series_gives_response_and_remission_in_the_facts(
    app_ctx: None, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, "TRD")  # episode from 2025-06
    total(client, clinician, participant_id, "MADRS", "2025-07-01", 30)
    total(client, clinician, participant_id, "MADRS", "2025-10-01", 10)

    outcome = outcome_of(participant_id)

    assert outcome["outcome_scale"] == "MADRS"
    assert (outcome["outcome_baseline_total"], outcome["outcome_latest_total"]) == (30, 10)
    assert (outcome["response"], outcome["remission"]) == (True, True)
    assert outcome["outcome_definitions"] == "2026-12"


def test_trd_without_a_series_has_unknown_outcome_under_the_current_definitions(
    app_ctx: None, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, "TRD")
    total(client, clinician, participant_id, "MADRS", "2025-07-01", 30)

    outcome = outcome_of(participant_id)

    assert (outcome["response"], outcome["remission"], outcome["outcome_scale"]) == (
        None,
        None,
        None,
    )
    assert outcome["outcome_definitions"] == "2026-12"


def test_ep_has_no_outcome_derived(app_ctx: None, client: FlaskClient, clinician: ApiUser) -> None:
    participant_id = enrol(client, clinician, "EP")
    total(client, clinician, participant_id, "MADRS", "2025-10-01", 30)
    total(client, clinician, participant_id, "MADRS", "2025-12-01", 10)

    assert set(outcome_of(participant_id).values()) == {None}


def test_bulk_refresh_derives_the_same_facts_as_each_change(
    app: Flask, app_ctx: None, client: FlaskClient, clinician: ApiUser
) -> None:
    series = {
        "responded": [("MADRS", "2025-07-01", 30), ("MADRS", "2025-10-01", 15)],
        "remitted": [("PHQ9", "2025-07-01", 20), ("PHQ9", "2025-09-01", 4)],
        "neither": [("HAMD17", "2025-07-01", 25), ("HAMD17", "2025-09-01", 13)],
        "other scale": [("MADRS", "2025-07-01", 30), ("QIDS_SR16", "2025-09-01", 3)],
        "none": [],
    }
    ids = {}
    for name, ratings in series.items():
        ids[name] = enrol(client, clinician, "TRD")
        for code, on, value in ratings:
            total(client, clinician, ids[name], code, on, value)
    ids["ep"] = enrol(client, clinician, "EP")
    each_change = {name: facts_of(participant_id) for name, participant_id in ids.items()}
    pks = [facts["participant_pk"] for facts in each_change.values()]
    session().execute(
        update(ParticipantFacts)
        .where(ParticipantFacts.participant_pk.in_(pks))
        .values({name: None for name in OUTCOME_COLUMNS} | {"score_madrs": None})
    )

    refresh_facts_for(pks)

    bulk = {name: facts_of(participant_id) for name, participant_id in ids.items()}
    assert bulk == each_change
    assert [bulk[name]["response"] for name in series] == [True, True, False, None, None]
