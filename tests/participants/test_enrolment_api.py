"""Enrolment through the API: what a trust's system and a clinician's client rely on.

Every rule of API.md is tried through ``POST /api/v1/participants``: a refused enrolment is
a 422 naming each bad field (nested ones dotted), and nothing is written, not even an audit
event. Duplicates are 409 and say nothing about the person already enrolled.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from registry import clock, create_app
from registry.audit.models import AuditEvent
from registry.auth.models import Site
from registry.config import Settings
from registry.consents.items import CONSENT_ITEMS
from registry.enrolment.schemas import load_enrolment
from registry.errors import ValidationFailed
from registry.participants.models import Participant
from registry.participants.reference import reference
from registry.participants.synthetic import check_digit
from tests.conftest import ApiUser, enrolment_body, make_settings, new_nhs_number

pytestmark = pytest.mark.usefixtures("consent_forms")

URL = "/api/v1/participants"
TODAY = clock.today()


# -- helpers ----------------------------------------------------------------------------------


def years_ago(years: int, *, days: int = 0) -> str:
    """The date ``years`` before today, moved ``days`` later, as ISO text."""
    try:
        then = TODAY.replace(year=TODAY.year - years)
    except ValueError:  # 29 February
        then = TODAY.replace(year=TODAY.year - years, day=28)
    return (then + dt.timedelta(days=days)).isoformat()


def next_month() -> str:
    first = TODAY.replace(day=1) + dt.timedelta(days=32)
    return f"{first:%Y-%m}"


def wrong_check_digit(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


def real_range_nhs_number() -> str:
    """A Modulus 11 valid number outside the 9xx test range."""
    for body in range(401_023_213, 401_023_313):
        check = check_digit(str(body))
        if check is not None:
            return f"{body}{check}"
    raise AssertionError("no valid number in range")


def counts(app: Flask) -> tuple[int, int]:
    """(participants, audit events) as the database holds them now."""
    from registry.db import session

    with app.app_context():
        db = session()
        participants = db.scalar(select(func.count()).select_from(Participant))
        events = db.scalar(select(func.count()).select_from(AuditEvent))
    return int(participants or 0), int(events or 0)


def with_consent_items(cohort: str = "TRD", **items: Any) -> dict[str, Any]:
    body = enrolment_body(cohort)
    body["consent"]["items"].update(items)
    return body


def with_consent(cohort: str = "TRD", **consent: Any) -> dict[str, Any]:
    body = enrolment_body(cohort)
    body["consent"].update(consent)
    return body


def with_clinical(cohort: str = "TRD", **clinical: Any) -> dict[str, Any]:
    body = enrolment_body(cohort)
    body["clinical"].update(clinical)
    return body


def without(cohort: str, *path: str) -> dict[str, Any]:
    body = enrolment_body(cohort)
    holder = body
    for key in path[:-1]:
        holder = holder[key]
    del holder[path[-1]]
    return body


def assert_refused(response: Any, *fields: str) -> dict[str, list[str]]:
    """A 422 validation_error naming at least ``fields``; its field messages."""
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert error["status"] == 422
    assert error["code"] == "validation_error"
    assert error["message"]
    named: dict[str, list[str]] = error["fields"]
    for field in fields:
        assert named.get(field), f"{field} not named in {named}"
    return named


@pytest.fixture
def without_synthetic_numbers(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The app as production runs it: 9xx test-range NHS numbers refused."""
    settings = dataclasses.replace(app.config["SETTINGS"], allow_synthetic_nhs_numbers=False)
    monkeypatch.setitem(app.config, "SETTINGS", settings)
    yield


# -- success ----------------------------------------------------------------------------------


