"""Assessments and treatment trials entered through the API against a participant.

Scoring itself is tested in ``test_instruments``; here: what a clinician's client sends and
gets back, what is refused (422, naming the field, nothing written), and who may do it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import clock
from registry.assessments.models import Assessment, TreatmentTrial
from registry.audit.models import AuditEvent
from registry.db import session
from tests.conftest import ApiUser, enrol

pytestmark = pytest.mark.usefixtures("consent_forms")

URL = "/api/v1/participants"
TODAY = clock.today()
TOMORROW = (TODAY + dt.timedelta(days=1)).isoformat()

# PANSS: 7 positive, 7 negative, 16 general items, each 1-7.
PANSS_ITEMS = [4, 3, 5, 2, 1, 6, 2] + [3, 3, 2, 4, 1, 2, 3] + [2] * 8 + [1] * 8
TRIAL = {
    "drug": "sertraline",
    "started_on": "2025-07",
    "adequate_dose": True,
    "weeks": 8,
    "outcome": "non_response",
}


def clinical_counts(app: Flask) -> tuple[int, int, int]:
    """(assessments, treatment trials, audit events) in the database now."""
    with app.app_context():
        db = session()
        return tuple(  # type: ignore[return-value]
            int(db.scalar(select(func.count()).select_from(model)) or 0)
            for model in (Assessment, TreatmentTrial, AuditEvent)
        )


@pytest.fixture
def trd_participant(client: FlaskClient, clinician: ApiUser) -> str:
    return enrol(client, clinician, "TRD")


@pytest.fixture
def ep_participant(client: FlaskClient, clinician: ApiUser) -> str:
    return enrol(client, clinician, "EP")


def post_assessment(
    client: FlaskClient, user: ApiUser, participant_id: str, body: dict[str, Any]
) -> Any:
    return client.post(f"{URL}/{participant_id}/assessments", json=body, headers=user.headers)


# -- recorded -----------------------------------------------------------------------------------


def test_assessment_items_give_total_band_and_subscales(
    client: FlaskClient, clinician: ApiUser, ep_participant: str
) -> None:
    body = {"instrument": "PANSS", "administered_on": "2026-11-20", "items": PANSS_ITEMS}

    response = post_assessment(client, clinician, ep_participant, body)

    assert response.status_code == 201, response.get_json()
    recorded = response.get_json()
    assert recorded["instrument"] == "PANSS"
    assert recorded["total"] == 23 + 18 + 24 == 65
    assert recorded["band"] == "mildly ill"
    assert recorded["subscales"] == {"positive": 23, "negative": 18, "general": 24}
    assert recorded["items"] == PANSS_ITEMS
    assert recorded["administered_on"] == "2026-11-20"
    assert recorded["scale_version"]


def test_assessment_items_of_a_scale_without_subscales(
    client: FlaskClient, clinician: ApiUser, trd_participant: str
) -> None:
    body = {
        "instrument": "PHQ9",
        "administered_on": "2026-11-20",
        "items": [2, 2, 1, 1, 2, 1, 1, 1, 0],
    }

    response = post_assessment(client, clinician, trd_participant, body)

    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["total"], response.get_json()["band"]) == (11, "moderate")
    assert response.get_json()["subscales"] is None


def test_assessment_domain_scored_scale_totals_each_domains_highest_item(
    client: FlaskClient, clinician: ApiUser, trd_participant: str
) -> None:
    # Sleep items 1-4 score 3, 1, 0, 0: the sleep domain counts 3, not 4.
    items = [*[3, 1, 0, 0], 2, *[1, 0, 2, 0], *[1, 1, 0, 1, 2], *[0, 1]]
    body = {"instrument": "QIDS_SR16", "administered_on": "2026-11-20", "items": items}

    response = post_assessment(client, clinician, trd_participant, body)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["total"] == 3 + 2 + 2 + 1 + 1 + 0 + 1 + 2 + 1


def test_assessment_total_only_is_banded_without_items(
    client: FlaskClient, clinician: ApiUser, trd_participant: str
) -> None:
    body = {"instrument": "PHQ9", "administered_on": "2026-11-20", "total": 17}

    response = post_assessment(client, clinician, trd_participant, body)

    assert response.status_code == 201, response.get_json()
    recorded = response.get_json()
    assert (recorded["total"], recorded["band"]) == (17, "moderately severe")
    assert (recorded["items"], recorded["subscales"]) == (None, None)


def test_assessment_today_is_accepted(
    client: FlaskClient, clinician: ApiUser, trd_participant: str
) -> None:
    body = {"instrument": "CGI_S", "administered_on": TODAY.isoformat(), "items": [4]}

    response = post_assessment(client, clinician, trd_participant, body)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["band"] == "moderately ill"


def test_assessment_is_audited_without_identifiers(
    app: Flask, client: FlaskClient, clinician: ApiUser, trd_participant: str
) -> None:
    body = {"instrument": "PHQ9", "administered_on": "2026-11-20", "total": 12}

    post_assessment(client, clinician, trd_participant, body)

    with app.app_context():
        event = session().scalar(
            select(AuditEvent).where(
                AuditEvent.action == "assessment.record",
                AuditEvent.participant_id == trd_participant,
            )
        )
        assert event is not None
        assert event.actor == f"user:{clinician.account.user.id}"
        assert "Ada" not in event.details and "B15" not in event.details


def test_assessment_list_is_newest_first(
    client: FlaskClient, clinician: ApiUser, trd_participant: str
) -> None:
    for day, total in (("2026-11-01", 10), ("2026-11-20", 7), ("2026-09-15", 21)):
        body = {"instrument": "PHQ9", "administered_on": day, "total": total}
        assert post_assessment(client, clinician, trd_participant, body).status_code == 201

    response = client.get(f"{URL}/{trd_participant}/assessments", headers=clinician.headers)

    assert response.status_code == 200
    assert [(a["administered_on"], a["total"]) for a in response.get_json()] == [
        ("2026-11-20", 7),
        ("2026-11-01", 10),
        ("2026-09-15", 21),
    ]


def test_assessment_list_of_a_participant_without_any_is_empty(
    client: FlaskClient, clinician: ApiUser, trd_participant: str
) -> None:
    response = client.get(f"{URL}/{trd_participant}/assessments", headers=clinician.headers)

    assert (response.status_code, response.get_json()) == (200, [])


# -- refused ------------------------------------------------------------------------------------

PHQ9_OK = [1] * 9

INVALID_ASSESSMENTS: list[Any] = [
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "items": PHQ9_OK, "total": 9},
        "items",
        None,
        id="items-and-total",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20"},
        "items",
        None,
        id="neither-items-nor-total",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "items": [1] * 8},
        "items",
        "PHQ9 has 9 items; 8 were given.",
        id="too-few-items",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "items": [1] * 10},
        "items",
        None,
        id="too-many-items",
    ),
    pytest.param(
        {
            "instrument": "PHQ9",
            "administered_on": "2026-11-20",
            "items": [1, 1, 4, 1, 1, 1, 1, 1, 1],
        },
        "items",
        "Item 3 (Sleep) must be a whole number from 0 to 3.",
        id="item-out-of-range",
    ),
    pytest.param(
        {"instrument": "PANSS", "administered_on": "2026-11-20", "items": [0] + [1] * 29},
        "items",
        "Item 1 (P1 Delusions) must be a whole number from 1 to 7.",
        id="panss-item-below-1",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "items": ["1"] + [1] * 8},
        "items",
        "Item 1 (Little interest or pleasure) must be a whole number from 0 to 3.",
        id="item-a-string",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "items": [True] + [1] * 8},
        "items",
        None,
        id="item-a-boolean",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "items": [1.5] + [1] * 8},
        "items",
        None,
        id="item-a-fraction",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "items": "111111111"},
        "items",
        None,
        id="items-a-string",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "total": 28},
        "total",
        None,
        id="total-out-of-range",
    ),
    pytest.param(
        {"instrument": "PANSS", "administered_on": "2026-11-20", "total": 29},
        "total",
        None,
        id="panss-total-below-30",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "total": "12"},
        "total",
        None,
        id="total-a-string",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "total": None},
        "total",
        None,
        id="total-null",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": TOMORROW, "total": 12},
        "administered_on",
        None,
        id="future-date",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "1985-01-01", "total": 12},
        "administered_on",
        None,
        id="before-birth",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "20/11/2026", "total": 12},
        "administered_on",
        None,
        id="date-not-iso",
    ),
    pytest.param(
        {"instrument": "BDI", "administered_on": "2026-11-20", "total": 12},
        "instrument",
        None,
        id="unknown-instrument",
    ),
    pytest.param(
        {"instrument": "phq9", "administered_on": "2026-11-20", "total": 12},
        "instrument",
        None,
        id="instrument-lowercase",
    ),
    pytest.param(
        {"administered_on": "2026-11-20", "total": 12},
        "instrument",
        None,
        id="instrument-missing",
    ),
    pytest.param(
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "total": 12, "notes": "x"},
        "notes",
        None,
        id="unknown-field",
    ),
]


@pytest.mark.parametrize(("body", "field", "message"), INVALID_ASSESSMENTS)
def test_assessment_invalid_is_refused_and_nothing_written(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    trd_participant: str,
    body: dict[str, Any],
    field: str,
    message: str | None,
) -> None:
    before = clinical_counts(app)

    response = post_assessment(client, clinician, trd_participant, body)

    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "validation_error"
    assert error["fields"].get(field), error
    if message is not None:
        assert message in error["fields"][field]
    assert clinical_counts(app) == before


def test_assessment_every_bad_item_is_named(
    client: FlaskClient, clinician: ApiUser, trd_participant: str
) -> None:
    body = {
        "instrument": "PHQ9",
        "administered_on": "2026-11-20",
        "items": [9, 1, 1, 1, -1, 1, 1, 1, 7],
    }

    response = post_assessment(client, clinician, trd_participant, body)

    messages = response.get_json()["error"]["fields"]["items"]
    assert [m.split(" (")[0] for m in messages] == ["Item 1", "Item 5", "Item 9"]


def test_assessment_by_a_researcher_is_forbidden(
    app: Flask,
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    trd_participant: str,
) -> None:
    researcher = api_user("researcher")
    before = clinical_counts(app)[:2]

    response = post_assessment(
        client,
        researcher,
        trd_participant,
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "total": 12},
    )

    assert response.status_code == 403
    assert clinical_counts(app)[:2] == before
    listed = client.get(f"{URL}/{trd_participant}/assessments", headers=researcher.headers)
    assert listed.status_code == 403


def test_assessment_of_an_unknown_participant_is_404(
    client: FlaskClient, clinician: ApiUser
) -> None:
    response = post_assessment(
        client,
        clinician,
        "P-NOSUCHPERSON",
        {"instrument": "PHQ9", "administered_on": "2026-11-20", "total": 12},
    )

    assert response.status_code == 404


# -- treatment trials ---------------------------------------------------------------------------


def post_trial(client: FlaskClient, user: ApiUser, participant_id: str, **overrides: Any) -> Any:
    return client.post(
        f"{URL}/{participant_id}/treatment-trials",
        json={**TRIAL, **overrides},
        headers=user.headers,
    )


def test_treatment_trial_is_recorded_and_counted(
    client: FlaskClient, clinician: ApiUser, trd_participant: str
) -> None:
    response = post_trial(client, clinician, trd_participant, drug="  Sertraline ")

    assert response.status_code == 201, response.get_json()
    recorded = response.get_json()
    assert recorded["drug"] == "sertraline"
    assert recorded["started_on"] == "2025-07"
    assert (recorded["adequate_dose"], recorded["weeks"], recorded["outcome"]) == (
        True,
        8,
        "non_response",
    )
    assert recorded["counts_as_failed"] is True
    assert recorded["failed_adequate_trials"] == 1
    assert recorded["failed_trials_definition"] == "eu-pearl-2022@2"


def test_treatment_trial_for_an_ep_participant_is_refused(
    app: Flask, client: FlaskClient, clinician: ApiUser, ep_participant: str
) -> None:
    before = clinical_counts(app)

    response = post_trial(client, clinician, ep_participant)

    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "validation_error"
    assert "TRD" in str(response.get_json()["error"]["fields"])
    assert clinical_counts(app) == before


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        pytest.param({"outcome": "worse"}, "outcome", id="outcome-unknown"),
        pytest.param({"weeks": "8"}, "weeks", id="weeks-a-string"),
        pytest.param({"weeks": -1}, "weeks", id="weeks-negative"),
        pytest.param({"weeks": True}, "weeks", id="weeks-a-boolean"),
        pytest.param({"adequate_dose": "yes"}, "adequate_dose", id="dose-yes"),
        pytest.param({"adequate_dose": 1}, "adequate_dose", id="dose-one"),
        pytest.param({"started_on": "2025-07-01"}, "started_on", id="started-a-date"),
        pytest.param(
            {"started_on": f"{(TODAY.replace(day=1) + dt.timedelta(days=32)):%Y-%m}"},
            "started_on",
            id="started-next-month",
        ),
        pytest.param({"started_on": "2025-05"}, "started_on", id="started-before-episode"),
        pytest.param({"drug": "x"}, "drug", id="drug-too-short"),
        pytest.param({"drug": "took it; felt awful!"}, "drug", id="drug-a-sentence"),
        pytest.param({"dose_mg": 100}, "dose_mg", id="unknown-field"),
    ],
)
def test_treatment_trial_invalid_is_refused_and_nothing_written(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    trd_participant: str,
    overrides: dict[str, Any],
    field: str,
) -> None:
    before = clinical_counts(app)

    response = post_trial(client, clinician, trd_participant, **overrides)

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["fields"].get(field)
    assert clinical_counts(app) == before
