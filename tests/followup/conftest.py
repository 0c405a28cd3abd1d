"""Follow-up fixtures: a pinned "today" and participants enrolled on a chosen date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import clock
from registry.db import session
from registry.facts.derive import refresh_facts
from registry.participants.models import Participant
from tests.conftest import CONSENT_YES, ApiUser, enrol

# The worklist's day in these tests: every rule that asks the registry's clock (a consent
# signed, an assessment done, "in the future") judges by it too.
TODAY = dt.date(2026, 6, 15)


@pytest.fixture
def pinned_today(monkeypatch: pytest.MonkeyPatch) -> dt.date:
    monkeypatch.setattr(clock, "today", lambda: TODAY)
    return TODAY


@pytest.fixture
def enrolled_on(app: Flask, client: FlaskClient) -> Callable[..., str]:
    """Enrol someone through the API as ``user``, consent signed on ``on``, then move their
    enrolment to ``on`` (the API enrols today), their facts refreshed; their participant id."""

    def build(user: ApiUser, on: dt.date, cohort: str = "EP", **overrides: Any) -> str:
        consent = {
            "form_version": f"{cohort}-PIS-2.0",
            "signed_on": on.isoformat(),
            "items": dict(CONSENT_YES),
        }
        participant_id = enrol(client, user, cohort, consent=consent, **overrides)
        with app.test_request_context():
            participant = (
                session()
                .scalars(select(Participant).where(Participant.participant_id == participant_id))
                .one()
            )
            participant.enrolled_on = on
            refresh_facts(participant)
            session().commit()
        return participant_id

    return build


def assess(
    client: FlaskClient, user: ApiUser, participant_id: str, instrument: str, on: dt.date
) -> None:
    """A total-only assessment of ``instrument`` administered on ``on``."""
    totals = {"CGI_S": 4, "SOFAS": 55, "PANSS": 70, "PHQ9": 12, "GAD7": 9, "MADRS": 25}
    response = client.post(
        f"/api/v1/participants/{participant_id}/assessments",
        json={
            "instrument": instrument,
            "administered_on": on.isoformat(),
            "total": totals[instrument],
        },
        headers=user.headers,
    )
    assert response.status_code == 201, response.get_json()
