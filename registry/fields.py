"""Marshmallow fields and the loading helper every domain's input uses.

Dates, months, whole numbers and booleans are read the same way and refused with the same
words wherever they come in (API body, web form, import row), so they live below every
domain package rather than in one of them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, overload

from marshmallow import Schema, ValidationError, fields, validate

from registry import clock
from registry.errors import ValidationFailed, flatten_messages
from registry.input_rules import CodedMessage, CommandSchema, InputSchema

Command = TypeVar("Command")

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
EARLIEST_DATE = dt.date(1900, 1, 1)


def PastDate(**kwargs: Any) -> fields.Date:
    """A date in ISO form, not in the future, with messages a clinician can act on."""
    return fields.Date(
        validate=_not_in_future,
        error_messages={"invalid": "Give a date as YYYY-MM-DD, for example 2026-11-20."},
        **kwargs,
    )


def WholeNumber(low: int, high: int, what: str, **kwargs: Any) -> fields.Integer:
    """A JSON whole number in a range; the message says the range in words."""
    message = f"Give {what} from {low} to {high}."
    return fields.Integer(
        strict=True,
        validate=validate.Range(low, high, error=message),
        error_messages={"invalid": message},
        **kwargs,
    )


def _not_in_future(value: dt.date) -> None:
    if value > clock.today():
        raise ValidationError(CodedMessage("This date is in the future.", "in_future"))
    if value < EARLIEST_DATE:
        raise ValidationError(
            CodedMessage("This date is too long ago to be right.", "too_long_ago")
        )


class Month(fields.Field[dt.date]):
    """A month as ``YYYY-MM``, held as its first day (month precision on purpose)."""

    default_error_messages = {"invalid": "Give a month as YYYY-MM, for example 2025-06."}

    def _serialize(self, value: dt.date | None, attr: str | None, obj: Any, **kw: Any) -> Any:
        return None if value is None else value.strftime("%Y-%m")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> dt.date:
        match = _MONTH.match(value) if isinstance(value, str) else None
        # Year 0000 matches the pattern but is no date at all (datetime starts at year 1).
        if match is None or int(match.group(1)) < 1 or not 1 <= int(match.group(2)) <= 12:
            raise self.make_error("invalid")
        month = dt.date(int(match.group(1)), int(match.group(2)), 1)
        if month > clock.today():
            raise ValidationError(CodedMessage("This month is in the future.", "in_future"))
        if month < EARLIEST_DATE:
            raise ValidationError(
                CodedMessage("This month is too long ago to be right.", "too_long_ago")
            )
        return month


class StrictBoolean(fields.Boolean):
    """JSON true or false only. marshmallow's ``truthy={True}`` still lets 1 and 0 (and 1.0)
    through, because ``1 in {True}``; an answer to a consent question must be a boolean."""

    default_error_messages = {"invalid": "Answer true or false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class Checked(fields.String):
    """A string normalised by a check that raises ``ValidationFailed`` naming a field (the
    identifier checks in ``registry.participants.validation``). Only the check's messages are
    kept, so the same rule serves the API, the web form and the import."""

    def __init__(self, check: Callable[[str], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kw)
        try:
            return self.check(text)
        except ValidationFailed as exc:
            raise ValidationError([m for ms in exc.fields.values() for m in ms]) from None


# A CommandSchema is a Schema too; the first overload that matches wins, as intended.
@overload
def load_or_fail(  # type: ignore[overload-overlap]
    schema: CommandSchema[Command], data: Mapping[str, Any]
) -> Command: ...
@overload
def load_or_fail(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]: ...
def load_or_fail(schema: Schema, data: Mapping[str, Any]) -> Any:
    """``data`` (an API body, a page's form, a file's row) loaded through ``schema``: its
    command for a CommandSchema, else a dict; ValidationFailed naming every bad field (dotted
    for nesting), as the API's 422 does."""
    try:
        return schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(flatten_messages(exc.messages)) from None


class PageArgs(InputSchema):
    """Which page, and how many on it (API.md: ``per_page`` at most 100)."""

    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))
