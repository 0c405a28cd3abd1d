"""``describe``: every valid criteria document gets a sentence, and the sentence names each
field (by its label), operator and value (in words) the document holds; no code shows."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from hypothesis import given, settings

from registry.eligibility.catalogue import FieldType, catalogue
from registry.eligibility.criteria import GROUP_KINDS, parse_criteria
from registry.eligibility.describe import EVERYONE, describe, differences, operator_words
from tests.eligibility.test_compiler_properties import documents


def clauses_of(document: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for kind in GROUP_KINDS:
        for member in document.get(kind, []):
            yield from ([member] if "field" in member else clauses_of(member))


def words_of(clause: Mapping[str, Any]) -> list[str]:
    """What the sentence must say for a clause: its label, operator and values in words."""
    field = catalogue()[clause["field"]]
    op = clause["op"]
    said = [field.label]
    if field.type is not FieldType.BOOLEAN:
        said.append(operator_words(field, op))
    values = clause.get("value")
    for value in values if isinstance(values, list) else [] if values is None else [values]:
        said.append(field.value_label(value) if field.type is not FieldType.DATE else "")
    return said


@settings(max_examples=60, deadline=None)
@given(document=documents)
def test_every_valid_document_gets_a_sentence_naming_all_it_holds(
    document: dict[str, Any],
) -> None:
    parse_criteria(document, role="admin")  # valid, as drawn

    sentence = describe(document)

    assert sentence and sentence != EVERYONE
    for clause in clauses_of(document):
        for words in words_of(clause):
            assert words in sentence, (words, sentence)
        field = catalogue()[clause["field"]]
        if field.values is not None:  # a code is said by its label, not alone
            value = clause.get("value")
            for code in value if isinstance(value, list) else []:
                assert field.value_label(code) in sentence
    if "cohort" in document:
        assert catalogue()["cohort"].value_label(document["cohort"]) in sentence


def test_the_issue_s_example_reads_as_a_sentence() -> None:
    document = {
        "cohort": "TRD",
        "all": [
            {"field": "age", "op": "between", "value": [18, 65]},
            {"field": "latest_score.PHQ9", "op": ">=", "value": 15},
            {"field": "failed_adequate_trials", "op": ">=", "value": 2},
            {"field": "sex", "op": "=", "value": "female"},
            {"field": "ethnicity", "op": "in", "value": ["A", "J"]},
        ],
        "none": [{"field": "diagnosis_icd10", "op": "startswith", "value": "F31"}],
    }

    assert describe(document) == (
        "Treatment-resistant depression (TRD) \N{MIDDLE DOT} Age in years between 18 and 65 "
        "\N{MIDDLE DOT} Latest PHQ-9 total at least 15 \N{MIDDLE DOT} Failed adequate "
        "treatments at least 2 \N{MIDDLE DOT} Sex is Female \N{MIDDLE DOT} Ethnic category is "
        "one of White \N{EN DASH} British (A) or Asian or Asian British \N{EN DASH} Pakistani "
        "(J) \N{MIDDLE DOT} not (Diagnosis (ICD-10) starts with F31)"
    )


def test_labels_given_as_values_read_as_their_labels() -> None:
    assert describe({"all": [{"field": "sex", "op": "=", "value": "FEMALE"}]}) == "Sex is Female"


def test_dates_booleans_and_recorded_read_in_words() -> None:
    sentence = describe(
        {
            "all": [
                {"field": "enrolled_on", "op": ">=", "value": "2026-03-01"},
                {"field": "remission", "op": "=", "value": True},
                {"field": "latest_score.PHQ9", "op": "exists"},
            ]
        }
    )

    assert sentence == (
        "Date of enrolment on or after 1 March 2026 \N{MIDDLE DOT} Remission: yes "
        "\N{MIDDLE DOT} Latest PHQ-9 total is recorded"
    )


def test_anything_at_all_gets_a_sentence() -> None:
    assert describe({}) == EVERYONE
    assert describe("not a document") == "Criteria that cannot be read"
    assert describe({"all": [{"field": "retired_field", "op": "=", "value": 3}, 7]}) == (
        "retired_field is 3 \N{MIDDLE DOT} ?"
    )


def test_differences_between_versions_read_in_words() -> None:
    before = {"cohort": "TRD", "all": [{"field": "latest_score.PHQ9", "op": ">=", "value": 15}]}
    after = {
        "cohort": "TRD",
        "all": [
            {"field": "latest_score.PHQ9", "op": ">=", "value": 20},
            {"field": "sex", "op": "=", "value": "female"},
        ],
    }

    assert differences(before, after) == (
        "Latest PHQ-9 total at least 15 \N{RIGHTWARDS ARROW} at least 20; added: Sex is Female"
    )
    assert differences(after, before) == (
        "Latest PHQ-9 total at least 20 \N{RIGHTWARDS ARROW} at least 15; removed: Sex is Female"
    )
    assert differences(before, before) == "the same criteria"
