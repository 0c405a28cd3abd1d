"""Application logs: one line per event, as text for people or JSON for a SIEM.

Both carry UTC times to the millisecond. In JSON each line is one object with the time,
level, logger and message, and, for a request, its id, the user's id, the route (the URL
rule, ``/api/v1/participants/<participant_id>``, never the path as sent), the status and
the duration. Nothing in either form comes from what a client typed: no query string, no
form field, no header but the request id the app assigned.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Flask, g, request
from werkzeug.wrappers import Response

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REQUEST_LOGGER = "registry.request"
# The request attributes a JSON line may carry (set by log_request, or by any log call made
# while a request is served).
REQUEST_FIELDS = ("request_id", "user_id", "route", "method", "status", "duration_ms")


class UtcFormatter(logging.Formatter):
    """Log times in UTC, ISO 8601 to the millisecond with a ``Z``: 2026-11-27T14:03:09.512Z,
    whatever the server's time zone, so they line up with the audit log's UTC times."""

    converter = staticmethod(time.gmtime)
    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"


class JsonFormatter(UtcFormatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            # The exception's type and where it was raised: a traceback's text can quote
            # values (a participant's, in a failed query), so it stays out.
            line["exception"] = record.exc_info[0].__name__ if record.exc_info[0] else None
        return json.dumps(line, separators=(",", ":"), ensure_ascii=False)


class RequestContextFilter(logging.Filter):
    """Adds the current request's id and user to every record logged while it is served."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            request_id = g.get("request_id")
        except RuntimeError:  # outside a request or app context
            return True
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id
        return True


def configure_logging(level: str, log_format: str) -> None:
    """The root handler, unless one exists (gunicorn's, or a test's)."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        formatter = JsonFormatter() if log_format == "json" else UtcFormatter(TEXT_FORMAT)
        handler.setFormatter(formatter)
        handler.addFilter(RequestContextFilter())
        logging.basicConfig(level=level, handlers=[handler])
    logging.getLogger("alembic").setLevel(logging.WARNING)


def log_requests(app: Flask) -> None:
    """One line per request from the app itself (JSON form: the server's text access log
    is turned off then, in config/gunicorn.conf.py)."""
    logger = logging.getLogger(REQUEST_LOGGER)

    @app.before_request
    def start_clock() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        started = g.get("request_started")
        duration = (time.perf_counter() - started) * 1000 if started is not None else None
        user_id = _user_id()
        rule = request.url_rule.rule if request.url_rule is not None else None
        logger.info(
            "%s %s %s",
            request.method,
            rule or "(no route)",
            response.status_code,
            extra={
                "request_id": g.get("request_id"),
                "user_id": user_id,
                "route": rule,
                "method": request.method,
                "status": response.status_code,
                "duration_ms": round(duration, 1) if duration is not None else None,
            },
        )
        return response


def _user_id() -> int | None:
    # Read without loading: a request that never asked who is signed in must not start a
    # database session at its end.
    user = g.get("_login_user")
    return getattr(user, "id", None)


def gunicorn_json_logging(level: str) -> dict[str, Any]:
    """gunicorn's ``logconfig_dict`` for the JSON form: its own lines (start-up, worker
    restarts, errors) go through the same JSON handler as the app's."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": "registry.logs.RequestContextFilter"}},
        "formatters": {"json": {"()": "registry.logs.JsonFormatter"}},
        "handlers": {
            "json": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["request"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": level, "handlers": [], "propagate": False},
        },
    }
