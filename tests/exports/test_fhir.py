"""The FHIR R4 view of an extract, validated resource by resource with fhir.resources.

fhir.resources 8 (in the app's environment) models FHIR R5 by default and R4B (4.3.0) as a
subpackage: the tests here validate against R4B. R4 itself (4.0.1) is checked by
``scripts/validate-fhir`` (fhir.resources 6.4.0, in an environment of its own) in
test_fhir_r4.py. Neither checks what a code means: the tests below hold that.
"""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle
from flask.testing import FlaskClient

from registry import clock
from registry.assessments.instruments import instrument
from registry.exports.fhir import (
    ETHNIC_CATEGORY_DISPLAY,
    INSTRUMENT_SYSTEM,
    LOINC,
    _total_code,
)
from registry.participants.reference import reference
from tests.exports.conftest import ALL_VARIABLES, PHQ9_ITEMS, World, random_name

W1, W2, W3 = "no_further_contact", "no_further_data", "full"
QUESTIONNAIRES = "/api/v1/fhir/Questionnaire"


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
        "Questionnaire": 1,  # PHQ-9's, the one scale answered item by item
    }


def test_bundle_round_trips_through_fhir_resources(world: World, cohort: dict[str, str]) -> None:
    text = world.fhir(world.grant()).get_data(as_text=True)

    parsed = Bundle.model_validate_json(text)
    again = Bundle.model_validate_json(parsed.model_dump_json())

    assert again == parsed
    assert again.type == "collection"
    assert len(again.entry or []) == len(json.loads(text)["entry"])


def test_withdrawn_participants_are_off_study_subjects_with_a_deny_provision(
    world: World, cohort: dict[str, str]
) -> None:
    # R4's "withdrawn" means withdrawn before registration; these people enrolled first.
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
    assert statuses == ["off-study", "off-study", "on-study"]
    withdrawn = [p for p, s in subjects.items() if s["status"] == "off-study"]
    assert sorted(code for p in withdrawn for code in denials[p]) == [W1, W2]
    assert [denials[p] for p, s in subjects.items() if s["status"] == "on-study"] == [[]]


def test_patients_have_no_name_or_identifier_and_a_year_month_birth_date(
    world: World, cohort: dict[str, str]
) -> None:
    bundle = _bundle(world, world.grant())

    patients = _resources(bundle, "Patient")
    assert len(patients) == 3
    for patient in patients:
        assert set(patient) <= {"resourceType", "id", "meta", "gender", "birthDate", "extension"}
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
    assert "extension" not in patient  # no ethnic category without participants.ethnicity
    assert _resources(bundle, "Questionnaire") == []
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


def test_off_study_subjects_end_on_the_withdrawal_date(world: World) -> None:
    world.enrol()
    world.withdraw(world.enrol(), W1)

    bundle = _bundle(world, world.grant())

    subjects = {s["status"]: s for s in _resources(bundle, "ResearchSubject")}
    assert set(subjects) == {"on-study", "off-study"}
    today = clock.today().isoformat()[:7]  # the default grant gives dates as YYYY-MM
    assert subjects["off-study"]["period"] == {"start": today, "end": today}
    assert "end" not in subjects["on-study"]["period"]


def test_off_study_subjects_have_no_end_date_unless_withdrawal_is_approved(
    world: World,
) -> None:
    world.withdraw(world.enrol(), W2)
    variables = [v for v in ALL_VARIABLES if v != "participants.withdrawal"]

    (subject,) = _resources(_bundle(world, world.grant(variables=variables)), "ResearchSubject")

    assert subject["status"] == "off-study"
    assert "end" not in subject["period"]


def _codings(observation: dict[str, Any]) -> dict[str, str]:
    return {coding["system"]: coding["code"] for coding in observation["code"]["coding"]}


def test_totals_carry_loinc_codes_beside_the_registrys_own(
    world: World, cohort: dict[str, str]
) -> None:
    participant_id = world.enrol()
    assert world.assess(participant_id, instrument="MADRS", total=20).status_code == 201

    observations = _resources(_bundle(world, world.grant()), "Observation")

    by_scale = {o["code"]["text"]: _codings(o) for o in observations}
    assert by_scale["PHQ-9 total score"] == {INSTRUMENT_SYSTEM: "PHQ9", LOINC: "44261-6"}
    assert by_scale["GAD-7 total score"] == {INSTRUMENT_SYSTEM: "GAD7", LOINC: "70274-6"}
    # No LOINC code was found for the MADRS total: the registry's code alone.
    assert by_scale["MADRS total score"] == {INSTRUMENT_SYSTEM: "MADRS"}


