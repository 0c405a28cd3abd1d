"""Withdrawal through the API: what each level changes, the moment the admin's request returns.

``no_further_contact`` (W1) takes the person out of every contact list at once and keeps
their data; ``no_further_data`` (W2) also refuses anything new (409 participant_withdrawn);
``full`` (W3) destroys their data key, deletes their clinical rows and facts, and leaves a
tombstone. A withdrawal only becomes stricter, the same level twice is answered with the
record already made, and only admins record one.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from registry import clock
from registry.assessments.models import Assessment, TreatmentTrial
from registry.audit.actions import verify_chain
from registry.audit.models import AuditEvent
from registry.auth.permissions import Role
from registry.cli import main
from registry.consents.models import ConsentItemEvent, ConsentRecord, Withdrawal
from registry.crypto.errors import KeyUnavailable
from registry.crypto.fields import FieldContext
from registry.db import session
from registry.participants.identity import cipher_for, find_by_nhs_number
from registry.participants.models import (
    NhsNumberIndex,
    Participant,
    ParticipantFacts,
    ParticipantKey,
)
from tests.conftest import (
    PASSWORD,
    Account,
    ApiUser,
    csrf_token_from,
    enrolment_body,
    new_nhs_number,
)

pytestmark = pytest.mark.usefixtures("consent_forms")

URL = "/api/v1/participants"
TODAY = clock.today().isoformat()
LEVELS = ("no_further_contact", "no_further_data", "full")
W1, W2, W3 = LEVELS
REASON = "Moving abroad with family; finds the follow-up calls distressing."

ASSESSMENT = {"instrument": "PHQ9", "administered_on": TODAY, "total": 12}
TRIAL = {
    "drug": "sertraline",
    "started_on": "2025-07",
    "adequate_dose": True,
    "weeks": 8,
    "outcome": "non_response",
}
CHANGE = {
    "form_version": "TRD-PIS-2.0",
    "signed_on": TODAY,
    "items": {"commercial_partners": False},
}
CORRECTION = {"email": "a.new.address@example.org"}
# name: (method, path after /participants/<id>, body, status when accepted)
WRITES: dict[str, tuple[str, str, dict[str, Any], int]] = {
    "assessment": ("POST", "/assessments", ASSESSMENT, 201),
    "treatment_trial": ("POST", "/treatment-trials", TRIAL, 201),
    "consent_change": ("POST", "/consents", CHANGE, 201),
    "correction": ("PATCH", "", CORRECTION, 200),
}


# -- helpers (the other withdrawal and re-consent tests use them too) ------------------------


def enrol(client: FlaskClient, clinician: ApiUser, cohort: str = "TRD", **overrides: Any) -> str:
    response = client.post(URL, json=enrolment_body(cohort, **overrides), headers=clinician.headers)
    assert response.status_code == 201, response.get_json()
    participant_id: str = response.get_json()["participant_id"]
    return participant_id


def enrol_answering(client: FlaskClient, clinician: ApiUser, **items: bool) -> str:
    """Enrol someone who answered some consent items differently from yes."""
    body = enrolment_body()
    body["consent"]["items"].update(items)
    response = client.post(URL, json=body, headers=clinician.headers)
    assert response.status_code == 201, response.get_json()
    participant_id: str = response.get_json()["participant_id"]
    return participant_id


def withdraw(
    client: FlaskClient, admin: ApiUser, participant_id: str, level: str, **body: Any
) -> Any:
    """A withdrawal as an admin records it; a full one steps up with the admin's password
    unless the test says how it steps up."""
    if level == W3 and "security_code" not in body:
        body.setdefault("password", PASSWORD)
    return client.post(
        f"{URL}/{participant_id}/withdrawal", json={"level": level, **body}, headers=admin.headers
    )


def withdrawn(
    client: FlaskClient, admin: ApiUser, participant_id: str, level: str, **body: Any
) -> dict[str, Any]:
    """Withdraw, expecting a new record; the response body."""
    response = withdraw(client, admin, participant_id, level, **body)
    assert response.status_code == 201, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


def write(client: FlaskClient, user: ApiUser, participant_id: str, name: str) -> Any:
    method, path, body, _ = WRITES[name]
    return client.open(
        f"{URL}/{participant_id}{path}", method=method, json=body, headers=user.headers
    )


def assert_error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_json()
    error: dict[str, Any] = response.get_json()["error"]
    assert error["code"] == code
    assert error["message"]
    return error


def pk_of(participant_id: str) -> int:
    pk = session().scalar(
        select(Participant.id).where(Participant.participant_id == participant_id)
    )
    assert pk is not None, participant_id
    return pk


def participant_row(app: Flask, participant_id: str) -> dict[str, Any]:
    with app.app_context():
        participant = session().get(Participant, pk_of(participant_id))
        assert participant is not None
        return {c.key: getattr(participant, c.key) for c in Participant.__table__.c}


def facts_row(app: Flask, participant_id: str) -> dict[str, Any] | None:
    with app.app_context():
        facts = session().get(ParticipantFacts, pk_of(participant_id))
        if facts is None:
            return None
        return {c.key: getattr(facts, c.key) for c in ParticipantFacts.__table__.c}


def held_rows(app: Flask, participant_id: str) -> dict[str, int]:
    """How many rows of each kind the database holds for the participant."""
    with app.app_context():
        pk = pk_of(participant_id)
        return {
            model.__tablename__: int(
                session().scalar(
                    select(func.count()).select_from(model).where(model.participant_pk == pk)
                )
                or 0
            )
            for model in (
                Assessment,
                TreatmentTrial,
                ConsentRecord,
                ConsentItemEvent,
                Withdrawal,
                ParticipantKey,
                NhsNumberIndex,
                ParticipantFacts,
            )
        }


def audit_count(app: Flask) -> int:
    with app.app_context():
        return int(session().scalar(select(func.count()).select_from(AuditEvent)) or 0)


def audit_events(app: Flask, participant_id: str) -> list[AuditEvent]:
    with app.app_context():
        return list(
            session().scalars(
                select(AuditEvent)
                .where(AuditEvent.participant_id == participant_id)
                .order_by(AuditEvent.seq)
            )
        )


def withdrawals(app: Flask, participant_id: str) -> list[Withdrawal]:
    with app.app_context():
        return list(
            session().scalars(
                select(Withdrawal)
                .where(Withdrawal.participant_pk == pk_of(participant_id))
                .order_by(Withdrawal.id)
            )
        )


def listed_ids(client: FlaskClient, user: ApiUser) -> dict[str, dict[str, Any]]:
    response = client.get(f"{URL}?per_page=100", headers=user.headers)
    assert response.status_code == 200, response.get_json()
    return {item["participant_id"]: item for item in response.get_json()["items"]}


@pytest.fixture
def participant_id(client: FlaskClient, clinician: ApiUser) -> str:
    return enrol(client, clinician)


# -- each level, the moment the request returns --------------------------------------------


@pytest.mark.parametrize("level", [W1, W2])
def test_withdrawal_makes_the_participant_uncontactable_at_once(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str, level: str
) -> None:
    before = facts_row(app, participant_id)
    assert before is not None and before["contactable"] is True

    answer = withdrawn(client, admin, participant_id, level, reason_code="participant_request")

    after = facts_row(app, participant_id)
    assert answer["level"] == level
    assert answer["created"] is True
    assert after is not None
    assert after["contactable"] is False
    # What they agreed to is unchanged, and their data is still counted in research.
    assert after["consent_contact_for_research"] is True
    assert {k: v for k, v in after.items() if k != "contactable"} == {
        k: v for k, v in before.items() if k != "contactable"
    }


def test_full_withdrawal_removes_the_facts_row_at_once(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str
) -> None:
    withdrawn(client, admin, participant_id, W3)

    assert facts_row(app, participant_id) is None


@pytest.mark.parametrize("level", LEVELS)
def test_withdrawal_shows_in_the_clinicians_list_and_record(
    client: FlaskClient, admin: ApiUser, clinician: ApiUser, participant_id: str, level: str
) -> None:
    other = enrol(client, clinician)

    withdrawn(client, admin, participant_id, level)

    listed = listed_ids(client, clinician)
    detail = client.get(f"{URL}/{participant_id}", headers=clinician.headers)
    assert listed[other]["withdrawal_level"] is None
    if level == W3:
        assert participant_id not in listed
        assert_error(detail, 404, "not_found")
    else:
        assert listed[participant_id]["withdrawal_level"] == level
        assert listed[participant_id]["status"] == "active"
        assert detail.status_code == 200
        assert detail.get_json()["withdrawal_level"] == level
        assert detail.get_json()["nhs_number"]  # still their clinician's patient


@pytest.mark.parametrize("level", LEVELS)
def test_withdrawal_shows_in_the_researchers_grant_rows(
    client: FlaskClient,
    admin: ApiUser,
    researcher: ApiUser,
    participant_id: str,
    level: str,
) -> None:
    grant = client.post(
        "/api/v1/grants",
        json={
            "title": "Withdrawal study",
            "ethics_reference": "1004567",
            "cohorts": ["TRD"],
            "variables": ["participants.withdrawal"],
            "expires_on": (clock.today() + dt.timedelta(days=30)).isoformat(),
            "researchers": [researcher.account.email],
        },
        headers=admin.headers,
    )
    assert grant.status_code == 201, grant.get_json()
    withdrawn(client, admin, participant_id, level)

    response = client.get(
        URL, query_string={"grant": grant.get_json()["id"]}, headers=researcher.headers
    )

    assert response.status_code == 200, response.get_json()
    levels = [row["withdrawal_level"] for row in response.get_json()["items"]]
    assert levels == ([] if level == W3 else [level])  # full withdrawals are never shown


# (level, write) -> the status a clinician's write gets afterwards
_ACCEPTED = {name: status for name, (_, _, _, status) in WRITES.items()}
WRITE_OUTCOMES = [
    *[(W1, name, status) for name, status in _ACCEPTED.items()],
    (W2, "assessment", 409),
    (W2, "treatment_trial", 409),
    (W2, "consent_change", 409),
    (W2, "correction", 200),  # correcting what was collected is not collecting more
    # Gone from every clinician's view: the same answer as for someone never enrolled.
    *[(W3, name, 404) for name in WRITES],
]


@pytest.mark.parametrize(("level", "name", "status"), WRITE_OUTCOMES)
def test_write_after_withdrawal(
    app: Flask,
    client: FlaskClient,
    admin: ApiUser,
    clinician: ApiUser,
    participant_id: str,
    level: str,
    name: str,
    status: int,
) -> None:
    withdrawn(client, admin, participant_id, level)
    rows, events, person = (
        held_rows(app, participant_id),
        audit_count(app),
        participant_row(app, participant_id),
    )

    response = write(client, clinician, participant_id, name)

    assert response.status_code == status, response.get_json()
    if status == 409:
        error = assert_error(response, 409, "participant_withdrawn")
        assert "withdrawn" in error["message"]
        assert "nothing new can be recorded" in error["message"]
    elif status == 404:
        assert_error(response, 404, "not_found")
    if status >= 400:  # nothing written, not even an audit event
        assert held_rows(app, participant_id) == rows
        assert audit_count(app) == events
        assert participant_row(app, participant_id) == person


def test_no_further_contact_still_takes_assessments_into_the_facts(
    app: Flask, client: FlaskClient, admin: ApiUser, clinician: ApiUser, participant_id: str
) -> None:
    withdrawn(client, admin, participant_id, W1)

    response = write(client, clinician, participant_id, "assessment")

    facts = facts_row(app, participant_id)
    assert response.status_code == 201
    assert facts is not None
    assert facts["score_phq9"] == 12
    assert facts["contactable"] is False  # an assessment does not put them back


def test_consent_change_after_no_further_contact_keeps_them_uncontactable(
    app: Flask, client: FlaskClient, admin: ApiUser, clinician: ApiUser
) -> None:
    participant_id = enrol_answering(client, clinician, contact_for_research=False)
    withdrawn(client, admin, participant_id, W1)

    response = client.post(
        f"{URL}/{participant_id}/consents",
        json={**CHANGE, "items": {"contact_for_research": True}},
        headers=clinician.headers,
    )

    facts = facts_row(app, participant_id)
    assert response.status_code == 201, response.get_json()
    assert facts is not None
    assert facts["consent_contact_for_research"] is True
    assert facts["contactable"] is False


# -- full withdrawal: a tombstone, and nothing that names them ------------------------------


TOMBSTONE_COLUMNS = {
    "id",
    "participant_id",
    "cohort",
    "site_id",
    "status",
    "created_at",  # not null in the schema; the consent history keeps the date anyway
    "shredded_at",
    "withdrawal_level",
    "withdrawn_at",
}


def used_participant(client: FlaskClient, clinician: ApiUser, admin: ApiUser) -> tuple[str, str]:
    """A TRD participant with an assessment, a trial, a consent change, a read and a W1
    withdrawal with a reason behind them; (participant id, NHS number)."""
    number = new_nhs_number()
    participant_id = enrol(client, clinician, nhs_number=number, family_name="Quarrington")
    for name in ("assessment", "treatment_trial", "consent_change"):
        response = write(client, clinician, participant_id, name)
        assert response.status_code == 201, response.get_json()
    assert client.get(f"{URL}/{participant_id}", headers=clinician.headers).status_code == 200
    withdrawn(client, admin, participant_id, W1, reason=REASON)
    return participant_id, number


def test_full_withdrawal_leaves_a_tombstone_only(
    app: Flask, client: FlaskClient, clinician: ApiUser, admin: ApiUser
) -> None:
    participant_id, _ = used_participant(client, clinician, admin)

    answer = withdrawn(client, admin, participant_id, W3, reason_code="other")

    row = participant_row(app, participant_id)
    assert answer == {
        "participant_id": participant_id,
        "level": W3,
        "reason_code": "other",
        "requested_by": "participant",
        "consultee_type": None,
        "recorded_at": answer["recorded_at"],
        "created": True,
    }
    assert {name for name, value in row.items() if value is not None} == TOMBSTONE_COLUMNS
    assert (row["status"], row["withdrawal_level"], row["cohort"]) == ("shredded", W3, "TRD")
    assert row["site_id"] == clinician.account.user.site_id
    assert row["withdrawn_at"] is not None and row["shredded_at"] is not None


def test_full_withdrawal_deletes_key_index_and_clinical_rows_and_keeps_the_history(
    app: Flask, client: FlaskClient, clinician: ApiUser, admin: ApiUser
) -> None:
    participant_id, number = used_participant(client, clinician, admin)
    assert held_rows(app, participant_id) == {
        "assessment": 1,
        "treatment_trial": 1,
        "consent_record": 2,
        "consent_item_event": 9,
        "withdrawal": 1,
        "participant_key": 1,
        "nhs_number_index": 1,
        "participant_facts": 1,
    }

    withdrawn(client, admin, participant_id, W3)

    assert held_rows(app, participant_id) == {
        "assessment": 0,
        "treatment_trial": 0,
        "consent_record": 2,
        "consent_item_event": 9,
        "withdrawal": 2,
        "participant_key": 0,
        "nhs_number_index": 0,
        "participant_facts": 0,
    }
    with app.test_request_context():
        assert find_by_nhs_number(number) is None
        tombstone = session().get(Participant, pk_of(participant_id))
        assert tombstone is not None
        with pytest.raises(KeyUnavailable):
            cipher_for(tombstone)
    search = client.post(f"{URL}/search", json={"nhs_number": number}, headers=clinician.headers)
    assert_error(search, 404, "participant_not_found")


def test_full_withdrawal_keeps_the_audit_trail_and_it_names_no_one(
    app: Flask, client: FlaskClient, clinician: ApiUser, admin: ApiUser
) -> None:
    participant_id, number = used_participant(client, clinician, admin)

    withdrawn(client, admin, participant_id, W3, reason=REASON)

    events = audit_events(app, participant_id)
    actions = [event.action for event in events]
    assert actions[0] == "participant.enrol"
    for action in (
        "participant.read_identity",
        "assessment.record",
        "treatment_trial.record",
        "consent.record",
        "participant.shred",
    ):
        assert action in actions
    assert actions.count("participant.withdraw") == 2
    body = enrolment_body()
    secrets = [
        number,
        f"{number[:3]} {number[3:6]} {number[6:]}",
        "Quarrington",
        body["given_name"],
        body["date_of_birth"],
        body["postcode"],
        body["email"],
        body["phone"],
        REASON,
        "abroad",
    ]
    for event in events:
        text = " ".join(
            str(value)
            for value in (event.details, event.target_id, event.purpose, event.actor, event.role)
        )
        for secret in secrets:
            assert secret not in text, f"{secret!r} in {event.action}"
    with app.app_context():
        assert verify_chain(session()).intact
    result = app.test_cli_runner().invoke(main, ["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("audit chain intact")


def test_same_nhs_number_after_full_withdrawal_enrols_a_new_person(
    app: Flask, client: FlaskClient, clinician: ApiUser, admin: ApiUser
) -> None:
    number = new_nhs_number()
    old_id = enrol(client, clinician, nhs_number=number)
    withdrawn(client, admin, old_id, W3)

    # Nothing links the number to the tombstone any more: the registry cannot know they
    # were here, so coming back is a new enrolment, with a new id and no history.
    response = client.post(URL, json=enrolment_body(nhs_number=number), headers=clinician.headers)

    assert response.status_code == 201, response.get_json()
    new = response.get_json()
    assert new["participant_id"] != old_id
    assert (new["status"], new["withdrawal_level"]) == ("active", None)
    assert new["latest_scores"] == {}
    found = client.post(f"{URL}/search", json={"nhs_number": number}, headers=clinician.headers)
    assert found.get_json()["participant_id"] == new["participant_id"]
    assert participant_row(app, old_id)["status"] == "shredded"
    assert held_rows(app, new["participant_id"])["consent_record"] == 1
    assert held_rows(app, old_id)["consent_record"] == 1


# -- only stricter; the same level twice -----------------------------------------------------


def test_withdrawal_steps_up_a_level_at_a_time(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str
) -> None:
    answers = [
        withdraw(client, admin, participant_id, level, reason_code=code)
        for level, code in zip(
            LEVELS, ("participant_request", "clinical_team_advice", "other"), strict=True
        )
    ]

    assert [a.status_code for a in answers] == [201, 201, 201]
    assert [a.get_json()["created"] for a in answers] == [True, True, True]
    assert [w.level for w in withdrawals(app, participant_id)] == list(LEVELS)
    audited = [
        json.loads(e.details)
        for e in audit_events(app, participant_id)
        if e.action == "participant.withdraw"
    ]
    assert [(d["level"], d["previous_level"], d["reason_code"]) for d in audited] == [
        (W1, None, "participant_request"),
        (W2, W1, "clinical_team_advice"),
        (W3, W2, "other"),
    ]


@pytest.mark.parametrize("level", LEVELS)
def test_same_level_again_answers_with_the_record_already_made(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str, level: str
) -> None:
    first = withdrawn(client, admin, participant_id, level)
    events = audit_count(app)

    again = withdraw(client, admin, participant_id, level, reason_code="other", reason="again")

    assert again.status_code == 200, again.get_json()
    assert again.get_json() == {**first, "created": False}
    assert len(withdrawals(app, participant_id)) == 1
    assert audit_count(app) == events


@pytest.mark.parametrize(
    ("first", "then"), [(W2, W1), (W3, W1), (W3, W2)], ids=["W2-W1", "W3-W1", "W3-W2"]
)
def test_laxer_withdrawal_is_refused(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str, first: str, then: str
) -> None:
    withdrawn(client, admin, participant_id, first)

    response = withdraw(client, admin, participant_id, then)

    error = assert_error(response, 409, "withdrawal_cannot_relax")
    assert first in error["message"]
    assert participant_row(app, participant_id)["withdrawal_level"] == first
    assert [w.level for w in withdrawals(app, participant_id)] == [first]


@pytest.mark.parametrize("level", [W1, W2])
def test_withdrawal_reason_is_kept_sealed_under_their_key(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str, level: str
) -> None:
    withdrawn(client, admin, participant_id, level, reason=REASON)

    (record,) = withdrawals(app, participant_id)
    assert record.reason_sealed is not None
    assert REASON.encode() not in record.reason_sealed
    assert b"abroad" not in record.reason_sealed
    with app.test_request_context():
        participant = session().get(Participant, pk_of(participant_id))
        assert participant is not None
        opened = cipher_for(participant).open_text(
            record.reason_sealed,
            context=FieldContext("withdrawal", "reason_sealed", participant_id),
        )
    assert opened == REASON
    for event in audit_events(app, participant_id):
        assert "abroad" not in event.details


def test_full_withdrawal_reason_is_not_kept(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str
) -> None:
    withdrawn(client, admin, participant_id, W3, reason=REASON)

    (record,) = withdrawals(app, participant_id)
    assert record.reason_sealed is None
    for event in audit_events(app, participant_id):
        assert "abroad" not in event.details


def test_earlier_reason_is_unreadable_after_full_withdrawal(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str
) -> None:
    withdrawn(client, admin, participant_id, W2, reason=REASON)

    withdrawn(client, admin, participant_id, W3)

    first, _ = withdrawals(app, participant_id)
    assert first.reason_sealed is not None  # history is append-only: kept, but under no key
    with app.test_request_context():
        participant = session().get(Participant, pk_of(participant_id))
        assert participant is not None
        with pytest.raises(KeyUnavailable):
            cipher_for(participant)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"level": W1, "reason": "x" * 501}, "reason"),
        ({"level": "partial"}, "level"),
        ({"level": "W3"}, "level"),
        ({}, "level"),
        ({"level": W1, "reason_code": "moved_away"}, "reason_code"),
        ({"level": W1, "requested_by": "relative"}, "requested_by"),
        ({"level": W1, "requested_by": "consultee"}, "consultee_type"),
        ({"level": W3, "requested_by": "consultee", "consultee_type": "aunt"}, "consultee_type"),
        ({"level": W1, "ward": "7B"}, "ward"),
    ],
    ids=[
        "reason-501-chars",
        "unknown-level",
        "level-by-nickname",
        "no-level",
        "unknown-reason-code",
        "unknown-requester",
        "consultee-without-type",
        "unknown-consultee-type",
        "unknown-field",
    ],
)
def test_invalid_withdrawal_is_refused_and_changes_nothing(
    app: Flask,
    client: FlaskClient,
    admin: ApiUser,
    participant_id: str,
    body: dict[str, Any],
    field: str,
) -> None:
    facts = facts_row(app, participant_id)

    response = client.post(f"{URL}/{participant_id}/withdrawal", json=body, headers=admin.headers)

    error = assert_error(response, 422, "validation_error")
    assert error["fields"].get(field), error
    assert participant_row(app, participant_id)["withdrawal_level"] is None
    assert withdrawals(app, participant_id) == []
    assert facts_row(app, participant_id) == facts


def test_reason_of_500_characters_is_accepted(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str
) -> None:
    withdrawn(client, admin, participant_id, W1, reason="y" * 500)

    (record,) = withdrawals(app, participant_id)
    assert record.reason_sealed is not None


@pytest.mark.parametrize("consultee_type", ["personal", "nominated"])
def test_consultee_withdrawal_is_recorded_as_theirs(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str, consultee_type: str
) -> None:
    answer = withdrawn(
        client,
        admin,
        participant_id,
        W2,
        requested_by="consultee",
        consultee_type=consultee_type,
        reason_code="consultee_advice",
    )

    (record,) = withdrawals(app, participant_id)
    assert (answer["requested_by"], answer["consultee_type"]) == ("consultee", consultee_type)
    assert (record.requested_by, record.consultee_type) == ("consultee", consultee_type)
    assert record.reason_code == "consultee_advice"
    (event,) = [e for e in audit_events(app, participant_id) if e.action == "participant.withdraw"]
    assert json.loads(event.details)["requested_by"] == "consultee"


@pytest.mark.parametrize("table", ["withdrawal", "consent_record", "consent_item_event"])
@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
def test_history_cannot_be_changed_in_the_database(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str, table: str, statement: str
) -> None:
    withdrawn(client, admin, participant_id, W1, reason=REASON)

    with (
        app.app_context(),
        pytest.raises(DBAPIError, match="append-only"),
        session().begin_nested(),
    ):
        session().connection().exec_driver_sql(statement.format(table=table))

    assert len(withdrawals(app, participant_id)) == 1
    assert held_rows(app, participant_id)["consent_item_event"] == 8


# -- who may withdraw; who sees it -----------------------------------------------------------


@pytest.mark.parametrize("role", ["clinician", "researcher", "partner"])
def test_only_admins_record_withdrawals(
    app: Flask,
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    clinician: ApiUser,
    participant_id: str,
    role: str,
) -> None:
    # The participant's own clinician is refused too.
    user = clinician if role == "clinician" else api_user(role)

    for level in LEVELS:
        assert_error(withdraw(client, user, participant_id, level), 403, "forbidden")

    assert participant_row(app, participant_id)["withdrawal_level"] is None
    assert withdrawals(app, participant_id) == []
    facts = facts_row(app, participant_id)
    assert facts is not None and facts["contactable"] is True


def test_anonymous_withdrawal_is_unauthorised(
    app: Flask, client: FlaskClient, participant_id: str
) -> None:
    response = client.post(f"{URL}/{participant_id}/withdrawal", json={"level": W3})

    assert_error(response, 401, "unauthorised")
    assert participant_row(app, participant_id)["status"] == "active"


@pytest.mark.parametrize("unknown", ["P-0000000000AA", "nobody", "%20"])
def test_withdrawal_of_unknown_participant_is_not_found(
    app: Flask, client: FlaskClient, admin: ApiUser, unknown: str
) -> None:
    events = audit_count(app)

    response = withdraw(client, admin, unknown, W1)

    assert_error(response, 404, "not_found")
    assert audit_count(app) == events


def test_admin_withdraws_a_participant_of_any_site(
    client: FlaskClient, api_user: Callable[..., ApiUser], admin: ApiUser
) -> None:
    at_each_site = [enrol(client, api_user("clinician")) for _ in range(2)]

    answers = [withdraw(client, admin, pid, W1) for pid in at_each_site]

    assert [a.status_code for a in answers] == [201, 201]


@pytest.mark.parametrize("level", LEVELS)
def test_partner_sees_none_of_it(
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    admin: ApiUser,
    participant_id: str,
    level: str,
) -> None:
    partner = api_user("partner")
    withdrawn(client, admin, participant_id, level)

    for method, path in (
        ("GET", URL),
        ("GET", f"{URL}/{participant_id}"),
        ("GET", f"{URL}/{participant_id}/assessments"),
        ("POST", f"{URL}/{participant_id}/consents"),
        ("POST", f"{URL}/{participant_id}/withdrawal"),
        ("GET", "/api/v1/audit"),
    ):
        response = client.open(path, method=method, json={"level": level}, headers=partner.headers)
        assert_error(response, 403, "forbidden")
        assert participant_id not in response.get_data(as_text=True)


# -- step-up: a full withdrawal cannot be undone, on any path (issue #16, finding 2) ----------


def _shredded(app: Flask, participant_id: str) -> bool:
    status: str = participant_row(app, participant_id)["status"]
    return status == "shredded"


def test_full_withdrawal_by_token_without_step_up_is_refused_and_changes_nothing(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str
) -> None:
    """The attack: a bearer token alone used to shred a participant, where the page asks for
    the admin's password or a security code first."""
    response = client.post(
        f"{URL}/{participant_id}/withdrawal", json={"level": W3}, headers=admin.headers
    )

    error = assert_error(response, 422, "step_up_failed")
    assert error["fields"] == {
        "security_code": ["Enter a security code from your app, or your password."]
    }
    assert not _shredded(app, participant_id)
    assert withdrawals(app, participant_id) == []


