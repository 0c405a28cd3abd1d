"""Correcting a mistyped NHS number or date of birth through ``PATCH /participants/{id}``
(issue #21): enrolment's checks, the value replaced kept only sealed, the audit log naming
fields and never values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry.audit.models import AuditEvent
from registry.auth.permissions import Role
from registry.db import session
from registry.participants.models import Participant, ParticipantCorrection, ParticipantFacts
from tests.conftest import ApiUser, enrol, new_nhs_number

pytestmark = pytest.mark.usefixtures("consent_forms")

URL = "/api/v1/participants"
REASON = "Two digits swapped when typed from the referral letter"


def _bad_check_digit(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


@pytest.fixture
def clinician(api_user: Callable[..., ApiUser]) -> ApiUser:
    return api_user(Role.CLINICIAN)


def patch(client: FlaskClient, user: ApiUser, participant_id: str, body: dict[str, Any]) -> Any:
    return client.patch(f"{URL}/{participant_id}", json=body, headers=user.headers)


def search(client: FlaskClient, user: ApiUser, number: str) -> int:
    response = client.post(f"{URL}/search", json={"nhs_number": number}, headers=user.headers)
    return response.status_code


def test_corrected_nhs_number_is_found_by_the_new_number_only(
    client: FlaskClient, clinician: ApiUser
) -> None:
    old = new_nhs_number()
    participant_id = enrol(client, clinician, nhs_number=old)
    new = new_nhs_number()

    response = patch(client, clinician, participant_id, {"nhs_number": new, "reason": REASON})

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["nhs_number"] == f"{new[:3]} {new[3:6]} {new[6:]}"
    assert search(client, clinician, new) == 200
    assert search(client, clinician, old) == 404


def test_corrected_number_keeps_the_old_one_only_sealed(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    old = new_nhs_number()
    participant_id = enrol(client, clinician, nhs_number=old)

    patch(client, clinician, participant_id, {"nhs_number": new_nhs_number(), "reason": REASON})

    with app.app_context():
        correction = session().scalar(select(ParticipantCorrection))
        assert correction is not None and correction.field == "nhs_number"
        assert correction.prior_sealed is not None and old.encode() not in correction.prior_sealed
        assert correction.reason_sealed is not None
        assert REASON.encode() not in correction.reason_sealed
        event = session().scalar(
            select(AuditEvent).where(AuditEvent.action == "participant.correct_identifier")
        )
        assert event is not None and event.participant_id == participant_id
        assert old not in str(event.details) and "Two digits" not in str(event.details)


def test_corrected_date_of_birth_moves_the_facts_birth_month(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, date_of_birth="1990-04-12")

    response = patch(
        client, clinician, participant_id, {"date_of_birth": "1991-04-21", "reason": REASON}
    )

    assert response.status_code == 200, response.get_json()
    assert response.get_json()["date_of_birth"] == "1991-04-21"
    with app.app_context():
        person = session().scalar(
            select(Participant).where(Participant.participant_id == participant_id)
        )
        assert person is not None
        facts = session().get(ParticipantFacts, person.id)
        assert facts is not None and str(facts.birth_month_start) == "1991-04-01"


REFUSALS = [
    pytest.param(
        {"nhs_number": "CHECK", "reason": REASON},
        "nhs_number",
        "This NHS number is not valid: check it has been typed correctly.",
        id="modulus-11",
    ),
    pytest.param(
        {"nhs_number": "SAME", "reason": REASON},
        "nhs_number",
        "This is already their NHS number.",
        id="same-number",
    ),
    pytest.param(
        {"nhs_number": "NEW"},
        "reason",
        "Say why the NHS number or date of birth was wrong.",
        id="no-reason",
    ),
    pytest.param(
        {"email": "new@example.org", "reason": REASON},
        "reason",
        "A reason goes with a corrected NHS number or date of birth.",
        id="reason-without-identifier",
    ),
    pytest.param(
        {"date_of_birth": "2015-01-01", "reason": REASON},
        "date_of_birth",
        "The TRD cohort is for people aged 18 or over.",
        id="outside-cohort-ages",
    ),
    pytest.param(
        {"date_of_birth": "2999-01-01", "reason": REASON},
        "date_of_birth",
        "This date is in the future.",
        id="future-birth",
    ),
]


@pytest.mark.parametrize(("body", "field", "message"), REFUSALS)
def test_bad_identifier_correction_is_refused_and_changes_nothing(
    client: FlaskClient, clinician: ApiUser, body: dict[str, Any], field: str, message: str
) -> None:
    number = new_nhs_number()
    participant_id = enrol(client, clinician, nhs_number=number)
    given = {
        **body,
        **(
            {
                "nhs_number": {"CHECK": _bad_check_digit(number), "SAME": number}.get(
                    body["nhs_number"], new_nhs_number()
                )
            }
            if "nhs_number" in body
            else {}
        ),
    }

    response = patch(client, clinician, participant_id, given)

    assert response.status_code == 422
    assert response.get_json()["error"]["fields"][field] == [message]
    assert search(client, clinician, number) == 200  # still theirs


def test_correction_to_another_participants_number_is_a_duplicate(
    client: FlaskClient, clinician: ApiUser
) -> None:
    taken = new_nhs_number()
    enrol(client, clinician, nhs_number=taken)
    participant_id = enrol(client, clinician)

    response = patch(client, clinician, participant_id, {"nhs_number": taken, "reason": REASON})

    assert response.status_code == 409
    assert taken not in response.get_data(as_text=True)


# A corrected birth must still come before every date the record holds, as at enrolment: the
# cohort's age rule alone let a birth move past a psychosis onset or episode start years
# before enrolment, or past a rating recorded since.
BORN_AFTER_THE_RECORD = [
    pytest.param(
        "TRD",
        {
            "date_of_birth": "1985-03-01",
            "clinical": {"diagnosis_icd10": "F33.2", "episode_start": "2000-01"},
        },
        "2005-03-01",  # 21 at enrolment: within the TRD ages
        "The episode start (January 2000) is before this date of birth.",
        id="trd-episode-start",
    ),
    pytest.param(
        "EP",
        {
            "date_of_birth": "2001-02-03",
            "clinical": {"diagnosis_icd10": "F20.0", "psychosis_onset": "2012-03"},
        },
        "2012-06-01",  # 14 at enrolment: within the EP ages
        "The psychosis onset (March 2012) is before this date of birth.",
        id="ep-psychosis-onset",
    ),
]


@pytest.mark.parametrize(("cohort", "enrolment", "birth", "message"), BORN_AFTER_THE_RECORD)
def test_corrected_birth_after_the_records_clinical_month_is_refused_and_changes_nothing(
    client: FlaskClient,
    clinician: ApiUser,
    cohort: str,
    enrolment: dict[str, Any],
    birth: str,
    message: str,
) -> None:
    participant_id = enrol(client, clinician, cohort, **enrolment)

    response = patch(client, clinician, participant_id, {"date_of_birth": birth, "reason": REASON})

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["fields"] == {"date_of_birth": [message]}
    shown = client.get(f"{URL}/{participant_id}", headers=clinician.headers).get_json()
    assert shown["date_of_birth"] == enrolment["date_of_birth"]


def test_corrected_birth_after_several_of_the_records_dates_is_refused_for_each(
    client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(
        client,
        clinician,
        "TRD",
        date_of_birth="1985-03-01",
        clinical={"diagnosis_icd10": "F33.2", "episode_start": "2000-01"},
    )
    for path, body in (
        ("assessments", {"instrument": "PHQ9", "administered_on": "2004-05-01", "total": 12}),
        (
            "treatment-trials",
            {
                "drug": "sertraline",
                "started_on": "2003-07",
                "adequate_dose": True,
                "weeks": 8,
                "outcome": "non_response",
            },
        ),
    ):
        recorded = client.post(
            f"{URL}/{participant_id}/{path}", json=body, headers=clinician.headers
        )
        assert recorded.status_code == 201, recorded.get_json()

    response = patch(
        client, clinician, participant_id, {"date_of_birth": "2005-03-01", "reason": REASON}
    )

    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["fields"]["date_of_birth"] == [
        "The episode start (January 2000) is before this date of birth.",
        "An assessment was done on 1 May 2004, before this date of birth.",
        "A treatment trial began in July 2003, before this date of birth.",
    ]


def test_corrected_birth_in_the_onset_month_itself_is_accepted(
    client: FlaskClient, clinician: ApiUser
) -> None:
    """Months are recorded without a day: a birth later in the onset's month may be right."""
    participant_id = enrol(
        client,
        clinician,
        "EP",
        date_of_birth="2001-02-03",
        clinical={"diagnosis_icd10": "F20.0", "psychosis_onset": "2012-03"},
    )

    response = patch(
        client, clinician, participant_id, {"date_of_birth": "2012-03-20", "reason": REASON}
    )

    assert response.status_code == 200, response.get_json()
