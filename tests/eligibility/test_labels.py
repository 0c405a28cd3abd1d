"""The catalogue in words (issue #22): every field has a label and a group, coded values
their labels; the API takes a coded value by its label as well as its code, and says the
choices in words when it takes neither."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from registry.auth.permissions import Role
from registry.eligibility.catalogue import Group, catalogue
from registry.eligibility.criteria import normalised, parse_criteria
from registry.errors import ValidationFailed
from tests.conftest import ApiUser
from tests.eligibility.test_eligibility_api import count, enrol

pytestmark = pytest.mark.usefixtures("consent_forms")


def test_every_field_has_a_label_a_group_and_every_code_a_label() -> None:
    for field in catalogue().values():
        assert field.label and field.label != field.name
        assert field.group in Group
        if field.values is not None:
            assert field.value_labels is not None
            assert len(field.value_labels) == len(field.values)
            assert all(
                label != code for label, code in zip(field.value_labels, field.values, strict=True)
            )


def test_coded_values_read_as_people_write_them() -> None:
    fields = catalogue()
    assert fields["sex"].value_label("female") == "Female"
    assert fields["ethnicity"].value_label("A") == "White \u2013 British (A)"
    assert fields["gender_identity"].value_label("3") == "Non-binary (3)"
    assert fields["latest_score.PHQ9"].label == "Latest PHQ-9 total"


def test_the_fields_endpoint_carries_labels_groups_and_choices(
    client: FlaskClient, researcher: ApiUser
) -> None:
    response = client.get("/api/v1/eligibility/fields", headers=researcher.headers)

    assert response.status_code == 200
    fields = {f["name"]: f for f in response.get_json()["fields"]}
    assert fields["latest_score.PHQ9"]["label"] == "Latest PHQ-9 total"
    assert fields["latest_score.PHQ9"]["group"] == "Scores"
    assert fields["consent.commercial_partners"]["group"] == "Consent"
    assert {"value": "female", "label": "Female"} in fields["sex"]["choices"]
    assert fields["sex"]["values"] == ["female", "male", "not_stated"]  # codes still there


@pytest.mark.parametrize(
    ("field", "typed", "code"),
    [
        ("sex", "Female", "female"),
        ("sex", "FEMALE", "female"),
        ("ethnicity", "White - British", "A"),
        ("ethnicity", "white \u2013 british (a)", "A"),
        ("ethnicity", "a", "A"),
        ("gender_identity", "Non-binary", "3"),
        ("ethnicity_group", "Asian or Asian British", "asian"),
        ("cohort", "Treatment-resistant depression (TRD)", "TRD"),
    ],
)
def test_a_label_means_its_code(field: str, typed: str, code: str) -> None:
    criteria = parse_criteria({"all": [{"field": field, "op": "=", "value": typed}]}, role="admin")

    assert criteria == parse_criteria(
        {"all": [{"field": field, "op": "=", "value": code}]}, role=Role.ADMIN
    )


def test_a_value_neither_code_nor_label_is_refused_with_the_choices_in_words() -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_criteria({"all": [{"field": "sex", "op": "=", "value": "F"}]}, role="researcher")

    assert refused.value.fields == {
        "all[0].value": ["The value must be one of: Female; Male; Not stated."]
    }


def test_labels_and_codes_count_the_same_people(
    client: FlaskClient, clinician: ApiUser, researcher: ApiUser
) -> None:
    enrol(client, clinician, 2)
    by_code = {"cohort": "TRD", "all": [{"field": "ethnicity", "op": "in", "value": ["H", "J"]}]}
    by_label = {
        "cohort": "TRD",
        "all": [
            {
                "field": "ethnicity",
                "op": "in",
                "value": ["Asian or Asian British - Indian", "asian or asian british - pakistani"],
            }
        ],
    }

    coded = count(client, researcher, by_code)
    labelled = count(client, researcher, by_label)

    assert coded.status_code == labelled.status_code == 200
    assert coded.get_json()["count"] == labelled.get_json()["count"] >= 2
    assert normalised(parse_criteria(by_label, role="researcher")) == normalised(
        parse_criteria(by_code, role="researcher")
    )
