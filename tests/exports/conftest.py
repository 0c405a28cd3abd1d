"""A small world for exports: an admin who records grants, a researcher named on them,
another researcher who is not, a clinician who enrols people, and helpers that walk the
API as each of them would."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import secrets
import string
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from registry import clock
from registry.auth.permissions import Role
from registry.db import session
from registry.exports.models import DataAccessGrant
from registry.participants.models import Participant
from tests.conftest import PASSWORD, ApiUser, enrolment_body

GRANTS = "/api/v1/grants"
TODAY = clock.today()
ALL_VARIABLES = [
    "participants.cohort",
    "participants.birth_month",
    "participants.age_band",
    "participants.sex",
    "participants.gender_identity",
    "participants.ethnicity",
    "participants.ethnicity_group",
    "participants.imd",
    "participants.diagnosis",
    "participants.psychosis_onset",
    "participants.dup_weeks",
    "participants.episode_start",
    "participants.enrolled",
    "participants.withdrawal",
    "assessments.instrument",
    "assessments.administered_on",
    "assessments.total",
    "assessments.band",
    "assessments.items",
    "treatment_trials.drug",
    "treatment_trials.started_on",
    "treatment_trials.adequate_dose",
    "treatment_trials.weeks",
    "treatment_trials.outcome",
    "consent.items",
    "consent.form_version",
    "consent.signed_on",
]
PHQ9_ITEMS = [1, 2, 1, 0, 3, 2, 1, 0, 1]  # total 11, moderate
TRIAL = {
    "drug": "sertraline",
    "started_on": "2025-07",
    "adequate_dose": True,
    "weeks": 8,
    "outcome": "non_response",
}


def random_name(length: int = 10) -> str:
    """A made-up name no other text in an extract could contain by chance."""
    return secrets.choice(string.ascii_uppercase) + "".join(
        secrets.choice(string.ascii_lowercase) for _ in range(length - 1)
    )


@dataclasses.dataclass
class Extract:
    files: dict[str, bytes]

    def rows(self, name: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(self.files[name].decode("utf-8"))))

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(json.loads(self.files["manifest.json"]))


@dataclasses.dataclass
class World:
    app: Flask
    client: FlaskClient
    admin: ApiUser
    researcher: ApiUser
    outsider: ApiUser
    clinician: ApiUser

    def enrol(self, cohort: str = "TRD", **overrides: Any) -> str:
        response = self.client.post(
            "/api/v1/participants",
            json=enrolment_body(cohort, **overrides),
            headers=self.clinician.headers,
        )
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["participant_id"])

    def enrol_without(self, item: str, cohort: str = "TRD") -> str:
        body = enrolment_body(cohort)
        body["consent"]["items"][item] = False
        return self.enrol(cohort, consent=body["consent"])

    def assess(self, participant_id: str, **body: Any) -> Any:
        return self.client.post(
            f"/api/v1/participants/{participant_id}/assessments",
            json={"instrument": "PHQ9", "administered_on": TODAY.isoformat(), **body},
            headers=self.clinician.headers,
        )

    def trial(self, participant_id: str, **body: Any) -> Any:
        return self.client.post(
            f"/api/v1/participants/{participant_id}/treatment-trials",
            json={**TRIAL, **body},
            headers=self.clinician.headers,
        )

    def withdraw(self, participant_id: str, level: str) -> None:
        response = self.client.post(
            f"/api/v1/participants/{participant_id}/withdrawal",
            json={"level": level, "password": PASSWORD},
            headers=self.admin.headers,
        )
        assert response.status_code == 201, response.get_json()

    def grant_body(self, **overrides: Any) -> dict[str, Any]:
        return {
            "title": "TRAJECTORY: long-term outcomes of treatment-resistant depression",
            "ethics_reference": "1004567",
            "cohorts": ["TRD", "EP"],
            "variables": ALL_VARIABLES,
            "consent_items": ["future_research"],
            "expires_on": (TODAY + dt.timedelta(days=365)).isoformat(),
            "researchers": [self.researcher.account.email],
            **overrides,
        }

    def grant(self, **overrides: Any) -> str:
        response = self.client.post(
            GRANTS, json=self.grant_body(**overrides), headers=self.admin.headers
        )
        assert response.status_code == 201, response.get_json()
        return str(response.get_json()["id"])

    def export(self, grant_id: str, file_format: str = "csv", *, by: ApiUser | None = None) -> Any:
        return self.client.post(
            f"{GRANTS}/{grant_id}/exports",
            json={"format": file_format},
            headers=(by or self.researcher).headers,
        )

    def extract(self, grant_id: str, file_format: str = "csv") -> Extract:
        response = self.export(grant_id, file_format)
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
        data = response.data
        response.close()  # as a WSGI server does: closes (and so deletes) the temporary ZIP
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return Extract({name: archive.read(name) for name in archive.namelist()})

    def fhir(self, grant_id: str, *, by: ApiUser | None = None, **query: Any) -> Any:
        return self.client.get(
            f"{GRANTS}/{grant_id}/fhir",
            query_string=query,
            headers=(by or self.researcher).headers,
        )

    def expire(self, grant_id: str) -> None:
        with self.app.test_request_context():
            session().execute(
                update(DataAccessGrant)
                .where(DataAccessGrant.grant_id == grant_id)
                .values(expires_on=TODAY - dt.timedelta(days=1))
            )
            session().commit()

    @contextmanager
    def context(self) -> Iterator[None]:
        with self.app.test_request_context():
            yield

    def participant(self, participant_id: str) -> Participant:
        found = session().scalar(
            select(Participant).where(Participant.participant_id == participant_id)
        )
        assert found is not None
        return found

    def study_key(self, grant_id: str) -> str:
        key = session().scalar(
            select(DataAccessGrant.study_key).where(DataAccessGrant.grant_id == grant_id)
        )
        assert key is not None
        return key


@pytest.fixture
def world(
    app: Flask,
    client: FlaskClient,
    api_user: Callable[..., ApiUser],
    consent_forms: None,
) -> World:
    return World(
        app=app,
        client=client,
        admin=api_user(Role.ADMIN),
        researcher=api_user(Role.RESEARCHER),
        outsider=api_user(Role.RESEARCHER),
        clinician=api_user(Role.CLINICIAN),
    )
