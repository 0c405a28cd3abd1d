"""What the registry reads as text and as JSON, however it arrives: an API body or query, a
page's form, a row of the CSV import.

Text holds no NUL (PostgreSQL cannot store one), no lone surrogate (half of a UTF-16 pair,
which a JSON ``\\ud800`` escape can carry: it cannot be encoded as UTF-8, so it cannot be
encrypted, stored or logged) and no other control character (C0, DEL, C1: no name, code or
reference holds one, and on a page, in a CSV file or on a terminal they hide or rewrite
what is shown). Free text (a reason, a note, a summary) may break lines and hold tabs; a
one-line field may not. Every input schema derives from ``InputSchema``, which checks the
text of each field before any field is loaded: a refusal is a 422 at the field, given
before anything reads the database, so it cannot depend on what the database holds (an
enrolment refused this way says nothing of whether its NHS number is enrolled).

JSON is read at most ``MAX_JSON_DEPTH`` containers deep: Python's parser recurses per level
(a body nested thousands deep raised RecursionError), and so would the code after it.
"""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from marshmallow import Schema, ValidationError, fields, post_load, pre_load

NUL = "\x00"
NUL_MESSAGE = "Must not contain a NUL character."
SURROGATE_MESSAGE = "Must not contain an unpaired UTF-16 surrogate (\\ud800 to \\udfff)."
CONTROL_MESSAGE = "Must not contain control characters."
ONE_LINE_MESSAGE = "Must be one line, without line breaks or tabs."

_UNUSUAL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")  # any of the below; most text: none
_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # all but tab, LF and CR
_BREAK = re.compile("[\t\n\r]")

# The deepest legitimate body is criteria: 5 groups, each an object and a list, in a body.
MAX_JSON_DEPTH = 32
TOO_DEEP_MESSAGE = f"The JSON is nested too deeply: at most {MAX_JSON_DEPTH} levels."


def text_problem(text: str, *, multiline: bool = False) -> str | None:
    """Why ``text`` cannot be taken (a message that does not repeat it), or None."""
    if not _UNUSUAL.search(text):
        return None
    if NUL in text:
        return NUL_MESSAGE
    if _SURROGATE.search(text):
        return SURROGATE_MESSAGE
    if _CONTROL.search(text):
        return CONTROL_MESSAGE
    if not multiline and _BREAK.search(text):
        return ONE_LINE_MESSAGE
    return None


