"""Validation of criteria documents: each rule, with the exact path it reports."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from registry.auth.permissions import Role
from registry.eligibility.catalogue import CATALOGUE_VERSION, catalogue, catalogue_for
from registry.eligibility.criteria import (
    MAX_CLAUSES,
    MAX_DEPTH,
    Clause,
    Conjunction,
    normalised,
    parse_criteria,
)
from registry.errors import ValidationFailed


def errors_of(document: Any, role: Role = Role.RESEARCHER) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as raised:
        parse_criteria(document, role=role)
    return raised.value.fields


def clause(field: str, op: str, value: Any = None) -> dict[str, Any]:
    return {"field": field, "op": op} | ({} if op == "exists" else {"value": value})


def test_the_contract_example_parses_into_a_typed_tree() -> None:
    criteria = parse_criteria(
        {
            "cohort": "TRD",
            "all": [
                clause("age", "between", [18, 65]),
                clause("latest_score.PHQ9", ">=", 15),
                {"any": [clause("site", "in", ["rxt", "RRE"])]},
                clause("enrolled_on", ">=", "2024-01-31"),
            ],
            "none": [clause("diagnosis_icd10", "startswith", "f31")],
        },
        role="researcher",
    )

    assert criteria.cohort == "TRD"
    [all_group, none_group] = criteria.groups
    age, score, nested, enrolled = all_group.members
    assert isinstance(age, Clause) and age.value == (18, 65)
    assert isinstance(score, Clause) and score.field.column == "score_phq9"
    assert isinstance(nested, Conjunction)
    assert nested.groups[0].members[0] == Clause(catalogue()["site"], "in", ("RRE", "RXT"))
    assert isinstance(enrolled, Clause) and enrolled.value == dt.date(2024, 1, 31)
    assert none_group.members[0] == Clause(catalogue()["diagnosis_icd10"], "startswith", "F31")


@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"all": [clause("shoe_size", "=", 9)]}, "all[0].field"),
        ({"all": [clause("latest_score.XYZ", ">", 1)]}, "all[0].field"),
        ({"all": [clause("age", "~", 9)]}, "all[0].op"),
        ({"all": [clause("age", "startswith", "1")]}, "all[0].op"),
        ({"all": [clause("sex", "<", "male")]}, "all[0].op"),
        ({"all": [clause("consent.samples", "in", [True])]}, "all[0].op"),
        ({"all": [clause("enrolled_on", "in", ["2024-01-01"])]}, "all[0].op"),
        ({"all": [{"field": "age", "op": "="}]}, "all[0].value"),
        ({"all": [{"field": "age", "op": "exists", "value": True}]}, "all[0].value"),
        ({"all": [clause("age", ">=", True)]}, "all[0].value"),
        ({"all": [clause("age", ">=", 17.5)]}, "all[0].value"),
        ({"all": [clause("age", ">=", "18")]}, "all[0].value"),
        ({"all": [clause("age", ">=", 131)]}, "all[0].value"),
        ({"all": [clause("imd_decile", "=", 0)]}, "all[0].value"),
        ({"all": [clause("latest_score.PHQ9", ">", 28)]}, "all[0].value"),
        ({"all": [clause("latest_score.PANSS", "<", 29)]}, "all[0].value"),
        ({"all": [clause("sex", "=", "woman")]}, "all[0].value"),
        ({"all": [clause("ethnicity_group", "in", ["asian", "martian"])]}, "all[0].value"),
        ({"all": [clause("consent.samples", "=", 1)]}, "all[0].value"),
        ({"all": [clause("enrolled_on", ">", "2024-02-30")]}, "all[0].value"),
        ({"all": [clause("enrolled_on", ">", "1 May 2024")]}, "all[0].value"),
        ({"all": [clause("diagnosis_icd10", "startswith", "F3%")]}, "all[0].value"),
        ({"all": [clause("diagnosis_icd10", "startswith", "")]}, "all[0].value"),
        ({"all": [clause("postcode_district", "=", "B15 2TT")]}, "all[0].value"),
        ({"all": [clause("site", "in", [])]}, "all[0].value"),
        ({"all": [clause("site", "in", "RXT")]}, "all[0].value"),
        ({"all": [clause("age", "in", list(range(201)))]}, "all[0].value"),
        ({"all": [clause("age", "between", [18])]}, "all[0].value"),
        ({"all": [clause("age", "between", [65, 18])]}, "all[0].value"),
        ({"all": [clause("age", "between", {"low": 1})]}, "all[0].value"),
        ({"all": [clause("enrolled_on", "between", ["2025-01-01", "2024-01-01"])]}, "all[0].value"),
        ({"all": [{"any": [clause("age", "=", 1), clause("sex", "=", 3)]}]}, "all[0].any[1].value"),
        (
            {"all": [clause("age", ">", 1), {"any": [{"none": [clause("age", "=", -1)]}]}]},
            "all[1].any[0].none[0].value",
        ),
        ({"all": [{**clause("age", "=", 1), "note": "x"}]}, "all[0].note"),
        ({"all": [{"any": [clause("age", "=", 1)], "or": []}]}, "all[0].or"),
        ({"colour": "blue"}, "colour"),
        ({"cohort": "XYZ"}, "cohort"),
        ({"cohort": ["EP"]}, "cohort"),
        ({"all": []}, "all"),
        ({"any": {"field": "age"}}, "any"),
        ({"all": [{"any": []}]}, "all[0].any"),
        ({"all": ["age > 18"]}, "all[0]"),
        ({"all": [{}]}, "all[0]"),
    ],
)
def test_each_problem_is_reported_at_its_path(document: dict[str, Any], path: str) -> None:
    assert list(errors_of(document)) == [path]


def test_a_document_must_be_an_object() -> None:
    assert list(errors_of(["age"])) == ["_schema"]


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of(
        {
            "cohort": "XX",
            "all": [clause("age", ">", "old"), clause("nope", "=", 1)],
            "none": [clause("sex", "startswith", "f")],
        }
    )

    assert set(errors) == {"cohort", "all[0].value", "all[1].field", "none[0].op"}


def test_messages_do_not_repeat_what_was_sent() -> None:
    errors = errors_of({"all": [clause("sex", "=", "<script>")], "<b>": 1})

    assert "<" not in json.dumps(errors)


def nested(depth: int) -> dict[str, Any]:
    """A document whose innermost list is ``depth`` levels deep."""
    node: dict[str, Any] = {"all": [clause("age", ">=", 18)]}
    for _ in range(depth - 1):
        node = {"any": [node]}
    return node


def test_nesting_up_to_the_limit_is_allowed_and_deeper_is_refused() -> None:
    parse_criteria(nested(MAX_DEPTH), role="researcher")
    deepest = "any" + "[0].any" * (MAX_DEPTH - 1) + "[0].all"

    assert list(errors_of(nested(MAX_DEPTH + 1))) == [deepest]


def test_at_most_fifty_clauses() -> None:
    parse_criteria({"all": [clause("age", ">=", 18)] * MAX_CLAUSES}, role="researcher")
    spread = {
        "all": [clause("age", ">=", 18)] * (MAX_CLAUSES // 2),
        "any": [{"none": [clause("sex", "=", "male")] * (MAX_CLAUSES // 2 + 1)}],
    }

    assert list(errors_of(spread)) == ["_schema"]


@pytest.mark.parametrize("field", ["postcode_district", "ethnicity", "enrolled_on"])
def test_partners_may_not_use_fine_grained_fields(field: str) -> None:
    value = {"postcode_district": "B15", "ethnicity": "A"}.get(field)
    op = "exists" if value is None else "="

    assert list(errors_of({"all": [clause(field, op, value)]}, Role.PARTNER)) == ["all[0].field"]
    parse_criteria({"all": [clause(field, op, value)]}, role=Role.RESEARCHER)


def test_partners_may_ask_by_site() -> None:
    """Feasibility by site is what partners come for; their figures are noisy and charged
    to a privacy budget (issue #18)."""
    parse_criteria({"all": [clause("site", "=", "RXT")]}, role=Role.PARTNER)


def test_a_partner_catalogue_lists_only_their_fields() -> None:
    for_partner = catalogue_for(Role.PARTNER)
    for_researcher = catalogue_for("researcher")
    names = {field["name"] for field in for_partner["fields"]}

    assert for_partner["version"] == CATALOGUE_VERSION
    assert "postcode_district" not in names and {"age", "site"} <= names
    assert {field["name"] for field in for_researcher["fields"]} == set(catalogue())
    json.dumps(for_researcher)  # JSON-ready


def test_the_catalogue_takes_values_and_ranges_from_the_reference_data() -> None:
    fields = {field["name"]: field for field in catalogue_for("researcher")["fields"]}

    assert fields["ethnicity_group"]["values"] == [
        "white", "mixed", "asian", "black", "other", "not_stated", "not_known"
    ]  # fmt: skip
    assert fields["latest_score.PANSS"]["range"] == {"min": 30, "max": 210}
    assert fields["latest_score.CGI_S"]["range"] == {"min": 1, "max": 7}
    assert fields["consent.commercial_partners"]["operators"] == ["=", "!="]
    assert "startswith" in fields["diagnosis_icd10"]["operators"]
    assert fields["latest_score.SOFAS"]["range"] == {"min": 1, "max": 100}
    assert fields["response"]["operators"] == ["=", "!="]
    assert sum(name.startswith("latest_score.") for name in fields) == 13


def test_normalised_is_the_same_for_the_same_meaning() -> None:
    first = parse_criteria(
        {
            "cohort": "TRD",
            "all": [
                clause("site", "in", ["RXT", "rre", "RXT"]),
                clause("age", ">=", 18),
                clause("age", ">=", 18),
            ],
        },
        role="researcher",
    )
    second = parse_criteria(
        {"all": [clause("age", ">=", 18), clause("site", "in", ["RRE", "RXT"])], "cohort": "TRD"},
        role="researcher",
    )
    different = parse_criteria({"all": [clause("age", ">=", 19)]}, role="researcher")

    assert normalised(first) == normalised(second)
    assert normalised(first) != normalised(different)
    assert json.loads(normalised(first)) == {
        "all": [
            {"field": "age", "op": ">=", "value": 18},
            {"field": "site", "op": "in", "value": ["RRE", "RXT"]},
        ],
        "cohort": "TRD",
    }


def test_normalised_keeps_dates_as_iso_text_and_exists_without_value() -> None:
    criteria = parse_criteria(
        {"none": [clause("enrolled_on", "<", "2024-01-01"), clause("imd_decile", "exists")]},
        role="researcher",
    )

    assert json.loads(normalised(criteria)) == {
        "none": [
            {"field": "enrolled_on", "op": "<", "value": "2024-01-01"},
            {"field": "imd_decile", "op": "exists"},
        ]
    }
