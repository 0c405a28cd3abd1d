"""Rate limits: whom the API's limit counts (``api_client_key``; ``RegistryBlueprint``
applies it), and the per-partner budget for counts."""

from __future__ import annotations

from flask import current_app
from flask_limiter.util import get_remote_address

from registry.auth.permissions import Role
from registry.auth.session import api_token_id, signed_in_user
from registry.extensions import limiter


def api_client_key() -> str:
    """Rate-limit per authenticated token (or signed-in user), otherwise per client
    address: never per header as sent, which a caller could respell for a fresh bucket."""
    user = signed_in_user()
    token_id = api_token_id()
    if token_id is not None:
        return f"token:{token_id}"
    if user is not None:
        return f"user:{user.id}"
    return "address:" + get_remote_address()


def _partner_key() -> str:
    user = signed_in_user()
    return f"partner:{user.id}" if user is not None else "anonymous"


def _not_a_partner() -> bool:
    user = signed_in_user()
    return user is None or user.role is not Role.PARTNER


# Per partner, not per token or per page: one shared budget for every route that runs a
# count (the API and the web page alike), a first defence against differencing by many
# slightly different queries. On top of the API's own limit, not instead of it (a route's
# limit would otherwise override its blueprint's, leaving counts unlimited for everyone
# but partners).
limit_partner_queries = limiter.shared_limit(
    lambda: current_app.config["SETTINGS"].partner_query_limit,
    scope="partner-queries",
    key_func=_partner_key,
    exempt_when=_not_a_partner,
    override_defaults=False,
)
