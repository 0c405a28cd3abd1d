"""A small world for recruitment: two sites with a clinician each, a partner, two admins,
and helpers that walk requests through the API as each role would."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry.audit.models import AuditEvent
from registry.auth.models import Site
from registry.auth.permissions import Role
from registry.config import Settings
from registry.db import session
from registry.recruitment.models import RecruitmentContact, RecruitmentRequest
from tests.conftest import PASSWORD, ApiUser, enrolment_body

URL = "/api/v1/recruitment-requests"
# Partners may use these fields: TRD adults with PHQ-9 recorded would be typical, but every
# test participant is a TRD adult, so age alone picks exactly the ones a test enrols.
ADULT_TRD = {"cohort": "TRD", "all": [{"field": "age", "op": ">=", "value": 18}]}


@dataclasses.dataclass
class World:
    client: FlaskClient
    site_a: Site
    site_b: Site
    clinician_a: ApiUser
    clinician_b: ApiUser
    partner: ApiUser
    admin: ApiUser
    second_admin: ApiUser

    def enrol(self, clinician: ApiUser, n: int, **overrides: Any) -> list[str]:
        ids = []
        for _ in range(n):
            response = self.client.post(
                "/api/v1/participants", json=enrolment_body(**overrides), headers=clinician.headers
            )
            assert response.status_code == 201, response.get_json()
            ids.append(response.get_json()["participant_id"])
        return ids

    def submit(self, criteria: Any = None, **body: Any) -> dict[str, Any]:
        response = self.client.post(
            URL, json=request_body(criteria, **body), headers=self.partner.headers
        )
        assert response.status_code == 201, response.get_json()
        return dict(response.get_json())

    def decide(
        self,
        request_id: str,
        decision: str = "approve",
        note: str = "Ethics checked.",
        *,
        admin: ApiUser | None = None,
    ) -> Any:
        return self.client.post(
            f"{URL}/{request_id}/decision",
            json={"decision": decision, "note": note},
            headers=(admin or self.admin).headers,
        )

    def approved(self, criteria: Any = None, **body: Any) -> str:
        request_id: str = self.submit(criteria, **body)["id"]
        response = self.decide(request_id)
        assert response.status_code == 200, response.get_json()
        return request_id

    def contacts(self, request_id: str, clinician: ApiUser) -> Any:
        return self.client.get(f"{URL}/{request_id}/contacts", headers=clinician.headers)

    def listed_ids(self, request_id: str, clinician: ApiUser) -> set[str]:
        response = self.contacts(request_id, clinician)
        assert response.status_code == 200, response.get_json()
        return {item["participant_id"] for item in response.get_json()["items"]}

    def outcome(self, request_id: str, participant_id: str, status: str, clinician: ApiUser) -> Any:
        return self.client.patch(
            f"{URL}/{request_id}/contacts/{participant_id}",
            json={"status": status},
            headers=clinician.headers,
        )

    def funnel(self, request_id: str, user: ApiUser) -> Any:
        return self.client.get(f"{URL}/{request_id}/funnel", headers=user.headers)

    def withdraw(self, participant_id: str, level: str = "no_further_contact") -> None:
        response = self.client.post(
            f"/api/v1/participants/{participant_id}/withdrawal",
            json={"level": level, "password": PASSWORD},
            headers=self.admin.headers,
        )
        assert response.status_code == 201, response.get_json()


def request_body(criteria: Any = None, **body: Any) -> dict[str, Any]:
    return {
        "study_title": "SERENE-2: a trial of a new treatment for resistant depression",
        "sponsor": "Example Pharma Ltd",
        "ethics_reference": "1004567",
        "criteria": ADULT_TRD if criteria is None else criteria,
        "target": 40,
        **body,
    }


@pytest.fixture
def world(
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    create_site: Callable[..., Site],
    consent_forms: None,
    settings_with: Callable[..., None],
) -> World:
    # These tests are about other rules, on lists of a few people: the minimum list size is
    # off here, and test_list_minimum.py sets it.
    settings_with(recruitment_min_list_size=0)
    site_a, site_b = create_site(), create_site()
    return World(
        client=client,
        site_a=site_a,
        site_b=site_b,
        clinician_a=api_user(Role.CLINICIAN, site=site_a),
        clinician_b=api_user(Role.CLINICIAN, site=site_b),
        partner=api_user(Role.PARTNER),
        admin=api_user(Role.ADMIN),
        second_admin=api_user(Role.ADMIN),
    )


DEFAULT_MINIMUM = Settings.recruitment_min_list_size


@pytest.fixture
def minimum(world: World, settings_with: Callable[..., None]) -> int:
    """The default minimum, which the ``world`` fixture turns off for other tests."""
    settings_with(recruitment_min_list_size=DEFAULT_MINIMUM)
    return DEFAULT_MINIMUM


def contacts_of(app: Flask, request_id: str) -> int:
    with app.app_context():
        return int(
            session().scalar(
                select(func.count())
                .select_from(RecruitmentContact)
                .join(RecruitmentRequest, RecruitmentRequest.id == RecruitmentContact.request_pk)
                .where(RecruitmentRequest.request_id == request_id)
            )
            or 0
        )


def audited(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context():
        events = session().scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        )
        return [json.loads(event.details) for event in events]
