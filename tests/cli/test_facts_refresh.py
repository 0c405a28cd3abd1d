"""``registry facts refresh``: rows written before a release changed a derivation are
derived again, and nobody fully withdrawn gets a row back."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from registry.audit.models import AuditEvent
from registry.cli import main
from registry.db import session
from registry.facts.outcomes import OUTCOME_COLUMNS
from registry.participants.models import Participant, ParticipantFacts
from tests.conftest import ApiUser, enrol
from tests.consents.test_withdrawal_api import W3
from tests.consents.test_withdrawal_api import withdrawn as withdrawn_at

pytestmark = pytest.mark.usefixtures("consent_forms")


def _facts(participant_id: str) -> ParticipantFacts | None:
    return session().scalar(
        select(ParticipantFacts)
        .join(Participant, Participant.id == ParticipantFacts.participant_pk)
        .where(Participant.participant_id == participant_id)
        .execution_options(populate_existing=True)
    )


def test_refresh_derives_rows_written_before_a_release_again(
    app: Flask, app_ctx: None, client: FlaskClient, clinician: ApiUser
) -> None:
    participant_id = enrol(client, clinician, "TRD")
    for on, value in (("2025-07-01", 30), ("2025-10-01", 10)):
        body = {"instrument": "MADRS", "administered_on": on, "total": value}
        url = f"/api/v1/participants/{participant_id}/assessments"
        assert client.post(url, json=body, headers=clinician.headers).status_code == 201
    # As a row written before response and remission were derived would be.
    session().execute(update(ParticipantFacts).values({name: None for name in OUTCOME_COLUMNS}))
    session().commit()

    result = app.test_cli_runner().invoke(main, ["facts", "refresh"])

    assert result.exit_code == 0, result.output
    assert "Refreshed the facts of 1 participants." in result.output
    facts = _facts(participant_id)
    assert facts is not None
    assert (facts.response, facts.remission) == (True, True)
    event = session().scalar(select(AuditEvent).where(AuditEvent.action == "facts.refresh"))
    assert event is not None and json.loads(event.details) == {"participants": 1}


def test_refresh_gives_no_row_to_someone_fully_withdrawn(
    app: Flask, client: FlaskClient, clinician: ApiUser, admin: ApiUser
) -> None:
    kept, withdrawn = enrol(client, clinician, "TRD"), enrol(client, clinician, "TRD")
    withdrawn_at(client, admin, withdrawn, W3)

    result = app.test_cli_runner().invoke(main, ["facts", "refresh"])

    assert result.exit_code == 0, result.output
    with app.app_context():  # a fresh context: each request above signed in its own user
        assert _facts(kept) is not None
        assert _facts(withdrawn) is None
