"""Input schemas load into frozen dataclasses (issue 17, "typed commands"): the rules that
keep a command's fields and its schema's the same, and "not given" unambiguous."""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import inspect

import pytest
from marshmallow import missing

from registry.assessments.commands import RecordAssessment
from registry.assessments.schemas import AssessmentArgs
from registry.consents.commands import ConsentAnswers
from registry.consents.items import CONSENT_ITEMS
from registry.errors import ValidationFailed
from registry.fields import load_or_fail
from registry.input_rules import NOT_GIVEN, CommandSchema, InputSchema
from registry.participants.commands import CorrectParticipant
from registry.participants.schemas import ParticipantUpdateArgs
from registry.recruitment.schemas import RequestArgs

DOMAINS = (
    "assessments",
    "auth",
    "consents",
    "eligibility",
    "enrolment",
    "exports",
    "participants",
    "recruitment",
    "reports",
)


def _input_schemas() -> list[type[InputSchema]]:
    found = []
    for domain in DOMAINS:
        module = importlib.import_module(f"registry.{domain}.schemas")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, InputSchema) and value.__module__ == module.__name__:
                found.append(value)
    return found


COMMAND_SCHEMAS = [s for s in _input_schemas() if issubclass(s, CommandSchema)]


def test_every_input_schema_loads_a_command() -> None:
    plain = {s.__name__ for s in _input_schemas() if not issubclass(s, CommandSchema)}
    assert plain == set()


@pytest.mark.parametrize("schema", COMMAND_SCHEMAS, ids=lambda s: s.__name__)
def test_a_command_is_a_frozen_dataclass_of_exactly_its_schemas_fields(
    schema: type[CommandSchema[object]],
) -> None:
    command = schema.command
    assert dataclasses.is_dataclass(command)
    params = command.__dataclass_params__  # type: ignore[attr-defined]
    assert params.frozen
    assert hasattr(command, "__slots__")
    loaded = {field.attribute or name for name, field in schema().load_fields.items()}
    assert {field.name for field in dataclasses.fields(command)} == loaded


@pytest.mark.parametrize("schema", COMMAND_SCHEMAS, ids=lambda s: s.__name__)
def test_a_field_that_may_be_left_out_is_none_only_when_left_out(
    schema: type[CommandSchema[object]],
) -> None:
    """No load_default and not required: the dataclass says None, and the schema refuses
    null, so None can only mean "not given" (the actions rely on it); or, where null is an
    answer (a correction clearing an email address), the dataclass says NOT_GIVEN."""
    command = schema.command
    assert dataclasses.is_dataclass(command)
    defaults = {field.name: field.default for field in dataclasses.fields(command)}
    for name, field in schema().load_fields.items():
        if field.required or field.load_default is not missing:
            continue
        if field.allow_none:
            assert defaults[field.attribute or name] is NOT_GIVEN, name
        else:
            assert defaults[field.attribute or name] in (None, NOT_GIVEN), name


def test_consent_answers_name_every_item_in_form_order() -> None:
    assert tuple(field.name for field in dataclasses.fields(ConsentAnswers)) == CONSENT_ITEMS


def test_a_correction_tells_null_from_not_given() -> None:
    """PATCH: a field left out stays as stored; null clears an optional one; a required
    one (a name) refuses null rather than read it as "not given"."""
    cleared = load_or_fail(ParticipantUpdateArgs(), {"email": None, "imd_decile": 4})
    assert cleared == CorrectParticipant(email=None, imd_decile=4)
    assert cleared.phone is NOT_GIVEN
    assert cleared.identity_changes() == {"email": None}
    assert cleared.demographic_changes() == {"imd_decile": 4}
    kept = load_or_fail(ParticipantUpdateArgs(), {"sex": "female"})
    assert kept.identity_changes() == {}
    assert kept.demographic_changes() == {"sex": "female"}
    with pytest.raises(ValidationFailed) as refused:
        load_or_fail(ParticipantUpdateArgs(), {"given_name": None})
    assert "given_name" in refused.value.fields
    with pytest.raises(ValidationFailed):
        load_or_fail(ParticipantUpdateArgs(), {})


def test_left_out_dates_load_as_none() -> None:
    request = load_or_fail(
        RequestArgs(),
        {
            "study_title": "A study",
            "sponsor": "A sponsor",
            "ethics_reference": "1004567",
            "criteria": {"cohort": "TRD"},
            "target": 10,
        },
    )
    assert (request.contact_from, request.contact_until, request.lay_summary) == (None,) * 3


def test_an_assessment_loads_frozen_with_the_part_given() -> None:
    body = {"instrument": "PHQ9", "administered_on": "2024-01-02", "total": 12}
    assessment = load_or_fail(AssessmentArgs(), body)
    assert assessment == RecordAssessment("PHQ9", dt.date(2024, 1, 2), items=None, total=12)
    with pytest.raises(dataclasses.FrozenInstanceError):
        assessment.total = 13  # type: ignore[misc]
    with pytest.raises(ValidationFailed) as refused:
        load_or_fail(AssessmentArgs(), {**body, "items": None})
    assert "items" in refused.value.fields