def _signed_in_admins_csrf_header(
    client: FlaskClient, create_account: Callable[..., Account], sign_in: Callable[..., Any]
) -> dict[str, str]:
    """Sign an admin in through the pages; the header that carries their CSRF token."""
    sign_in(create_account(Role.ADMIN))
    return {"X-CSRFToken": csrf_token_from(client.get("/account/password").get_data(as_text=True))}


def test_full_withdrawal_by_cookie_session_without_step_up_is_refused(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    participant_id: str,
) -> None:
    csrf = _signed_in_admins_csrf_header(client, create_account, sign_in)

    response = client.post(
        f"{URL}/{participant_id}/withdrawal",
        json={"level": W3},
        headers=csrf,
    )

    assert_error(response, 422, "step_up_failed")
    assert not _shredded(app, participant_id)


def test_full_withdrawal_by_token_with_a_fresh_security_code_is_recorded(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str
) -> None:
    assert admin.account.totp_secret
    code = pyotp.TOTP(admin.account.totp_secret).now()

    response = withdraw(client, admin, participant_id, W3, security_code=code)

    assert response.status_code == 201, response.get_json()
    assert _shredded(app, participant_id)


def test_full_withdrawal_security_code_cannot_be_used_twice(
    app: Flask, client: FlaskClient, clinician: ApiUser, admin: ApiUser, participant_id: str
) -> None:
    assert admin.account.totp_secret
    code = pyotp.TOTP(admin.account.totp_secret).now()
    other = enrol(client, clinician)
    withdrawn(client, admin, participant_id, W3, security_code=code)

    replayed = withdraw(client, admin, other, W3, security_code=code)

    error = assert_error(replayed, 422, "step_up_failed")
    assert error["fields"] == {
        "security_code": ["The security code is not correct, or it was already used."]
    }
    assert not _shredded(app, other)


