"""Refusals kept on record: the request boundary rolls the request back, then appends them.

``registry.errors`` announces them (``registry.signals``) rather than recording them, since
recording needs the audit log and the signed-in actor, which sit above it. Imported by
``registry.create_app``, so the receivers are connected wherever an app exists.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from flask import current_app, g, request
from flask_limiter.util import get_remote_address
from limits import parse

from registry.audit.actions import Actor, keep_on_record
from registry.auth.session import current_actor
from registry.errors import RegistryError
from registry.extensions import limiter
from registry.signals import refused, security_event

log = logging.getLogger(__name__)


@refused.connect
def record_refusal(exc: RegistryError) -> None:
    """Each refusal that answers a question about who is enrolled (a duplicate, a search that
    found no one) is recorded every time; a denial (401, 403) is a security event, whose
    record a flood must not be able to multiply."""
    if exc.status in (401, 403):
        record_security_event("access.denied", outcome="denied", status=exc.status)
    else:
        _record_in_own_transaction(
            exc.audit_action or f"refused.{exc.code}",
            outcome=exc.audit_outcome,
            status=exc.status,
            purpose=exc.audit_purpose,
            details=exc.audit_details,
        )


@security_event.connect
def record_security_event(
    action: str, *, outcome: str, status: int, details: Mapping[str, Any] | None = None
) -> None:
    """Audit a refusal (denied, throttled, CSRF) unless this address has had too many of this
    kind recorded lately: the first of a burst are recorded, the rest only counted in the
    application log, so a flood of bad requests cannot fill the audit log."""
    allowance = parse(current_app.config["SETTINGS"].security_event_limit)
    if not limiter.limiter.hit(allowance, "security-event", action, get_remote_address()):
        log.warning(
            "%s not audited: too many from one address (request %s)", action, g.get("request_id")
        )
        return
    _record_in_own_transaction(action, outcome=outcome, status=status, details=details)


def _record_in_own_transaction(
    action: str,
    *,
    outcome: str,
    status: int,
    purpose: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Kept on record by the request boundary, after it rolls the request back."""
    keep_on_record(
        action,
        by=current_actor() or Actor.anonymous(),
        outcome=outcome,
        purpose=purpose,
        target_type="endpoint",
        target_id=(request.url_rule.rule if request.url_rule else request.path)[:64],
        details={"method": request.method, "status": status, **(details or {})},
    )
