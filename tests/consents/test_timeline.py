"""A participant's timeline for admins (page and JSON): their consent and withdrawal history,
clinical records and every audit event about them, with no identifier decrypted; viewing
it is audited; it still answers after a full withdrawal."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from registry import clock
from registry.audit.models import AuditEvent
from registry.auth.models import Site
from registry.auth.permissions import Role
from registry.consents.items import CONSENT_ITEMS
from registry.db import session
from tests.conftest import PASSWORD, Account, ApiUser, enrolment_body
from tests.participants.test_web import page_of

pytestmark = pytest.mark.usefixtures("consent_forms")

TODAY = clock.today().isoformat()
# Distinctive, so a match anywhere means the identifier leaked.
IDENTITY = {
    "given_name": "Philomena",
    "family_name": "Quartermaine",
    "date_of_birth": "1987-03-29",
    "postcode": "SW1A 2AA",
    "email": "philomena.q@example.org",
    "phone": "07700 900123",
}


@dataclass
class Story:
    participant_id: str
    nhs_number: str
    clinician: ApiUser


@pytest.fixture
def story(
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    create_site: Callable[..., Site],
) -> Story:
    """A TRD participant enrolled, read, assessed, given a trial, and changing their consent."""
    clinician = api_user(Role.CLINICIAN, site=create_site())
    body = enrolment_body("TRD", **IDENTITY)
    url = "/api/v1/participants"
    enrolled = client.post(url, json=body, headers=clinician.headers)
    assert enrolled.status_code == 201
    participant_id = enrolled.get_json()["participant_id"]
    here = f"{url}/{participant_id}"
    writes = [
        ("GET", "", None),  # an access to their identifiable record
        ("POST", "/assessments", {"instrument": "PHQ9", "administered_on": TODAY, "total": 17}),
        (
            "POST",
            "/treatment-trials",
            {
                "drug": "sertraline",
                "started_on": "2025-07",
                "adequate_dose": True,
                "weeks": 8,
                "outcome": "non_response",
            },
        ),
        (
            "POST",
            "/consents",
            {
                "form_version": "TRD-PIS-2.0",
                "signed_on": TODAY,
                "items": {"commercial_partners": False},
            },
        ),
    ]
    for method, path, json_body in writes:
        response = client.open(
            here + path, method=method, json=json_body, headers=clinician.headers
        )
        assert response.status_code in (200, 201), response.get_json()
    return Story(participant_id, body["nhs_number"], clinician)


def withdraw(
    client: FlaskClient, api_user: Callable[..., ApiUser], story: Story, level: str
) -> None:
    admin = api_user(Role.ADMIN)
    response = client.post(
        f"/api/v1/participants/{story.participant_id}/withdrawal",
        json={"level": level, "reason": "Philomena is moving to SW1A 2AA.", "password": PASSWORD},
        headers=admin.headers,
    )
    assert response.status_code == 201, response.get_json()


def identifiers(story: Story) -> list[str]:
    number = story.nhs_number
    return [
        number,
        f"{number[:3]} {number[3:6]} {number[6:]}",
        *IDENTITY.values(),
        "29 March 1987",
        "SW1A",
        "moving to",  # the sealed reason
    ]


def test_page_shows_consent_withdrawals_clinical_records_and_accesses(
    client: FlaskClient,
    admin_web: FlaskClient,
    story: Story,
    api_user: Callable[..., ApiUser],
) -> None:
    withdraw(client, api_user, story, "no_further_contact")

    page = page_of(client.get(f"/admin/participants/{story.participant_id}"))

    consents = page.text_of("consents")
    assert "TRD-PIS-2.0 At enrolment Test Clinician (clinician) Confirmed First consent" in consents
    assert "Change to some answers" in consents
    assert "Industry partners may use pseudonymised data" in consents and "Yes → No" in consents
    assert "W1 No further contact They asked to withdraw (notes kept sealed)" in page.text_of(
        "withdrawals"
    )
    assert "Test Admin (admin)" in page.text_of("withdrawals")
    assert "PHQ-9" in page.text_of("assessments") and "17" in page.text_of("assessments")
    assert "sertraline July 2025 Yes 8" in page.text_of("trials")
    events = page.text_of("events")
    for action in (
        "participant.enrol",
        "participant.read_identity",
        "assessment.record",
        "treatment_trial.record",
        "consent.record",
        "participant.withdraw",
        "participant.timeline",
    ):
        assert action in events, action
    assert "view participant record" in events  # the purpose of the clinician's access
    assert "W1 No further contact" in page.text_of("withdrawal-level")
    assert f'href="/api/v1/participants/{story.participant_id}/timeline"' in client.get(
        f"/admin/participants/{story.participant_id}"
    ).get_data(as_text=True)


def test_json_has_the_same_history(
    client: FlaskClient, admin_web: FlaskClient, story: Story, api_user: Callable[..., ApiUser]
) -> None:
    withdraw(client, api_user, story, "no_further_data")

    response = client.get(f"/api/v1/participants/{story.participant_id}/timeline")

    assert response.status_code == 200
    timeline = response.get_json()
    assert timeline["participant_id"] == story.participant_id
    assert (timeline["cohort"], timeline["status"]) == ("TRD", "active")
    assert timeline["withdrawal_level"] == "no_further_data"
    assert [c["kind"] for c in timeline["consents"]] == ["enrolment", "change"]
    enrolment, change = timeline["consents"]
    assert enrolment["items"] == dict.fromkeys(CONSENT_ITEMS, True)
    assert enrolment["taken_by"] == {"name": "Test Clinician", "role": "clinician"}
    assert change["items"] == {"commercial_partners": False}
    assert change["changes"] == [{"item": "commercial_partners", "before": True, "after": False}]
    assert timeline["consent"]["commercial_partners"] is False
    assert timeline["withdrawals"] == [
        {
            "recorded_at": timeline["withdrawals"][0]["recorded_at"],
            "level": "no_further_data",
            "reason_code": "participant_request",
            "reason_recorded": True,
            "requested_by": "participant",
            "consultee_type": None,
            "recorded_by": {"name": "Test Admin", "role": "admin"},
        }
    ]
    assert timeline["assessments"] == [
        {"instrument": "PHQ9", "administered_on": TODAY, "total": 17, "band": "moderately severe"}
    ]
    assert timeline["treatment_trials"][0]["started_on"] == "2025-07"
    actions = [event["action"] for event in timeline["events"]]
    assert actions[0] == "participant.enrol" and actions[-1] == "participant.timeline"
    assert "participant.read_identity" in actions
    assert [e["seq"] for e in timeline["events"]] == sorted(e["seq"] for e in timeline["events"])


def test_no_identifier_appears_in_the_page_or_the_json(
    client: FlaskClient, admin_web: FlaskClient, story: Story, api_user: Callable[..., ApiUser]
) -> None:
    withdraw(client, api_user, story, "no_further_contact")

    page = client.get(f"/admin/participants/{story.participant_id}").get_data(as_text=True)
    document = client.get(f"/api/v1/participants/{story.participant_id}/timeline").get_data(
        as_text=True
    )

    for identifier in identifiers(story):
        assert identifier not in page, identifier
        assert identifier not in document, identifier
        assert identifier.lower() not in document.lower(), identifier


def test_viewing_is_audited_and_decrypts_nothing(
    app: Flask,
    client: FlaskClient,
    admin_web: FlaskClient,
    admin_account: Account,
    story: Story,
) -> None:
    def events() -> list[AuditEvent]:
        with app.app_context():
            return list(
                session().scalars(
                    select(AuditEvent)
                    .where(AuditEvent.participant_id == story.participant_id)
                    .order_by(AuditEvent.seq)
                )
            )

    before = len(events())

    client.get(f"/admin/participants/{story.participant_id}")
    client.get(f"/api/v1/participants/{story.participant_id}/timeline")

    new = events()[before:]
    assert [(e.action, e.actor, e.purpose, e.outcome) for e in new] == [
        (
            "participant.timeline",
            f"user:{admin_account.user.id}",
            "view participant timeline",
            "success",
        ),
        (
            "participant.timeline",
            f"user:{admin_account.user.id}",
            "download participant timeline",
            "success",
        ),
    ]
    assert all(json.loads(e.details) == {} for e in new)


def test_timeline_remains_after_a_full_withdrawal(
    client: FlaskClient, admin_web: FlaskClient, story: Story, api_user: Callable[..., ApiUser]
) -> None:
    withdraw(client, api_user, story, "full")

    page = client.get(f"/admin/participants/{story.participant_id}")
    response = client.get(f"/api/v1/participants/{story.participant_id}/timeline")

    assert page.status_code == 200 and response.status_code == 200
    shown = page_of(page)
    assert "Identity destroyed" in shown.text_of("summary")
    assert "W3 Full withdrawal" in shown.text_of("withdrawals")
    assert "Record a withdrawal" not in shown.text
    timeline = response.get_json()
    assert timeline["status"] == "shredded"
    assert [c["kind"] for c in timeline["consents"]] == ["enrolment", "change"]
    assert [w["level"] for w in timeline["withdrawals"]] == ["full"]
    assert timeline["withdrawals"][0]["reason_recorded"] is False  # dropped for full
    assert timeline["assessments"] == [] and timeline["treatment_trials"] == []
    actions = {event["action"] for event in timeline["events"]}
    assert {"participant.read_identity", "assessment.record", "participant.shred"} <= actions
    text = page.get_data(as_text=True) + response.get_data(as_text=True)
    for identifier in identifiers(story):
        assert identifier not in text, identifier


@pytest.mark.parametrize("role", [Role.CLINICIAN, Role.RESEARCHER, Role.PARTNER])
def test_only_admins_see_a_timeline(
    client: FlaskClient,
    story: Story,
    api_user: Callable[..., ApiUser],
    create_account: Callable[..., Account],
    sign_in: Callable[..., Any],
    role: Role,
) -> None:
    caller = api_user(role)
    browser_account = create_account(role)
    sign_in(browser_account)

    api = client.get(
        f"/api/v1/participants/{story.participant_id}/timeline", headers=caller.headers
    )
    # The participant's own clinician is refused too: the timeline is an admin's tool.
    own_clinician = client.get(
        f"/api/v1/participants/{story.participant_id}/timeline",
        headers=story.clinician.headers,
    )
    page = client.get(f"/admin/participants/{story.participant_id}")

    assert (api.status_code, own_clinician.status_code, page.status_code) == (403, 403, 403)


def test_an_unknown_participant_has_no_timeline(
    client: FlaskClient, admin_web: FlaskClient
) -> None:
    assert client.get("/api/v1/participants/P-NOSUCH/timeline").status_code == 404