def test_full_withdrawal_by_cookie_session_with_the_password_is_recorded(
    app: Flask,
    client: FlaskClient,
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    participant_id: str,
) -> None:
    csrf = _signed_in_admins_csrf_header(client, create_account, sign_in)

    response = client.post(
        f"{URL}/{participant_id}/withdrawal",
        json={"level": W3, "password": PASSWORD},
        headers=csrf,
    )

    assert response.status_code == 201, response.get_json()
    assert _shredded(app, participant_id)


def test_full_withdrawal_wrong_password_is_refused_and_audited(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str
) -> None:
    response = withdraw(client, admin, participant_id, W3, password="not the password")

    assert_error(response, 422, "step_up_failed")
    assert not _shredded(app, participant_id)
    with app.app_context():
        refused = (
            session()
            .scalars(select(AuditEvent).where(AuditEvent.action == "auth.reauthenticate"))
            .all()
        )
    assert [(e.actor, e.outcome, e.purpose) for e in refused] == [
        (f"user:{admin.account.user.id}", "denied", "confirm full withdrawal")
    ]
    assert "not the password" not in refused[0].details


@pytest.mark.parametrize("level", [W1, W2])
def test_lesser_withdrawals_need_no_step_up(
    app: Flask, client: FlaskClient, admin: ApiUser, participant_id: str, level: str
) -> None:
    assert withdraw(client, admin, participant_id, level).status_code == 201
