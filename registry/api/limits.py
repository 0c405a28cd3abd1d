"""API rate limits: per token when one is sent, else per client address."""

from __future__ import annotations

import hashlib

from flask import Blueprint, current_app, request
from flask_limiter.util import get_remote_address

from registry.extensions import limiter


def api_client_key() -> str:
    """Rate-limit per token (hashed) when one is sent, otherwise per client address."""
    header = request.headers.get("Authorization", "")
    if header:
        return "token:" + hashlib.sha256(header.encode()).hexdigest()
    return "address:" + get_remote_address()


def rate_limit_api(blueprint: Blueprint) -> None:
    """Apply the configured API limit to a blueprint once (blueprints outlive test apps)."""
    if getattr(blueprint, "_registry_rate_limited", False):
        return
    limiter.limit(
        lambda: current_app.config["SETTINGS"].api_rate_limit,
        key_func=api_client_key,
        scope="api",
    )(blueprint)
    blueprint._registry_rate_limited = True  # type: ignore[attr-defined]
