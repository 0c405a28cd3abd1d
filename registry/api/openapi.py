"""The OpenAPI document tells the truth about errors.

There is no catch-all "default" response: each operation lists the error statuses it can
answer, every one with the single error body of ``registry.errors``, so a client (and the
fuzzer in tests/test_fuzz_api.py) knows exactly what to expect. They are worked out once,
here, from what every endpoint is built from rather than written on each view:

- ``@requires(permission)``: 401 without a valid token or session; 403 for a role without
  the permission (or a web session whose one-time password must be changed first);
- a path parameter (``/participants/<participant_id>``): 404 when there is no such thing,
  or none this user may see;
- a request body: 413 over ``MAX_CONTENT_LENGTH``, 422 from its schema (which flask-smorest
  already documents for every ``@blp.arguments``);
- any state-changing method: 400 for malformed JSON or JSON nested too deeply
  (``registry.input_rules``), or a session-cookie request without its CSRF token;
- a rate-limited blueprint (every ``RegistryBlueprint`` once registered): 429 with ``Retry-After``.

Statuses particular to one endpoint (409 for a duplicate, say) stay with the endpoint, as
``@blp.alt_response``; one declared there without a body gets the error body too.
"""

from __future__ import annotations

from typing import Any

from apispec import APISpec, BasePlugin
from flask import Flask
from flask_smorest.utils import prepare_response
from marshmallow import Schema
from werkzeug.routing import Rule

from registry.api.blueprint import RegistryBlueprint
from registry.input_rules import MAX_JSON_DEPTH

# status -> (flask-smorest's component name for it, what it means here)
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: (
        "BAD_REQUEST",
        f"The body is not valid JSON, or is nested more than {MAX_JSON_DEPTH} levels deep; "
        "or, signed in with the session cookie, the request has no CSRF token.",
    ),
    401: ("UNAUTHORIZED", "No valid API token or session: sign in, or send a token."),
    403: ("FORBIDDEN", "Signed in, but not allowed to do this (the error code says why)."),
    404: ("NOT_FOUND", "There is no such thing, or none that you may see."),
    413: ("REQUEST_ENTITY_TOO_LARGE", "The request body is too large."),
    422: (
        "UNPROCESSABLE_ENTITY",
        "Some of the information given is not valid: fields names each problem.",
    ),
    429: ("TOO_MANY_REQUESTS", "Too many requests: wait for Retry-After seconds."),
}

RETRY_AFTER_HEADER = {
    "description": "Seconds to wait before trying again.",
    "required": True,
    "schema": {"type": "integer", "minimum": 0},
}

STATE_CHANGING_METHODS = frozenset({"post", "put", "patch", "delete"})


def register_error_responses(spec: APISpec, error_schema: type[Schema], content_type: str) -> None:
    """The error responses operations refer to, described for this API (lazily, like
    flask-smorest's own, so only those in use appear in the document)."""
    for status, (name, description) in ERROR_RESPONSES.items():
        response: dict[str, Any] = {"description": description, "schema": error_schema}
        if status == 429:
            response["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
        prepare_response(response, spec, content_type)
        spec.components.response(name, response, lazy=True)


def error_statuses(method: str, operation: dict[str, Any], rule: Rule, app: Flask) -> set[int]:
    """The error statuses an operation can answer, from how its endpoint is built."""
    view = app.view_functions.get(rule.endpoint)
    blueprint = app.blueprints.get(rule.endpoint.rpartition(".")[0])
    statuses: set[int] = set()
    if getattr(view, "required_permission", None) is not None:
        statuses |= {401, 403}
    if rule.arguments:
        statuses.add(404)
    if "requestBody" in operation:
        statuses |= {413, 422}
    if method in STATE_CHANGING_METHODS:
        statuses.add(400)
    if isinstance(blueprint, RegistryBlueprint) and blueprint.rate_limited:
        statuses.add(429)
    return statuses


class ErrorResponsesPlugin(BasePlugin):
    """An apispec plugin adding each operation's error responses as its path is documented."""

    def __init__(self, app: Flask, error_schema_name: str) -> None:
        self.app = app
        self.error_schema_ref = {"$ref": f"#/components/schemas/{error_schema_name}"}

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, dict[str, Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        rule = kwargs.get("rule")
        if not isinstance(rule, Rule) or not operations:
            return
        for method, operation in operations.items():
            responses: dict[str, Any] = {
                str(status): response for status, response in operation.get("responses", {}).items()
            }
            for status in error_statuses(method, operation, rule, self.app):
                responses.setdefault(str(status), ERROR_RESPONSES[status][0])
            for code, response in responses.items():
                if code.startswith("4") and isinstance(response, dict):
                    response.setdefault(
                        "content", {"application/json": {"schema": self.error_schema_ref}}
                    )
            operation["responses"] = dict(sorted(responses.items()))