def test_clinician_enrols_a_trd_participant(
    client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    clinician = api_user("clinician")
    body = enrolment_body("TRD")

    response = client.post(URL, json=body, headers=clinician.headers)

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["cohort"] == "TRD"
    assert created["status"] == "active"
    assert created["site"] == clinician.account.site_code
    assert created["participant_id"].startswith("P-")
    assert created["nhs_number"].replace(" ", "") == body["nhs_number"]
    assert created["ethnicity_group"] == "asian"
    assert created["postcode_district"] == "B15"
    assert created["consent"]["registry_storage"] is True
    assert created["episode_start"] == "2025-06"


def test_enrolment_ep_participant_is_created_with_onset_month(
    client: FlaskClient, clinician: ApiUser
) -> None:
    body = with_clinical("EP", first_antipsychotic_on="2025-10-20")

    response = client.post(URL, json=body, headers=clinician.headers)

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["cohort"] == "EP"
    assert created["psychosis_onset"] == "2025-09"
    assert created["episode_start"] is None
    assert created["dup_weeks"] == 7  # 1 September to 20 October, whole weeks
    assert created["consent_form_version"] == "EP-PIS-2.0"


def test_enrolment_response_shows_the_nhs_number_3_3_4(
    client: FlaskClient, clinician: ApiUser
) -> None:
    number = new_nhs_number()

    response = client.post(URL, json=enrolment_body(nhs_number=number), headers=clinician.headers)

    assert response.status_code == 201
    assert response.get_json()["nhs_number"] == f"{number[:3]} {number[3:6]} {number[6:]}"


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(lambda n: f"{n[:3]} {n[3:6]} {n[6:]}", id="spaced"),
        pytest.param(lambda n: f"{n[:3]}-{n[3:6]}-{n[6:]}", id="hyphenated"),
        pytest.param(lambda n: f" {n} ", id="padded"),
    ],
)
def test_enrolment_nhs_number_with_separators_is_accepted(
    client: FlaskClient, clinician: ApiUser, spelling: Callable[[str], str]
) -> None:
    number = new_nhs_number()

    response = client.post(
        URL, json=enrolment_body(nhs_number=spelling(number)), headers=clinician.headers
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["nhs_number"].replace(" ", "") == number


@pytest.mark.parametrize(
    ("cohort", "date_of_birth"),
    [
        pytest.param("EP", years_ago(14), id="EP-14-today"),
        pytest.param("EP", years_ago(66, days=1), id="EP-65-last-day"),
        pytest.param("TRD", years_ago(18), id="TRD-18-today"),
        pytest.param("TRD", years_ago(90), id="TRD-90"),
    ],
)
def test_enrolment_ages_at_the_edges_of_the_cohort_range_are_accepted(
    client: FlaskClient, clinician: ApiUser, cohort: str, date_of_birth: str
) -> None:
    body = enrolment_body(cohort, date_of_birth=date_of_birth)
    body["clinical"]["psychosis_onset" if cohort == "EP" else "episode_start"] = f"{TODAY:%Y-%m}"

    response = client.post(URL, json=body, headers=clinician.headers)

    assert response.status_code == 201, response.get_json()


@pytest.mark.parametrize(
    ("cohort", "code"),
    [
        ("EP", "F20.0"),
        ("EP", "F25.1"),
        ("EP", "F29"),
        ("EP", "F30.2"),
        ("EP", "F31.2"),
        ("EP", "F31.5"),
        ("EP", "F32.3"),
        ("EP", "F33.3"),
        ("TRD", "F32.2"),
        ("TRD", "F33.1"),
    ],
)
def test_enrolment_diagnosis_in_the_cohorts_set_is_accepted(
    client: FlaskClient, clinician: ApiUser, cohort: str, code: str
) -> None:
    response = client.post(
        URL, json=with_clinical(cohort, diagnosis_icd10=code), headers=clinician.headers
    )

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["diagnosis_icd10"] == code


def test_enrolment_optional_contact_details_and_imd_may_be_left_out(
    client: FlaskClient, clinician: ApiUser
) -> None:
    body = enrolment_body("TRD", email=None, phone=None, imd_decile=None, imd_version=None)

    response = client.post(URL, json=body, headers=clinician.headers)

    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert (created["email"], created["phone"], created["imd_decile"]) == (None, None, None)


def test_enrolment_at_own_site_named_explicitly_is_accepted(
    client: FlaskClient, clinician: ApiUser
) -> None:
    own = clinician.account.site_code

    response = client.post(URL, json=enrolment_body(site=own), headers=clinician.headers)

    assert response.status_code == 201, response.get_json()
    assert response.get_json()["site"] == own


def test_enrolment_real_range_nhs_number_is_accepted_without_synthetic_numbers(
    client: FlaskClient, clinician: ApiUser, without_synthetic_numbers: None
) -> None:
    number = real_range_nhs_number()

    response = client.post(URL, json=enrolment_body(nhs_number=number), headers=clinician.headers)

    assert response.status_code == 201, response.get_json()


# -- refused: one rule at a time --------------------------------------------------------------

# Digits that str.isdigit() accepts but an NHS number never has.
FULLWIDTH_NHS_NUMBER = "".join(chr(0xFF10 + int(d)) for d in "9990123454")

# (body builder, the field that must be named). Each builder makes a fresh body.
INVALID: list[Any] = [
    # NHS number
    pytest.param(lambda: enrolment_body(nhs_number="999012345"), "nhs_number", id="nhs-9-digits"),
    pytest.param(
        lambda: enrolment_body(nhs_number="99901234567"), "nhs_number", id="nhs-11-digits"
    ),
    pytest.param(lambda: enrolment_body(nhs_number="99901234AB"), "nhs_number", id="nhs-letters"),
    pytest.param(
        lambda: enrolment_body(nhs_number=FULLWIDTH_NHS_NUMBER), "nhs_number", id="nhs-fullwidth"
    ),
    pytest.param(
        lambda: enrolment_body(nhs_number=wrong_check_digit(new_nhs_number())),
        "nhs_number",
        id="nhs-check-digit",
    ),
    pytest.param(
        lambda: enrolment_body(nhs_number="0000000000"), "nhs_number", id="nhs-placeholder"
    ),
    pytest.param(lambda: enrolment_body(nhs_number=9990123454), "nhs_number", id="nhs-number-type"),
    pytest.param(lambda: without("TRD", "nhs_number"), "nhs_number", id="nhs-missing"),
    # names and contact details
    pytest.param(lambda: enrolment_body(given_name="   "), "given_name", id="given-name-blank"),
    pytest.param(lambda: without("TRD", "family_name"), "family_name", id="family-name-missing"),
    pytest.param(lambda: enrolment_body(family_name="X" * 201), "family_name", id="name-too-long"),
    pytest.param(lambda: enrolment_body(email="ada-at-example"), "email", id="email"),
    pytest.param(lambda: enrolment_body(phone="12345"), "phone", id="phone"),
    # dates of birth
    pytest.param(
        lambda: enrolment_body(date_of_birth=(TODAY + dt.timedelta(days=1)).isoformat()),
        "date_of_birth",
        id="dob-future",
    ),
    pytest.param(
        lambda: enrolment_body(date_of_birth="12/04/1990"), "date_of_birth", id="dob-not-iso"
    ),
    pytest.param(
        lambda: enrolment_body(date_of_birth="1990-02-30"), "date_of_birth", id="dob-no-such-day"
    ),
    pytest.param(
        lambda: enrolment_body(date_of_birth="1899-12-31"), "date_of_birth", id="dob-too-early"
    ),
    pytest.param(
        lambda: enrolment_body("TRD", date_of_birth=years_ago(18, days=1)),
        "date_of_birth",
        id="TRD-age-17",
    ),
    pytest.param(
        lambda: enrolment_body("EP", date_of_birth=years_ago(14, days=1)),
        "date_of_birth",
        id="EP-age-13",
    ),
    pytest.param(
        lambda: enrolment_body("EP", date_of_birth=years_ago(66)),
        "date_of_birth",
        id="EP-age-66",
    ),
    # postcode
    pytest.param(lambda: enrolment_body(postcode="B15"), "postcode", id="postcode-outward-only"),
    pytest.param(lambda: enrolment_body(postcode="12345"), "postcode", id="postcode-zip"),
    pytest.param(lambda: enrolment_body(postcode="B15 2TTX"), "postcode", id="postcode-long"),
    # coded demographics
    pytest.param(lambda: enrolment_body(sex="F"), "sex", id="sex-letter"),
    pytest.param(lambda: enrolment_body(sex="unknown"), "sex", id="sex-unknown"),
    pytest.param(lambda: enrolment_body(gender_identity="5"), "gender_identity", id="gender-5"),
    pytest.param(lambda: enrolment_body(gender_identity=1), "gender_identity", id="gender-int"),
    pytest.param(lambda: enrolment_body(ethnicity="I"), "ethnicity", id="ethnicity-I"),
    pytest.param(lambda: enrolment_body(ethnicity="O"), "ethnicity", id="ethnicity-O"),
    pytest.param(lambda: enrolment_body(ethnicity="Q"), "ethnicity", id="ethnicity-Q"),
    pytest.param(lambda: enrolment_body(ethnicity="T"), "ethnicity", id="ethnicity-T"),
    pytest.param(lambda: enrolment_body(ethnicity="h"), "ethnicity", id="ethnicity-lowercase"),
    pytest.param(lambda: enrolment_body(imd_decile=0), "imd_decile", id="imd-0"),
    pytest.param(lambda: enrolment_body(imd_decile=11), "imd_decile", id="imd-11"),
    pytest.param(lambda: enrolment_body(imd_decile="2"), "imd_decile", id="imd-string"),
    pytest.param(lambda: enrolment_body(imd_decile=2.5), "imd_decile", id="imd-fraction"),
    pytest.param(lambda: enrolment_body(imd_decile=True), "imd_decile", id="imd-boolean"),
    pytest.param(lambda: enrolment_body(imd_version=None), "imd_version", id="imd-no-version"),
    pytest.param(lambda: without("TRD", "imd_version"), "imd_version", id="imd-version-missing"),
    pytest.param(lambda: enrolment_body(imd_version="IoD2015"), "imd_version", id="imd-2015"),
    # cohort and clinical
    pytest.param(lambda: enrolment_body(cohort="XX"), "cohort", id="cohort-unknown"),
    pytest.param(
        lambda: with_clinical("EP", diagnosis_icd10="F32.2"),
        "clinical.diagnosis_icd10",
        id="EP-nonpsychotic-depression",
    ),
    pytest.param(
        lambda: with_clinical("EP", diagnosis_icd10="F31.1"),
        "clinical.diagnosis_icd10",
        id="EP-mania-without-psychosis",
    ),
    pytest.param(
        lambda: with_clinical("EP", diagnosis_icd10="F10.5"),
        "clinical.diagnosis_icd10",
        id="EP-substance-psychosis",
    ),
    pytest.param(
        lambda: with_clinical("TRD", diagnosis_icd10="F31.4"),
        "clinical.diagnosis_icd10",
        id="TRD-bipolar",
    ),
    pytest.param(
        lambda: with_clinical("TRD", diagnosis_icd10="F20.0"),
        "clinical.diagnosis_icd10",
        id="TRD-schizophrenia",
    ),
    pytest.param(
        lambda: with_clinical("TRD", diagnosis_icd10="depression"),
        "clinical.diagnosis_icd10",
        id="icd-not-a-code",
    ),
    pytest.param(
        lambda: with_clinical("EP", psychosis_onset=next_month()),
        "clinical.psychosis_onset",
        id="EP-onset-future",
    ),
    pytest.param(
        lambda: without("EP", "clinical", "psychosis_onset"),
        "clinical.psychosis_onset",
        id="EP-onset-missing",
    ),
    pytest.param(
        lambda: with_clinical("EP", psychosis_onset="2000-01"),
        "clinical.psychosis_onset",
        id="EP-onset-before-birth",
    ),
    pytest.param(
        lambda: with_clinical("EP", first_antipsychotic_on="2025-08-31"),
        "clinical.first_antipsychotic_on",
        id="EP-treated-before-onset",
    ),
    pytest.param(
        lambda: with_clinical("EP", eip_accepted_on=(TODAY + dt.timedelta(days=1)).isoformat()),
        "clinical.eip_accepted_on",
        id="EP-eip-future",
    ),
    pytest.param(
        lambda: with_clinical("TRD", episode_start=next_month()),
        "clinical.episode_start",
        id="TRD-episode-future",
    ),
    pytest.param(
        lambda: with_clinical("TRD", episode_start="2025-13"),
        "clinical.episode_start",
        id="TRD-episode-month-13",
    ),
    pytest.param(
        lambda: with_clinical("TRD", episode_start="0000-01"),
        "clinical.episode_start",
        id="TRD-episode-year-0",
    ),
    pytest.param(
        lambda: with_clinical("TRD", episode_start="2025-06-01"),
        "clinical.episode_start",
        id="TRD-episode-a-date",
    ),
    pytest.param(
        lambda: without("TRD", "clinical", "episode_start"),
        "clinical.episode_start",
        id="TRD-episode-missing",
    ),
    pytest.param(
        lambda: with_clinical("TRD", psychosis_onset="2025-06"),
        "clinical.psychosis_onset",
        id="TRD-with-onset",
    ),
    pytest.param(
        lambda: with_clinical("TRD", dup_weeks=3),
        "clinical.dup_weeks",
        id="TRD-with-dup",
    ),
    pytest.param(
        lambda: with_clinical("EP", dup_weeks=-1),
        "clinical.dup_weeks",
        id="EP-dup-negative",
    ),
    pytest.param(lambda: without("TRD", "clinical"), "clinical", id="clinical-missing"),
    # consent
    pytest.param(
        lambda: with_consent_items(registry_storage=False),
        "consent.items.registry_storage",
        id="registry-storage-refused",
    ),
    pytest.param(
        lambda: without("TRD", "consent", "items", "samples"),
        "consent.items.samples",
        id="consent-item-unanswered",
    ),
    pytest.param(
        lambda: with_consent_items(inform_gp=None),
        "consent.items.inform_gp",
        id="consent-item-null",
    ),
    pytest.param(
        lambda: with_consent_items(samples="yes"),
        "consent.items.samples",
        id="consent-item-yes",
    ),
    pytest.param(
        lambda: with_consent_items(record_access=1),
        "consent.items.record_access",
        id="consent-item-one",
    ),
    pytest.param(
        lambda: with_consent_items(record_linkage=0),
        "consent.items.record_linkage",
        id="consent-item-zero",
    ),
    pytest.param(
        lambda: with_consent_items(biobank=True),
        "consent.items.biobank",
        id="consent-item-unknown",
    ),
    pytest.param(
        lambda: with_consent(form_version="TRD-PIS-9.9"),
        "consent.form_version",
        id="form-version-unknown",
    ),
    pytest.param(
        lambda: with_consent(form_version="EP-PIS-2.0"),
        "consent.form_version",
        id="form-version-other-cohort",
    ),
    pytest.param(
        lambda: with_consent(signed_on="2019-12-31"),
        "consent.signed_on",
        id="signed-before-form-in-force",
    ),
    pytest.param(
        lambda: with_consent(signed_on=(TODAY + dt.timedelta(days=1)).isoformat()),
        "consent.signed_on",
        id="signed-in-future",
    ),
    pytest.param(
        lambda: {**with_consent(signed_on="2023-06-01"), "date_of_birth": "2024-01-01"},
        "consent.signed_on",
        id="signed-before-birth",
    ),
    pytest.param(
        lambda: with_consent(capacity="consultee"),
        "consent.consultee",
        id="consultee-not-named",
    ),
    pytest.param(lambda: without("TRD", "consent"), "consent", id="consent-missing"),
    # shape
    pytest.param(lambda: enrolment_body(address="1 High St"), "address", id="unknown-field"),
    pytest.param(
        lambda: with_clinical("TRD", severity="high"), "clinical.severity", id="unknown-nested"
    ),
    pytest.param(lambda: enrolment_body(site="NOSUCH"), "site", id="site-unknown"),
]


@pytest.mark.parametrize(("build", "field"), INVALID)
def test_enrolment_invalid_field_is_refused_and_nothing_written(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    build: Callable[[], dict[str, Any]],
    field: str,
) -> None:
    body = build()
    before = counts(app)

    response = client.post(URL, json=body, headers=clinician.headers)

    assert_refused(response, field)
    assert counts(app) == before


def test_enrolment_at_another_site_is_refused(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    create_site: Callable[..., Site],
) -> None:
    other = create_site()
    before = counts(app)

    response = client.post(URL, json=enrolment_body(site=other.code), headers=clinician.headers)

    assert_refused(response, "site")
    assert counts(app) == before


def test_enrolment_synthetic_nhs_number_is_refused_when_not_allowed(
    app: Flask, client: FlaskClient, clinician: ApiUser, without_synthetic_numbers: None
) -> None:
    before = counts(app)

    response = client.post(URL, json=enrolment_body(), headers=clinician.headers)

    assert_refused(response, "nhs_number")
    assert counts(app) == before


def test_enrolment_schema_refuses_synthetic_numbers_under_production_like_settings(
    database_url: str, keyring_path: Path, tmp_path: Path
) -> None:
    strict = create_app(
        make_settings(database_url, keyring_path, tmp_path, allow_synthetic_nhs_numbers=False)
    )

    with strict.test_request_context(), pytest.raises(ValidationFailed) as refused:
        load_enrolment(enrolment_body())

    strict.extensions["registry.db"].engine.dispose()
    assert set(refused.value.fields) == {"nhs_number"}


@pytest.mark.parametrize(
    ("setting", "cohort", "date_of_birth"),
    [
        pytest.param({"ep_min_age": 16}, "EP", years_ago(15), id="EP-min-16-age-15"),
        pytest.param({"ep_max_age": 35}, "EP", years_ago(36), id="EP-max-35-age-36"),
        pytest.param({"trd_min_age": 21}, "TRD", years_ago(20), id="TRD-min-21-age-20"),
    ],
)
def test_enrolment_age_limits_follow_the_settings(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    monkeypatch: pytest.MonkeyPatch,
    setting: dict[str, int],
    cohort: str,
    date_of_birth: str,
) -> None:
    monkeypatch.setitem(
        app.config, "SETTINGS", dataclasses.replace(app.config["SETTINGS"], **setting)
    )
    body = enrolment_body(cohort, date_of_birth=date_of_birth)

    response = client.post(URL, json=body, headers=clinician.headers)

    assert_refused(response, "date_of_birth")


def test_enrolment_affective_psychosis_is_refused_for_ep_when_not_configured(
    app: Flask, client: FlaskClient, clinician: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(app.config["SETTINGS"], ep_affective_psychoses=False)
    monkeypatch.setitem(app.config, "SETTINGS", settings)

    response = client.post(
        URL, json=with_clinical("EP", diagnosis_icd10="F32.3"), headers=clinician.headers
    )

    assert_refused(response, "clinical.diagnosis_icd10")


# -- refused: several problems, malformed bodies, and what messages say -------------------------


def test_enrolment_with_several_problems_reports_every_one(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    body = enrolment_body(
        "TRD",
        nhs_number="123",
        date_of_birth=(TODAY + dt.timedelta(days=3)).isoformat(),
        postcode="nowhere",
        ethnicity="O",
        imd_decile="2",
    )
    body["consent"]["items"]["registry_storage"] = False
    body["consent"]["items"]["samples"] = "yes"
    body["clinical"]["episode_start"] = next_month()
    body["clinical"]["diagnosis_icd10"] = "F31.4"
    before = counts(app)

    response = client.post(URL, json=body, headers=clinician.headers)

    named = assert_refused(response)
    assert set(named) == {
        "nhs_number",
        "date_of_birth",
        "postcode",
        "ethnicity",
        "imd_decile",
        "consent.items.registry_storage",
        "consent.items.samples",
        "clinical.episode_start",
        "clinical.diagnosis_icd10",
    }
    assert counts(app) == before


def test_enrolment_schema_and_registry_problems_are_reported_together(
    client: FlaskClient, clinician: ApiUser
) -> None:
    """Once the body is well formed, site and consent-form problems come out in one answer."""
    body = enrolment_body("TRD", site="NOSUCH")
    body["consent"]["form_version"] = "TRD-PIS-9.9"

    response = client.post(URL, json=body, headers=clinician.headers)

    assert set(assert_refused(response)) == {"site", "consent.form_version"}


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param('{"cohort": "TRD",', id="truncated"),
        pytest.param("{'cohort': 'TRD'}", id="single-quotes"),
        pytest.param("not json at all", id="text"),
    ],
)
def test_enrolment_malformed_json_is_400(
    app: Flask, client: FlaskClient, clinician: ApiUser, payload: str
) -> None:
    before = counts(app)

    response = client.post(
        URL, data=payload, content_type="application/json", headers=clinician.headers
    )

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "malformed_json"
    assert counts(app) == before


@pytest.mark.parametrize(
    "payload",
    [pytest.param([], id="list"), pytest.param("TRD", id="string"), pytest.param(42, id="number")],
)
def test_enrolment_body_that_is_not_an_object_is_refused(
    client: FlaskClient, clinician: ApiUser, payload: Any
) -> None:
    response = client.post(URL, json=payload, headers=clinician.headers)

    assert assert_refused(response) == {"_schema": ["Invalid input type."]}


def test_enrolment_errors_never_repeat_the_number_or_names_given(
    client: FlaskClient, clinician: ApiUser
) -> None:
    number = wrong_check_digit(new_nhs_number())
    given, family = "Zebedeeglossop", "Featherstonehaugh-Quuxley"
    body = enrolment_body(
        nhs_number=f"{number[:3]} {number[3:6]} {number[6:]}",
        given_name=given,
        family_name=family,
        email=f"{given}@nowhere",
        phone=f"{family}",
        postcode=f"{given[:6]}",
    )

    response = client.post(URL, json=body, headers=clinician.headers)

    text = response.get_data(as_text=True)
    assert_refused(response, "nhs_number", "email", "phone", "postcode")
    for secret in (number, number[:3] + " " + number[3:6], given, family):
        assert secret not in text


def test_enrolment_errors_never_repeat_a_name_that_is_too_long(
    client: FlaskClient, clinician: ApiUser
) -> None:
    family = "Quillfeather" * 20

    response = client.post(URL, json=enrolment_body(family_name=family), headers=clinician.headers)

    assert_refused(response, "family_name")
    assert "Quillfeather" not in response.get_data(as_text=True)


# -- who may enrol ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["researcher", "partner", "admin"])
def test_enrolment_by_a_role_other_than_clinician_is_forbidden(
    app: Flask, client: FlaskClient, api_user: Callable[..., ApiUser], role: str
) -> None:
    user = api_user(role)
    participants_before, _ = counts(app)

    response = client.post(URL, json=enrolment_body(), headers=user.headers)

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert counts(app)[0] == participants_before


def test_enrolment_without_a_token_is_401(app: Flask, client: FlaskClient) -> None:
    response = client.post(URL, json=enrolment_body())

    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthorised"


# -- duplicates ----------------------------------------------------------------------------------


def enrol(client: FlaskClient, user: ApiUser, **overrides: Any) -> dict[str, Any]:
    response = client.post(URL, json=enrolment_body(**overrides), headers=user.headers)
    assert response.status_code == 201, response.get_json()
    created: dict[str, Any] = response.get_json()
    return created


@pytest.mark.parametrize(
    "respell",
    [
        pytest.param(lambda n: n, id="same"),
        pytest.param(lambda n: f"{n[:3]} {n[3:6]} {n[6:]}", id="spaced"),
        pytest.param(lambda n: f"{n[:3]}  {n[3:6]}{n[6:]} ", id="odd-spacing"),
        pytest.param(lambda n: f"{n[:3]}-{n[3:6]}-{n[6:]}", id="hyphenated"),
    ],
)
def test_enrolment_of_an_enrolled_nhs_number_is_a_duplicate(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    respell: Callable[[str], str],
) -> None:
    number = new_nhs_number()
    first = enrol(client, clinician, nhs_number=number, family_name="Wintergreen")
    before = counts(app)

    response = client.post(
        URL,
        json=enrolment_body(nhs_number=respell(number), family_name="Somebody"),
        headers=clinician.headers,
    )

    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error["code"] == "duplicate_participant"
    assert error["status"] == 409
    text = response.get_data(as_text=True)
    site = clinician.account.site_code
    for detail in (first["participant_id"], site, "Wintergreen", "Ada", number, number[:3] + " "):
        assert detail not in text
    assert_refusal_audited_and_nothing_else(app, before, clinician)


def test_enrolment_duplicate_at_another_site_says_nothing_of_that_site(
    app: Flask, client: FlaskClient, api_user: Callable[..., ApiUser]
) -> None:
    here, there = api_user("clinician"), api_user("clinician")
    number = new_nhs_number()
    first = enrol(client, there, nhs_number=number, family_name="Ravenscroft", cohort="EP")
    before = counts(app)

    response = client.post(URL, json=enrolment_body(nhs_number=number), headers=here.headers)

    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "duplicate_participant"
    text = response.get_data(as_text=True)
    for detail in (first["participant_id"], there.account.site_code, "Ravenscroft", "EP"):
        assert detail not in text
    assert_refusal_audited_and_nothing_else(app, before, here)


def assert_refusal_audited_and_nothing_else(
    app: Flask, before: tuple[int, int], clinician: ApiUser
) -> None:
    """A duplicate attempt writes no participant, but is recorded: repeated attempts could
    be someone probing who is enrolled. The record names no participant."""
    participants, events = counts(app)
    assert (participants, events) == (before[0], before[1] + 1)
    with app.app_context():
        from registry.db import session

        last = session().scalar(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1))
    assert last is not None
    assert last.action == "refused.duplicate_participant"
    assert last.actor == f"user:{clinician.account.user.id}"
    assert last.participant_id is None


