"""Input refused before any endpoint sees it: the NUL character.

No name, code, id or criterion contains one, and PostgreSQL cannot store one in text (the
statement fails, and the request with it: a 500 for the client). So an API body or query
argument holding one is a 422 naming the field, like any other invalid value; a path
holding one names nothing: 404; and a page's form or query holding one is a 400. Found by
the fuzzer (tests/test_fuzz_api.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import BadRequest, NotFound

NUL = "\x00"
MESSAGE = "Must not contain a NUL character."


def fields_with_nul(value: Any, prefix: str = "") -> list[str]:
    """Dotted names of the places in parsed input holding a NUL (a key holding one is
    reported as the place it is in, without echoing it)."""
    found: list[str] = []
    if isinstance(value, str):
        if NUL in value:
            found.append(prefix or "_schema")
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            if NUL in str(key):
                found.append(prefix or "_schema")
                continue
            found.extend(fields_with_nul(inner, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list | tuple):
        for index, inner in enumerate(value):
            found.extend(fields_with_nul(inner, f"{prefix}.{index}" if prefix else str(index)))
    return found


def refuse_nul_arguments(parser: FlaskParser) -> None:
    """Make a webargs parser (flask-smorest's, shared by every ``@blp.arguments``) refuse
    NUL characters in whatever it loads, before the schema sees them."""
    if getattr(parser, "_refuses_nul", False):
        return
    load = parser.pre_load

    def pre_load(location_data: Any, *, schema: Schema, req: Any, location: str) -> Any:
        found = fields_with_nul(location_data)
        if found:
            raise ValidationError({name: [MESSAGE] for name in found})
        return load(location_data, schema=schema, req=req, location=location)

    parser.pre_load = pre_load  # type: ignore[method-assign]
    parser._refuses_nul = True  # type: ignore[attr-defined]


def refuse_nul_in_path(endpoint: str | None, values: dict[str, Any] | None) -> None:
    """A URL value preprocessor: no path with a NUL names anything."""
    if values and any(NUL in str(value) for value in values.values()):
        raise NotFound()


def refuse_nul_in_page_input() -> None:
    """A before-request hook for the pages (the API's arguments are checked above, field by
    field): a form or query value holding a NUL is a 400."""
    if request.path.startswith("/api/"):
        return
    for values in (request.args, request.form):
        for key, items in values.lists():
            if NUL in key or any(NUL in item for item in items):
                raise BadRequest()
