"""The FHIR R4 view of an extract, validated resource by resource with fhir.resources.

fhir.resources 8 models FHIR R5 by default and R4B (4.3.0) as a subpackage; it has no
4.0.1 models. R4B kept R4's ResearchStudy, ResearchSubject, Patient, Consent, Observation
and QuestionnaireResponse as they were (its changes were to medication definitions and
subscriptions), so these validate the R4 shapes the registry serves.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from tests.exports.conftest import PHQ9_ITEMS, World, random_name

W1, W2, W3 = "no_further_contact", "no_further_data", "full"


def _bundle(world: World, grant_id: str, **query: Any) -> dict[str, Any]:
    response = world.fhir(grant_id, **query)
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/fhir+json"
    return dict(json.loads(response.get_data(as_text=True)))


def _resources(bundle: dict[str, Any], resource_type: str) -> list[dict[str, Any]]:
    return [
        entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == resource_type
    ]


@pytest.fixture
def cohort(world: World) -> dict[str, str]:
    """Four people: active with item scores, W1, W2 and W3; a TRD trial for the active one."""
    people = {}
    for status in ("active", W1, W2, W3):
        participant_id = world.enrol(given_name=random_name(), family_name=random_name(12))
        assert world.assess(participant_id, items=PHQ9_ITEMS).status_code == 201
        assert world.assess(participant_id, instrument="GAD7", total=8).status_code == 201
        if status != "active":
            world.withdraw(participant_id, status)
        people[status] = participant_id
    return people


def test_every_resource_in_the_bundle_validates(world: World, cohort: dict[str, str]) -> None:
    bundle = _bundle(world, world.grant())

    for entry in bundle["entry"]:
        resource = entry["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    Bundle.model_validate(bundle)
    counts: dict[str, int] = {}
    for entry in bundle["entry"]:
        kind = entry["resource"]["resourceType"]
        counts[kind] = counts.get(kind, 0) + 1
    assert counts == {
        "ResearchStudy": 1,
        "Patient": 3,
        "ResearchSubject": 3,
        "Consent": 3,
        "Observation": 6,
        "QuestionnaireResponse": 3,
    }


def test_bundle_round_trips_through_fhir_resources(world: World, cohort: dict[str, str]) -> None:
    text = world.fhir(world.grant()).get_data(as_text=True)

    parsed = Bundle.model_validate_json(text)
    again = Bundle.model_validate_json(parsed.model_dump_json())

    assert again == parsed
    assert again.type == "collection"
    assert len(again.entry or []) == len(json.loads(text)["entry"])


def test_withdrawn_participants_are_withdrawn_subjects_with_a_deny_provision(
    world: World, cohort: dict[str, str]
) -> None:
    bundle = _bundle(world, world.grant())

    subjects = {s["id"]: s for s in _resources(bundle, "ResearchSubject")}
    consents = {c["id"]: c for c in _resources(bundle, "Consent")}
    denials = {
        pseudonym: [
            coding["code"]
            for provision in consent["provision"]["provision"]
            if provision["type"] == "deny"
            for concept in provision["code"]
            for coding in concept["coding"]
        ]
        for pseudonym, consent in consents.items()
    }
    statuses = sorted(subject["status"] for subject in subjects.values())
    assert statuses == ["on-study", "withdrawn", "withdrawn"]
    withdrawn = [p for p, s in subjects.items() if s["status"] == "withdrawn"]
    assert sorted(code for p in withdrawn for code in denials[p]) == [W1, W2]
    assert [denials[p] for p, s in subjects.items() if s["status"] == "on-study"] == [[]]


def test_patients_have_no_name_or_identifier_and_a_year_month_birth_date(
    world: World, cohort: dict[str, str]
) -> None:
    bundle = _bundle(world, world.grant())

    patients = _resources(bundle, "Patient")
    assert len(patients) == 3
    for patient in patients:
        assert set(patient) <= {"resourceType", "id", "meta", "gender", "birthDate"}
        assert re.fullmatch(r"[0-9]{4}-[0-9]{2}", patient["birthDate"])
        assert patient["id"].startswith("S-")


def test_shift_policy_still_gives_a_year_month_birth_date(world: World) -> None:
    world.enrol()
    grant_id = world.grant(date_policy="shift", max_shift_days=60)

    (patient,) = _resources(_bundle(world, grant_id), "Patient")

    assert re.fullmatch(r"[0-9]{4}-[0-9]{2}", patient["birthDate"])


def test_bundle_holds_no_identifier_and_no_registry_id(
    world: World, cohort: dict[str, str]
) -> None:
    text = world.fhir(world.grant()).get_data(as_text=True)

    assert not any(participant_id in text for participant_id in cohort.values())
    assert "Ada" not in text
    assert "1990-04-12" not in text
    assert "B15 2TT" not in text
    assert "@example.org" not in text


def test_w2_cut_off_and_unapproved_variables_apply_to_fhir_too(
    world: World, cohort: dict[str, str]
) -> None:
    grant_id = world.grant(
        variables=["participants.cohort", "assessments.instrument", "assessments.total"],
        consent_items=[],
    )

    bundle = _bundle(world, grant_id)

    patient = _resources(bundle, "Patient")[0]
    assert "gender" not in patient and "birthDate" not in patient
    assert _resources(bundle, "QuestionnaireResponse") == []
    assert all("effectiveDateTime" not in o for o in _resources(bundle, "Observation"))
    consent = _resources(bundle, "Consent")[0]
    item_codes = {
        coding["code"]
        for provision in consent["provision"]["provision"]
        for concept in provision["code"]
        for coding in concept["coding"]
    } - {W1, W2}
    assert item_codes == {"registry_storage"}  # only what the grant requires


def test_pages_link_to_each_other(world: World) -> None:
    for _ in range(3):
        world.enrol()
    grant_id = world.grant()

    first = _bundle(world, grant_id, per_page=2)
    second = _bundle(world, grant_id, page=2, per_page=2)

    links = {link["relation"]: link["url"] for link in first["link"]}
    assert links["next"].endswith("page=2&per_page=2")
    assert "next" not in {link["relation"] for link in second["link"]}
    assert len(_resources(first, "Patient")) == 2
    assert len(_resources(second, "Patient")) == 1
    assert {p["id"] for p in _resources(first, "Patient")}.isdisjoint(
        p["id"] for p in _resources(second, "Patient")
    )


def test_fhir_is_refused_for_an_expired_grant(world: World) -> None:
    grant_id = world.grant()
    world.expire(grant_id)

    response = world.fhir(grant_id)

    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "grant_expired"


def test_fhir_is_404_to_a_researcher_not_on_the_grant(world: World) -> None:
    assert world.fhir(world.grant(), by=world.outsider).status_code == 404


def test_fhir_per_page_is_capped(world: World) -> None:
    response = world.fhir(world.grant(), per_page=501)

    assert response.status_code == 422