def test_enrolment_of_a_different_number_is_not_a_duplicate(
    client: FlaskClient, clinician: ApiUser
) -> None:
    first = enrol(client, clinician)
    second = enrol(client, clinician)

    assert first["participant_id"] != second["participant_id"]


# -- what enrolment writes -----------------------------------------------------------------------


def test_enrolment_is_audited_once_without_identifiers(
    app: Flask, client: FlaskClient, clinician: ApiUser
) -> None:
    number = new_nhs_number()
    body = enrolment_body(nhs_number=number, family_name="Pemberton-Oakes")

    created = client.post(URL, json=body, headers=clinician.headers).get_json()

    from registry.db import session

    with app.app_context():
        events = session().scalars(
            select(AuditEvent)
            .where(AuditEvent.participant_id == created["participant_id"])
            .order_by(AuditEvent.seq)
        )
        rows = [(e.action, e.purpose, e.actor, e.details) for e in events]
    # The response echoes what was sent, not a stored identity read back: one event.
    assert [(action, purpose) for action, purpose, _, _ in rows] == [("participant.enrol", None)]
    assert {actor for _, _, actor, _ in rows} == {f"user:{clinician.account.user.id}"}
    written = json.dumps(rows)
    for secret in (number, "Pemberton-Oakes", "Ada", "B15 2TT", "ada@example.org", "1990-04-12"):
        assert secret not in written


