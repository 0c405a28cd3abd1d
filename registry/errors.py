"""Domain errors, and the one place they become HTTP answers.

Under ``/api`` every error is JSON of one shape::

    {"error": {"status": 422, "code": "validation_error", "message": "…", "fields": {…}}}

Elsewhere an HTML page in the site's layout. Never a traceback, never request data echoed.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask, Response, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from registry.signals import refused, security_event, send_to_all

log = logging.getLogger(__name__)


class RegistryError(Exception):
    status = 400
    code = "bad_request"
    message = "The request could not be processed."
    # Refusals worth a record even though the request's own transaction is rolled back,
    # and how it reads (by default "refused.<code>").
    audited = False
    audit_action: str | None = None
    audit_outcome = "refused"
    audit_purpose: str | None = None
    audit_details: Mapping[str, Any] | None = None

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        fields: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        if code:
            self.code = code
        self.fields = {k: list(v) for k, v in (fields or {}).items()}


class ValidationFailed(RegistryError):
    status = 422
    code = "validation_error"
    message = "Some of the information given is not valid."

    def __init__(self, fields: Mapping[str, Sequence[str]], message: str | None = None) -> None:
        super().__init__(message, fields=fields)


class Unauthorised(RegistryError):
    status = 401
    code = "unauthorised"
    audited = True
    message = "Sign in, or send a valid API token."


class Forbidden(RegistryError):
    status = 403
    code = "forbidden"
    audited = True
    message = "Your role does not allow this."


class NotFound(RegistryError):
    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(RegistryError):
    status = 409
    code = "conflict"

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message, code=code)


class NoParticipantWithThisNumber(NotFound):
    """A search by NHS number found no one the searcher may see. Audited like a hit: each
    answer tells the searcher something about who is enrolled."""

    code = "participant_not_found"
    message = "No participant with this NHS number at your site."
    audited = True


class PrivacyBudgetExhausted(RegistryError):
    """A partner organisation's question would spend more of its privacy budget than the
    rolling period allows: nothing is answered or charged. Audited."""

    status = 429
    code = "privacy_budget_exhausted"
    audited = True

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class StepUpFailed(ValidationFailed):
    """The signed-in user did not prove it is still them (password, or a security code not
    used before) before an act that cannot be undone. Audited as a denied re-authentication."""

    code = "step_up_failed"
    audited = True
    audit_action = "auth.reauthenticate"
    audit_outcome = "denied"
    _ANSWERS = {
        "security_code": (
            "security_code",
            "The security code is not correct, or it was already used.",
        ),
        "password": ("password", "Your password is not correct."),
        "none": ("security_code", "Enter a security code from your app, or your password."),
    }

    def __init__(self, *, method: str, purpose: str) -> None:
        field, message = self._ANSWERS[method]
        super().__init__({field: [message]}, "Confirm it is you before this act.")
        self.method = method
        self.audit_purpose = purpose
        self.audit_details = {"method": method}


class DuplicateParticipant(Conflict):
    """The NHS number is already enrolled. Audited: repeated attempts could be someone
    probing who is in a mental-health registry, and the answer says nothing more."""

    audited = True
    message = "This person is already enrolled."

    def __init__(self) -> None:
        super().__init__("duplicate_participant", self.message)


_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorised",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}

_HTTP_MESSAGES = {
    400: "The request is malformed.",
    401: "Sign in, or send a valid API token.",
    403: "Your role does not allow this.",
    404: "Not found.",
    405: "This method is not allowed here.",
    413: "The request is too large.",
    415: "Send JSON with Content-Type: application/json.",
    422: "Some of the information given is not valid.",
    429: "Too many requests. Wait a moment and try again.",
    500: "Something went wrong on our side. The error has been logged.",
    503: "The service is unavailable. Try again shortly.",
}


def wants_json() -> bool:
    return request.path.startswith("/api/")


def error_response(
    status: int,
    code: str,
    message: str,
    fields: Mapping[str, Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    if wants_json():
        body: dict[str, Any] = {"status": status, "code": code, "message": message}
        if fields:
            body["fields"] = {k: list(v) for k, v in fields.items()}
        response = jsonify({"error": body})
    else:
        response = Response(
            render_template("errors/error.html", status=status, message=message, fields=fields),
            mimetype="text/html",
        )
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as {"consent.items.registry_storage": [...]}."""
    flat: dict[str, list[str]] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping):
            for key, inner in value.items():
                walk(f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "_schema", []).extend(value)
        else:
            flat.setdefault(prefix or "_schema", []).append(str(value))

    walk(prefix, messages)
    return flat


def _flatten_webargs(messages: Any) -> dict[str, list[str]]:
    """webargs nests messages by location ({"json": {"field": [...]}}); callers want fields."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, Mapping):
        for location, inner in messages.items():
            known = location in {"json", "query", "querystring", "form", "headers", "files"}
            for name, found in flatten_messages(inner, "" if known else str(location)).items():
                flat.setdefault(name, []).extend(found)
    return flat


def record_refusal(exc: RegistryError) -> None:
    """Keep a refused attempt on record although the request's transaction is rolled back.

    The recording needs the audit log and the signed-in actor, which sit above this module:
    ``registry.auth.refusals`` receives the signal."""
    send_to_all(refused, exc)


def record_security_event(
    action: str, *, outcome: str, status: int, details: Mapping[str, Any] | None = None
) -> None:
    """Audit a refusal (denied, throttled, CSRF), within a per-address allowance; see
    ``registry.auth.refusals``."""
    send_to_all(security_event, action, outcome=outcome, status=status, details=details)


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(RegistryError)
    def handle_registry_error(exc: RegistryError) -> Response:
        if exc.audited:
            record_refusal(exc)
        retry_after = getattr(exc, "retry_after_seconds", None)
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
        return error_response(exc.status, exc.code, exc.message, exc.fields, headers)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(exc: CSRFError) -> Response:
        record_security_event("security.csrf_failed", outcome="refused", status=400)
        return error_response(
            400, "csrf_failed", "The form expired or was not sent from this site. Try again."
        )

    @app.errorhandler(HTTPException)
    def handle_http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        fields = None
        data = getattr(exc, "data", None)
        if isinstance(data, Mapping) and "messages" in data:
            fields = _flatten_webargs(data["messages"])
            # webargs reports unparseable JSON as a 400 with a "json" message.
            if status == 400 or fields.get("_schema") == ["Invalid JSON body."]:
                return error_response(400, "malformed_json", "The request body is not valid JSON.")
        headers = {}
        if status == 429:
            retry_after = g.get("retry_after_seconds")
            headers["Retry-After"] = str(retry_after or 60)
            record_security_event(
                "security.throttled",
                outcome="refused",
                status=429,
                details={"limit": str(exc.description or "")[:64]},
            )
        if status == 405 and exc.get_headers():
            headers.update({k: v for k, v in exc.get_headers() if k == "Allow"})
        message = _HTTP_MESSAGES.get(status, exc.description or "Error.")
        if status == 429 and exc.description:
            message = f"Too many requests ({exc.description}). Wait and try again."
        return error_response(status, _HTTP_CODES.get(status, "error"), message, fields, headers)

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> Response:
        # The type, the frames and the request id only: an exception's text (a database
        # error's parameters, say) may carry data from the request.
        log.error(
            "unhandled %s in %s %s (request %s)\n%s",
            type(exc).__name__,
            request.method,
            request.url_rule.rule if request.url_rule else "?",
            g.get("request_id"),
            "".join(traceback.format_tb(exc.__traceback__)),
        )
        return error_response(500, "internal_error", _HTTP_MESSAGES[500])
