"""Enrolment through the API: what a trust's system and a clinician's client rely on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from tests.conftest import ApiUser, enrolment_body

pytestmark = pytest.mark.usefixtures("consent_forms")


def test_clinician_enrols_a_trd_participant(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    clinician = api_user("clinician")
    body = enrolment_body("TRD")

    response = client.post("/api/v1/participants", json=body, headers=clinician.headers)

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["cohort"] == "TRD"
    assert created["status"] == "active"
    assert created["site"] == clinician.account.user.site.code
    assert created["participant_id"].startswith("P-")
    assert created["nhs_number"].replace(" ", "") == body["nhs_number"]
    assert created["ethnicity_group"] == "asian"
    assert created["postcode_district"] == "B15"
    assert created["consent"]["registry_storage"] is True
    assert created["episode_start"] == "2025-06"
