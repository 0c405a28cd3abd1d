"""What every page's form shares: the base class that shows the rulebook's errors at its
fields, the field helpers, and the one way a page with a form answers.

The forms hold no rules. Each turns its input into the body the API would take (blank
answers left out) for the same schema and action to judge, and puts the errors those
return, named as the API names them (``consent.items.samples``), on its own fields. So the
API, the web and the import keep one rulebook. Choice fields skip WTForms' own choice check
for the same reason: an unexpected value goes to the schema, which says what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from flask import render_template, request
from flask_wtf import FlaskForm
from marshmallow import Schema
from wtforms import Field, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from registry.errors import NotFound, ValidationFailed
from registry.fields import PageArgs
from registry.fields import load_or_fail as load
from registry.input_rules import code_of
from registry.web.dates import DateInputField

YES, NO = "yes", "no"
# The codes of an answer that is absent (left out) or null (sent as "no answer").
ABSENT = {"required", "null"}
_WHOLE_NUMBER = re.compile(r"^-?[0-9]+$")


def strip_text(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def text_field(label: str) -> StringField:
    return StringField(label, filters=[strip_text])


def radios(label: str, choices: Mapping[str, str]) -> RadioField:
    return RadioField(
        label,
        choices=[SelectChoice(value, text) for value, text in choices.items()],
        validate_choice=False,
    )


def yes_no_radios(label: str) -> RadioField:
    return radios(label, {YES: "Yes", NO: "No"})


def select(label: str, choices: Mapping[str, str]) -> SelectField:
    return SelectField(
        label,
        choices=[SelectChoice(value, text) for value, text in choices.items()],
        validate_choice=False,
    )


def _given(value: object) -> bool:
    return value is not None and value != ""


def without_blanks(values: Mapping[str, Any]) -> dict[str, Any]:
    """Blank answers left out, so the schema reports a missing one as missing."""
    return {name: value for name, value in values.items() if _given(value)}


def whole_number(text: object) -> object:
    """A typed number as the API's JSON number; anything else as typed, for the schema."""
    if not _given(text):
        return None
    return int(str(text)) if _WHOLE_NUMBER.match(str(text)) else text


def yes_no(answer: object) -> object:
    """A yes/no radio's answer as the API's boolean; anything else as typed, for the schema."""
    return {YES: True, NO: False}.get(str(answer), answer) if _given(answer) else None


class RegistryForm(FlaskForm):
    """A form that shows the rulebook's errors at its fields."""

    # Field name -> what to say when the rulebook finds its answer missing: marshmallow's
    # words ("Missing data for required field.") do not tell a clinician what to do. Known
    # by the message's code, never its words, so rewording the rulebook cannot break it.
    WHEN_MISSING: ClassVar[dict[str, str]] = {}

    def field_for(self, error_name: str) -> Field | None:
        """The field an error named as the API names it belongs to, if it has one."""
        return self._fields.get(error_name)

    def show_errors(self, errors: Mapping[str, Sequence[str]]) -> None:
        for name, messages in errors.items():
            field = self.field_for(name)
            if field is None:
                self.form_errors.extend(messages)
                continue
            missing = self.WHEN_MISSING.get(field.name, "Answer this question.")
            if isinstance(field, DateInputField):
                if any(code_of(message) in ABSENT for message in messages):
                    field.missing()
                else:
                    messages = field.schema_errors(messages)
            field.errors = [
                *field.errors,
                *(missing if code_of(message) in ABSENT else message for message in messages),
            ]

    def has_errors(self) -> bool:
        """Whether the page shows an error, and so answers 422."""
        return bool(self.errors)


def form_page(
    template: str, form: RegistryForm, *, status: int = HTTPStatus.OK, **context: Any
) -> tuple[str, int]:
    """The page with its form: 422 when the form has errors, so the request boundary rolls
    back whatever the refused submission wrote; ``status`` otherwise."""
    page = render_template(template, form=form, **context)
    return page, HTTPStatus.UNPROCESSABLE_ENTITY if form.has_errors() else status


def record_id(text: str) -> int:
    """A row's id from the address: anything but a plausible whole number is not found."""
    if not (text.isdigit() and len(text) <= 18):
        raise NotFound("No such record.")
    return int(text)


def page_and_filters(filters: Schema, names: Sequence[str]) -> tuple[int, Any]:
    """A list page's number and its filters from the query string, each read by its own
    schema (the pager's and the list's) and refused together, every problem named."""
    asked = {name: request.args[name] for name in ("page", *names) if request.args.get(name)}
    problems: dict[str, list[str]] = {}
    page = 1
    loaded: Any = None
    try:
        page = load(PageArgs(), {"page": asked.pop("page", 1)})["page"]
    except ValidationFailed as exc:
        problems.update(exc.fields)
    try:
        loaded = load(filters, asked)
    except ValidationFailed as exc:
        problems.update(exc.fields)
    if problems:
        raise ValidationFailed(problems)
    return page, loaded
