"""Pages know the rulebook's errors by their codes, never by their words: a message can be
reworded for the API without a page silently showing the new words, or losing its own."""

from __future__ import annotations

import pytest
from flask import Flask

from registry.assessments.instruments import instrument, score_items
from registry.assessments.schemas import TreatmentTrialArgs
from registry.auth.permissions import Role
from registry.eligibility.criteria import parse_criteria
from registry.errors import ValidationFailed
from registry.fields import load_or_fail
from registry.input_rules import CodedMessage, code_of
from registry.web.eligibility.forms import IN_FORM_WORDS, query_form_for
from registry.web.participants.forms import AssessmentForm, TreatmentTrialForm

UNRELATED_WORDS = "Words that no rule of the page has ever matched."


def test_a_missing_answer_is_known_by_its_code_whatever_its_words(app: Flask) -> None:
    with app.test_request_context():
        form = TreatmentTrialForm(meta={"csrf": False})

        form.show_errors(
            {
                "drug": [CodedMessage(UNRELATED_WORDS, "required")],
                "weeks": [CodedMessage(UNRELATED_WORDS, "null")],
                # marshmallow's own sentence, without its code, is no longer recognised:
                # if the page still matched words, it would put its own words here.
                "outcome": ["Missing data for required field."],
            }
        )

    assert form.drug.errors == [TreatmentTrialForm.WHEN_MISSING["drug"]]
    assert form.weeks.errors == [TreatmentTrialForm.WHEN_MISSING["weeks"]]
    assert form.outcome.errors == ["Missing data for required field."]


def test_the_schemas_code_every_message_of_their_fields_with_the_same_words() -> None:
    with pytest.raises(ValidationFailed) as refused:
        load_or_fail(TreatmentTrialArgs(), {"drug": None, "weeks": "many"})

    fields = refused.value.fields
    assert fields["drug"] == ["Field may not be null."]  # the API's words, unchanged
    assert code_of(fields["drug"][0]) == "null"
    assert code_of(fields["started_on"][0]) == "required"
    assert code_of(fields["weeks"][0]) == "invalid"


def test_an_item_out_of_range_names_its_item_by_code_not_by_its_sentence(app: Flask) -> None:
    phq9 = instrument("PHQ9")
    with pytest.raises(ValidationFailed) as refused:
        score_items(phq9, [0, 0, 9, 0, 0, 0, 0, 0, 0])
    (message,) = refused.value.fields["items"]
    assert isinstance(message, CodedMessage)
    assert (message.code, message.params) == ("item_out_of_range", {"item": 3})

    reworded = CodedMessage(UNRELATED_WORDS, "item_out_of_range", item=3)
    with app.test_request_context():
        form = AssessmentForm.for_instrument(phq9)(meta={"csrf": False})
        form.show_errors({"items": [reworded]})

    assert form["item_3"].errors == [UNRELATED_WORDS]
    assert not form.form_errors


@pytest.mark.parametrize(
    ("op", "value", "code"),
    [
        ("between", [18], "range_expected"),
        ("in", [], "list_expected"),
        ("exists", 1, "value_not_taken"),
    ],
)
def test_criteria_errors_the_query_page_rewords_carry_their_codes(
    op: str, value: object, code: str
) -> None:
    document = {"cohort": "TRD", "all": [{"field": "age", "op": op, "value": value}]}
    with pytest.raises(ValidationFailed) as refused:
        parse_criteria(document, role=Role.RESEARCHER)

    assert [code_of(m) for m in refused.value.fields["all[0].value"]] == [code]


def test_the_query_page_words_a_criteria_error_by_its_code(app: Flask) -> None:
    typed = {"cohort": "TRD", "combine": "all", "clauses-0-field": "age"}
    typed |= {"clauses-0-op": "between", "clauses-0-value": "18"}
    with app.test_request_context(method="POST", data=typed):
        form = query_form_for(Role.RESEARCHER)(meta={"csrf": False})
        form.criteria()
        form.show_errors({"all[0].value": [CodedMessage(UNRELATED_WORDS, "range_expected")]})

    assert form.clauses[0].form["value"].errors == [IN_FORM_WORDS["range_expected"]]