def test_a_loinc_code_still_to_confirm_is_not_exported() -> None:
    unsure = dataclasses.replace(instrument("MADRS"), loinc="00000-0", loinc_confirm=True)
    sure = dataclasses.replace(unsure, loinc_confirm=False)

    assert LOINC not in _codings({"code": _total_code(unsure)})
    assert _codings({"code": _total_code(sure)})[LOINC] == "00000-0"


def test_patients_carry_the_uk_core_ethnic_category(world: World) -> None:
    for code in ("N", "Z", "99"):
        world.enrol(ethnicity=code)

    patients = _resources(_bundle(world, world.grant()), "Patient")

    categories = sorted(
        (coding["code"], coding["display"])
        for patient in patients
        for extension in patient["extension"]
        if extension["url"]
        == "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
        for coding in extension["valueCodeableConcept"]["coding"]
        if coding["system"] == "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
    )
    assert categories == [
        ("99", "Not known"),
        ("N", "Black or Black British - African"),
        ("Z", "Not stated"),
    ]


def test_every_ethnic_category_the_registry_takes_has_a_uk_core_code() -> None:
    # The same NHS Data Dictionary codes; a code added to one list must be added to both.
    assert set(reference().ethnicity) == set(ETHNIC_CATEGORY_DISPLAY)


def test_questionnaire_responses_cite_a_questionnaire_that_resolves(
    world: World, cohort: dict[str, str]
) -> None:
    bundle = _bundle(world, world.grant())

    responses = _resources(bundle, "QuestionnaireResponse")
    canonicals = {response["questionnaire"] for response in responses}
    assert len(canonicals) == 1
    url, version = canonicals.pop().split("|")
    assert url.startswith("http") and version == instrument("PHQ9").version
    served = world.client.get(urlsplit(url).path)  # no credentials: it is public
    assert served.status_code == 200
    assert served.mimetype == "application/fhir+json"
    body = served.get_json()
    assert (body["url"], body["version"], body["status"]) == (url, version, "active")
    in_bundle = [e for e in bundle["entry"] if e["resource"]["resourceType"] == "Questionnaire"]
    assert [(e["fullUrl"], e["resource"]) for e in in_bundle] == [(url, body)]
    # Every answer's linkId is an item of the Questionnaire.
    link_ids = {item["linkId"] for item in body["item"]}
    assert {i["linkId"] for r in responses for i in r["item"]} <= link_ids


def test_questionnaire_items_have_short_labels_and_score_ranges(client: FlaskClient) -> None:
    body = client.get(f"{QUESTIONNAIRES}/QIDS-SR16").get_json()  # "_" is not in FHIR ids

    scale = instrument("QIDS_SR16")
    assert (body["resourceType"], body["id"], body["name"]) == (
        "Questionnaire",
        "QIDS-SR16",
        "QIDS_SR16",
    )
    assert [item["linkId"] for item in body["item"]] == [
        str(n) for n in range(1, len(scale.items) + 1)
    ]
    assert [item["text"] for item in body["item"]] == [item.label for item in scale.items]
    assert {item["type"] for item in body["item"]} == {"integer"}
    bounds = [
        {e["url"].rsplit("/", 1)[1]: e["valueInteger"] for e in item["extension"]}
        for item in body["item"]
    ]
    assert bounds == [{"minValue": i.min, "maxValue": i.max} for i in scale.items]
    get_fhir_model_class("Questionnaire").model_validate(body)


def test_questionnaires_hold_no_personal_data(world: World, cohort: dict[str, str]) -> None:
    bundle = _bundle(world, world.grant())

    (questionnaire,) = _resources(bundle, "Questionnaire")
    text = json.dumps(questionnaire)
    pseudonyms = {p["id"] for p in _resources(bundle, "Patient")}
    assert not any(value in text for value in (*cohort.values(), *pseudonyms))
    assert "subject" not in questionnaire and "Ada" not in text
    assert set(questionnaire) == {
        "resourceType",
        "id",
        "url",
        "version",
        "name",
        "title",
        "status",
        "subjectType",
        "description",
        "copyright",
        "item",
    }


def test_an_unknown_questionnaire_is_404(client: FlaskClient) -> None:
    for name in ("NOPE", "QIDS_SR16", "phq9"):
        response = client.get(f"{QUESTIONNAIRES}/{name}")

        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"
