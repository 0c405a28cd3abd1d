"""How many wrong security codes one pending sign-in has left.

Counted in the rate limiter's store (Redis when configured, so every worker sees the same
count), keyed by the random id the password step gave this sign-in: the session cookie is
signed but can be replayed, so a count kept in it could be wound back.
"""

from __future__ import annotations

from flask import current_app
from limits import RateLimitItemPerSecond

from registry.config import Settings
from registry.extensions import limiter

# Longer than a pending sign-in lives (five minutes), so a count cannot lapse before it.
_WINDOW_SECONDS = 600


def _allowed() -> RateLimitItemPerSecond:
    settings: Settings = current_app.config["SETTINGS"]
    return RateLimitItemPerSecond(settings.second_factor_attempts, _WINDOW_SECONDS)


def remaining(pending_id: str) -> bool:
    """Whether this pending sign-in may still try a code."""
    return bool(pending_id) and limiter.limiter.test(_allowed(), "security-code", pending_id)


def fail(pending_id: str) -> bool:
    """Count a wrong code; whether any attempts are left after it."""
    limiter.limiter.hit(_allowed(), "security-code", pending_id)
    return remaining(pending_id)