def text_problems(value: Any, place: str = "", *, multiline: bool = False) -> dict[str, str]:
    """{dotted place: message} for each string in parsed input that cannot be taken. A key
    that cannot is reported as the place it is in, without repeating it. Iterative: the
    input may not have been bounded in depth yet."""
    found: dict[str, str] = {}
    pending: list[tuple[str, Any]] = [(place, value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, str):
            problem = text_problem(item, multiline=multiline)
            if problem:
                found.setdefault(where or "_schema", problem)
        elif isinstance(item, Mapping):
            for key, inner in item.items():
                problem = text_problem(str(key))
                if problem:
                    found.setdefault(where or "_schema", problem)
                else:
                    pending.append((f"{where}.{key}" if where else str(key), inner))
        elif isinstance(item, list | tuple):
            pending.extend(
                (f"{where}.{index}" if where else str(index), inner)
                for index, inner in enumerate(item)
            )
    return found


class TooDeeplyNested(ValueError):
    def __init__(self) -> None:
        super().__init__(TOO_DEEP_MESSAGE)


def check_json_depth(document: Any) -> Any:
    """``document`` as it is, or TooDeeplyNested if it is more than MAX_JSON_DEPTH
    containers deep. Iterative, for the same reason as ``text_problems``."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, Mapping):
            inner: Any = item.values()
        elif isinstance(item, list):
            inner = item
        else:
            continue
        if depth > MAX_JSON_DEPTH:
            raise TooDeeplyNested()
        pending.extend((child, depth + 1) for child in inner)
    return document


def load_json(text: str | bytes) -> Any:
    """``json.loads`` for input: JSONDecodeError, or TooDeeplyNested (both ValueError)."""
    try:
        document = json.loads(text)
    except RecursionError:
        raise TooDeeplyNested() from None
    return check_json_depth(document)


class CodedMessage(str):
    """An error message that carries a code saying what is wrong ("required",
    "range_expected") and, where it helps, details (``params``). The API shows the words,
    exactly as before; a page looks up the code, so rewording a message cannot silently
    change what a page says."""

    code: str
    params: Mapping[str, Any]

    def __new__(cls, text: str, code: str, **params: Any) -> CodedMessage:
        message = super().__new__(cls, text)
        message.code = code
        message.params = params
        return message

    def __getnewargs_ex__(self) -> tuple[tuple[str, str], dict[str, Any]]:
        return (str(self), self.code), dict(self.params)

    def format(self, *args: Any, **kwargs: Any) -> CodedMessage:
        # marshmallow fills a field's message in with format(): the code must survive it.
        return CodedMessage(str.format(self, *args, **kwargs), self.code, **self.params)


def code_of(message: str) -> str | None:
    """The code a message carries, if it carries one."""
    return message.code if isinstance(message, CodedMessage) else None


def _code_messages(field: fields.Field[Any]) -> None:
    """Each of a field's messages (and its inner fields') coded by its marshmallow key."""
    field.error_messages = {
        key: CodedMessage(message, key)
        if isinstance(message, str) and not isinstance(message, CodedMessage)
        else message
        for key, message in field.error_messages.items()
    }
    inner: list[fields.Field[Any] | None] = [
        getattr(field, "inner", None),
        getattr(field, "key_field", None),
        getattr(field, "value_field", None),
        *getattr(field, "tuple_fields", ()),
    ]
    for each in inner:
        if isinstance(each, fields.Field):
            _code_messages(each)


class Prose(fields.String):
    """Free text: line breaks and tabs are part of it."""


class InputSchema(Schema):
    """The base of every input schema (``…Args``): before any field is loaded, each string
    in the input it declares is checked by ``text_problem`` (one-line unless the field is
    ``Prose``), and a refusal names the field. A nested schema checks its own fields.
    Every field's own messages are ``CodedMessage``s, coded by marshmallow's key for them
    ("required", "null", "invalid"), with their words unchanged."""

    def on_bind_field(self, field_name: str, field_obj: fields.Field[Any]) -> None:
        _code_messages(field_obj)

    @pre_load
    def _refuse_unreadable_text(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data  # not an object: the load refuses it as such
        found: dict[str, str] = {}
        for name, field in self.load_fields.items():
            key = field.data_key or name
            if key in data and not isinstance(field, fields.Nested):
                found |= text_problems(data[key], key, multiline=isinstance(field, Prose))
        if found:
            raise ValidationError({place: [message] for place, message in found.items()})
        return data


Command = TypeVar("Command")


class CommandSchema(InputSchema, Generic[Command]):
    """An input schema that loads into its frozen dataclass, ``command``, not a dict, so
    what was checked keeps its type in the action that takes it. A field the input may
    leave out, with no ``load_default``, needs a default in the dataclass: None when the
    field refuses null, so None there can only mean "not given"; ``NOT_GIVEN`` when null is
    an answer of its own (a correction that clears an email address)."""

    command: type[Command]

    @post_load
    def _to_command(self, data: dict[str, Any], **kwargs: Any) -> Command:
        return self.command(**data)


def nested_part(loaded: object, name: str) -> Any:
    """A field of a nested part (``fields.Nested``) as a schema-level check sees it: from
    its command when it loaded, else from the dict of what did load (marshmallow keeps that
    so the check can look at the rest); None if not there."""
    if isinstance(loaded, Mapping):
        return loaded.get(name)
    return getattr(loaded, name, None)


class NotGiven(enum.Enum):
    """The one value of a command's field that the input left out, where null is a value
    the input may give (a PATCH: left out keeps what is stored, null clears it)."""

    NOT_GIVEN = "not given"

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven.NOT_GIVEN