def test_enrolment_records_every_consent_item_as_answered(
    client: FlaskClient, clinician: ApiUser
) -> None:
    body = with_consent_items(samples=False, commercial_partners=False)

    created = client.post(URL, json=body, headers=clinician.headers).get_json()

    assert created["consent"] == {
        item: item not in ("samples", "commercial_partners") for item in CONSENT_ITEMS
    }


def _as_typed(body: dict[str, Any]) -> dict[str, Any]:
    """The body as a clinician might type it: spaced NHS number, lower-case postcode."""
    number = body["nhs_number"]
    return {**body, "nhs_number": f"{number[:3]} {number[3:6]} {number[6:]}", "postcode": "b15 2tt"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(enrolment_body("TRD"), id="TRD"),
        pytest.param(
            enrolment_body(
                "EP",
                clinical={
                    "diagnosis_icd10": "F20.0",
                    "psychosis_onset": "2025-09",
                    "first_antipsychotic_on": "2025-11-03",
                    "eip_accepted_on": "2025-10-20",
                },
            ),
            id="EP, untreated weeks worked out",
        ),
        pytest.param(
            _as_typed(
                {k: v for k, v in enrolment_body("EP").items() if k not in ("email", "phone")}
            ),
            id="as typed, no email or phone",
        ),
    ],
)
def test_enrolment_answers_with_the_record_as_stored(
    client: FlaskClient, clinician: ApiUser, body: dict[str, Any]
) -> None:
    """The enrolment's answer is made from what was sent, not read back; it must be what
    reading the record back gives."""
    created = client.post(URL, json=body, headers=clinician.headers)
    assert created.status_code == 201, created.get_json()

    stored = client.get(f"{URL}/{created.get_json()['participant_id']}", headers=clinician.headers)

    assert stored.status_code == 200
    assert created.get_json() == stored.get_json()


