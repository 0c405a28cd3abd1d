"""Input refused before any endpoint sees it, by the rules of ``registry.input_rules``.

JSON nested deeper than ``MAX_JSON_DEPTH`` is a 400 before anything walks it (Python's
parser recursed into a RecursionError at a few thousand levels: a 500). Text no field
may hold (NUL, a lone surrogate, a control character other than tab, line feed and
carriage return) in an API body or query argument is a 422 naming the field, like any
other invalid value, whichever schema loads it; each ``InputSchema`` then refuses line
breaks and tabs in its one-line fields. A path holding a NUL names nothing: 404. A page's
form or query holding such text is a 400. Found by the fuzzer (tests/test_fuzz_api.py)
and issue #16.
"""

from __future__ import annotations

from typing import Any

from flask import request
from marshmallow import Schema, ValidationError
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import BadRequest, NotFound

from registry.errors import RegistryError
from registry.input_rules import (
    NUL,
    TOO_DEEP_MESSAGE,
    TooDeeplyNested,
    check_json_depth,
    text_problem,
    text_problems,
)


class CheckedParser(FlaskParser):
    """The webargs parser of every ``RegistryBlueprint`` (its arguments and its pages):
    JSON nested too deeply and text no field may hold are refused before the schema sees
    either."""

    def pre_load(self, location_data: Any, *, schema: Schema, req: Any, location: str) -> Any:
        # Line breaks and tabs pass here: only the schema knows which fields are prose.
        found = text_problems(location_data, multiline=True)
        if found:
            raise ValidationError({place: [message] for place, message in found.items()})
        return super().pre_load(location_data, schema=schema, req=req, location=location)

    def _raw_load_json(self, req: Any) -> Any:
        try:
            return check_json_depth(super()._raw_load_json(req))
        except (RecursionError, TooDeeplyNested):
            raise RegistryError(TOO_DEEP_MESSAGE) from None


def refuse_nul_in_path(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A URL value preprocessor: no path with a NUL names anything."""
    if values and any(NUL in str(value) for value in values.values()):
        raise NotFound()


def refuse_unreadable_page_input() -> None:
    """A before-request hook for the pages (the API's arguments are checked above, field by
    field): a form or query key or value holding text no field may hold is a 400. Tabs and
    line breaks pass (a textarea has them); the schemas refuse them in one-line fields."""
    if request.path.startswith("/api/"):
        return
    for values in (request.args, request.form):
        for key, items in values.lists():
            if text_problem(key) or any(text_problem(item, multiline=True) for item in items):
                raise BadRequest()
