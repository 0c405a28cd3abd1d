"""Withdrawals racing each other, and a full withdrawal racing a clinician's write.

Whatever the order the database picks, the outcome is one of the orders played one after
the other: two admins withdrawing at once make one record (or two steps up), and a write
that races a full withdrawal either committed first and was then erased with everything
else, or was refused. Nothing is ever left for a shredded participant, and nothing comes back.

Exercised through the API from threads released together by a barrier, on a database of
their own with real commits. Each side has its own user and token: one shared token would
serialise the requests on its last-used update and hide a missing lock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from registry.assessments.models import Assessment, TreatmentTrial
from registry.audit.actions import verify_chain
from registry.audit.models import AuditEvent
from registry.auth.permissions import Role
from registry.consents.models import ConsentRecord, Withdrawal
from registry.db import session
from registry.participants.models import (
    NhsNumberIndex,
    Participant,
    ParticipantFacts,
    ParticipantKey,
)
from tests.concurrency import Call, race
from tests.conftest import (
    PASSWORD,
    committed_accounts,
    enrolment_body,
    isolated_app,
    on_postgresql,
)
from tests.consents.test_withdrawal_api import LEVELS, URL, W2, W3, WRITES

pytestmark = [
    pytest.mark.postgres_only,
    pytest.mark.skipif(not on_postgresql(), reason="needs concurrent writers on PostgreSQL"),
]

ROUNDS = 3
# The audit action each write of WRITES leaves when it is made.
WRITE_ACTIONS = {
    "assessment": "assessment.record",
    "treatment_trial": "treatment_trial.record",
    "consent_change": "consent.record",
    "correction": "participant.update_identity",
}


@dataclass
class Registry:
    app: Flask
    clinician: dict[str, str]  # headers
    admins: list[dict[str, str]]


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """An app on its own database (real commits): a clinician and two admins, each with a
    token. Each test enrols the participants it races over, so sharing it is safe."""
    tmp_path = tmp_path_factory.mktemp("withdrawal_race")
    with isolated_app(tmp_path) as (app, _url):
        headers = committed_accounts(app, "RWC", (Role.CLINICIAN, Role.ADMIN, Role.ADMIN))
        yield Registry(app, headers[0], headers[1:])


def enrol(registry: Registry) -> str:
    client = registry.app.test_client()
    response = client.post(URL, json=enrolment_body("TRD"), headers=registry.clinician)
    assert response.status_code == 201, response.get_json()
    participant_id: str = response.get_json()["participant_id"]
    return participant_id


def withdrawal(headers: dict[str, str], participant_id: str, level: str) -> Call:
    return Call(
        headers,
        "POST",
        f"{URL}/{participant_id}/withdrawal",
        {"level": level, "password": PASSWORD},
    )


def state(app: Flask, participant_id: str) -> dict[str, Any]:
    """What the database holds for the participant, read after the race."""
    with app.app_context():
        db = session()
        participant = db.scalar(
            select(Participant).where(Participant.participant_id == participant_id)
        )
        assert participant is not None
        pk = participant.id

        def count(model: Any) -> int:
            return int(
                db.scalar(select(func.count()).select_from(model).where(model.participant_pk == pk))
                or 0
            )

        actions = list(
            db.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.participant_id == participant_id)
                .order_by(AuditEvent.seq)
            )
        )
        return {
            "status": participant.status,
            "level": participant.withdrawal_level,
            "email_sealed": participant.email_sealed,
            "withdrawals": list(
                db.scalars(
                    select(Withdrawal.level)
                    .where(Withdrawal.participant_pk == pk)
                    .order_by(Withdrawal.id)
                )
            ),
            "facts": db.get(ParticipantFacts, pk),
            "key": db.get(ParticipantKey, pk),
            "index": db.get(NhsNumberIndex, pk),
            "assessments": count(Assessment),
            "trials": count(TreatmentTrial),
            "consent_records": count(ConsentRecord),
            "actions": actions,
        }


def assert_fully_withdrawn(found: dict[str, Any]) -> None:
    assert (found["status"], found["level"]) == ("shredded", W3)
    assert found["facts"] is None, "the facts row came back"
    assert found["key"] is None, "the data key came back"
    assert found["index"] is None, "the blind index came back"
    assert found["email_sealed"] is None
    assert (found["assessments"], found["trials"]) == (0, 0)
    assert found["actions"].count("participant.shred") == 1


@pytest.mark.parametrize("level", LEVELS)
def test_two_admins_withdrawing_at_the_same_level_make_one_record(
    registry: Registry, level: str
) -> None:
    for _ in range(ROUNDS):
        participant_id = enrol(registry)

        answers = race(
            registry.app,
            *(withdrawal(headers, participant_id, level) for headers in registry.admins),
        )

        assert sorted(status for status, _ in answers) == [200, 201], answers
        (made,) = [body for status, body in answers if status == 201]
        (again,) = [body for status, body in answers if status == 200]
        assert made["created"] is True
        assert again == {**made, "created": False}
        found = state(registry.app, participant_id)
        assert found["withdrawals"] == [level]
        assert found["level"] == level
        assert found["actions"].count("participant.withdraw") == 1
        if level == W3:
            assert_fully_withdrawn(found)
        else:
            assert found["facts"] is not None and found["facts"].contactable is False
            assert found["key"] is not None


def test_no_further_data_and_full_at_once_end_fully_withdrawn(registry: Registry) -> None:
    first, second = registry.admins
    for _ in range(ROUNDS):
        participant_id = enrol(registry)

        w2, w3 = race(
            registry.app,
            withdrawal(first, participant_id, W2),
            withdrawal(second, participant_id, W3),
        )

        assert w3[0] == 201, w3
        found = state(registry.app, participant_id)
        assert_fully_withdrawn(found)
        if w2[0] == 201:  # W2 went first, then W3 made it stricter
            assert found["withdrawals"] == [W2, W3]
        else:  # W3 went first; W2 would relax it
            assert w2[0] == 409 and w2[1]["error"]["code"] == "withdrawal_cannot_relax", w2
            assert found["withdrawals"] == [W3]
        assert found["actions"].count("participant.withdraw") == len(found["withdrawals"])


@pytest.mark.parametrize("name", list(WRITES))
def test_write_racing_a_full_withdrawal_never_survives_it(registry: Registry, name: str) -> None:
    method, path, body, accepted = WRITES[name]
    admin = registry.admins[0]
    outcomes = set()
    for _ in range(ROUNDS):
        participant_id = enrol(registry)

        shred, written = race(
            registry.app,
            withdrawal(admin, participant_id, W3),
            Call(registry.clinician, method, f"{URL}/{participant_id}{path}", body),
        )

        assert shred[0] == 201, shred
        found = state(registry.app, participant_id)
        assert_fully_withdrawn(found)
        withdraw_at = found["actions"].index("participant.withdraw")
        if written[0] == accepted:
            # It committed first, and the withdrawal then erased it with everything else.
            outcomes.add("written, then erased")
            assert WRITE_ACTIONS[name] in found["actions"][:withdraw_at], found["actions"]
        elif written[0] == 409:
            # It waited for the row lock, then saw the tombstone.
            outcomes.add("refused")
            assert written[1]["error"]["code"] == "participant_withdrawn", written
        else:
            # It started after the withdrawal had committed: there is no one to write to.
            outcomes.add("not found")
            assert written[0] == 404 and written[1]["error"]["code"] == "not_found", written
        # One consent record (the enrolment's) whatever happened: history is kept, and a
        # consent change that lost the race left none.
        expected_records = 2 if name == "consent_change" and written[0] == accepted else 1
        assert found["consent_records"] == expected_records

        # And nothing brings them back afterwards.
        client = registry.app.test_client()
        again = client.open(
            f"{URL}/{participant_id}{path}", method=method, json=body, headers=registry.clinician
        )
        assert again.status_code == 404, again.get_json()
        assert_fully_withdrawn(state(registry.app, participant_id))
    assert outcomes, "no round finished"


def test_audit_chain_is_intact_after_the_races(registry: Registry) -> None:
    # Runs after the races above (pytest keeps file order) on the same database.
    with registry.app.app_context():
        report = verify_chain(session())
    assert report.intact, report
    assert report.events > 0