def test_enrolment_trd_refuses_recurrent_depression_in_remission(
    client: FlaskClient, clinician: ApiUser
) -> None:
    # F33.4 is "recurrent depressive disorder, currently in remission": no current episode
    # to be treatment-resistant in.
    response = client.post(
        URL, json=with_clinical("TRD", diagnosis_icd10="F33.4"), headers=clinician.headers
    )

    assert_refused(response, "clinical.diagnosis_icd10")


def test_enrolment_trd_takes_depression_in_remission_when_configured(
    app: Flask, client: FlaskClient, clinician: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(app.config["SETTINGS"], trd_in_remission=True)
    monkeypatch.setitem(app.config, "SETTINGS", settings)

    response = client.post(
        URL, json=with_clinical("TRD", diagnosis_icd10="F33.4"), headers=clinician.headers
    )

    assert response.status_code == 201, response.json


@pytest.mark.parametrize("code", ["F12.5", "F19.5", "F10.52"])
def test_enrolment_ep_takes_substance_induced_psychosis_only_when_configured(
    app: Flask,
    client: FlaskClient,
    clinician: ApiUser,
    monkeypatch: pytest.MonkeyPatch,
    code: str,
) -> None:
    body = with_clinical("EP", diagnosis_icd10=code)
    refused = client.post(URL, json=body, headers=clinician.headers)
    assert_refused(refused, "clinical.diagnosis_icd10")

    settings = dataclasses.replace(app.config["SETTINGS"], ep_substance_induced_psychosis=True)
    monkeypatch.setitem(app.config, "SETTINGS", settings)
    accepted = client.post(URL, json=body, headers=clinician.headers)

    assert accepted.status_code == 201, accepted.json


def test_enrolment_ep_never_takes_other_substance_use_disorders(
    app: Flask, client: FlaskClient, clinician: ApiUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = dataclasses.replace(app.config["SETTINGS"], ep_substance_induced_psychosis=True)
    monkeypatch.setitem(app.config, "SETTINGS", settings)

    response = client.post(
        URL, json=with_clinical("EP", diagnosis_icd10="F10.2"), headers=clinician.headers
    )

    assert_refused(response, "clinical.diagnosis_icd10")


def test_every_optional_diagnosis_set_is_switched_by_a_boolean_setting() -> None:
    settings = {field.name: field.type for field in dataclasses.fields(Settings)}
    for rule in reference().cohorts.values():
        for optional in rule.optional.values():
            assert settings.get(optional.setting) in (bool, "bool"), optional.setting
