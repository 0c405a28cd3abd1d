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
from registry.errors import ValidationFailed
from registry.fields import load_or_fail
from registry.input_rules import CommandSchema, InputSchema
from registry.recruitment.schemas import RequestArgs

DOMAINS = ("assessments", "auth", "eligibility", "exports", "recruitment", "reports")
# Paginated arguments, which the shared API layer's pagination reshapes.
NOT_YET = {"ParticipantsArgs", "FhirArgs"}


def _input_schemas() -> list[type[InputSchema]]:
    found = []
    for domain in DOMAINS:
        module = importlib.import_module(f"registry.{domain}.schemas")
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, InputSchema) and value.__module__ == module.__name__:
                found.append(value)
    return found


COMMAND_SCHEMAS = [s for s in _input_schemas() if issubclass(s, CommandSchema)]


def test_every_input_schema_of_these_domains_loads_a_command() -> None:
    plain = {s.__name__ for s in _input_schemas() if not issubclass(s, CommandSchema)}
    assert plain == NOT_YET


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
    null, so None can only mean "not given" (the actions rely on it)."""
    command = schema.command
    assert dataclasses.is_dataclass(command)
    defaults = {field.name: field.default for field in dataclasses.fields(command)}
    for name, field in schema().load_fields.items():
        if field.required or field.load_default is not missing:
            continue
        assert defaults[field.attribute or name] is None, name
        assert not field.allow_none, name


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
