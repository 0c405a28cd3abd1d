"""Who is asking: web sessions (Flask-Login), bearer tokens, and the permission check.

A web session is a signed cookie naming the user *and* their session generation, with the
time it started and was last used. Sign-out, a password change, deactivation and an admin's
`registry users end-sessions` bump the generation, so an old cookie replayed later names a
generation that no longer exists and is refused (a password change re-issues the cookie of
the session that made it).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from flask import Flask, current_app, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from registry.audit.actions import Actor
from registry.auth.actions import token_for_secret
from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.config import Settings
from registry.db import session as db_session
from registry.errors import Forbidden, Unauthorised, wants_json
from registry.extensions import login_manager

P = ParamSpec("P")
R = TypeVar("R")


def init_login(app: Flask) -> None:
    """Flask-Login for this app: a session cookie or a bearer token finds the user."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.sign_in"
    login_manager.user_loader(load_user_from_session)
    login_manager.request_loader(load_user_from_token)


def load_user_from_session(user_id: str) -> User | None:
    if request.headers.get("Authorization"):
        return None  # an explicit token wins over a cookie sent alongside it
    id_part, _, generation = user_id.partition(":")
    if not id_part.isdigit():
        return None
    user = db_session().get(User, int(id_part))
    if user is None or not user.is_active or str(user.session_generation) != generation:
        session.clear()
        return None
    settings: Settings = current_app.config["SETTINGS"]
    now = time.time()
    started = float(session.get("started_at", 0))
    last_seen = float(session.get("last_seen_at", 0))
    if now - started > settings.absolute_timeout_hours * 3600:
        _expire("Your session reached its 12-hour limit. Sign in again.")
        return None
    if now - last_seen > settings.idle_timeout_minutes * 60:
        _expire("You were signed out after 15 minutes without activity. Sign in again.")
        return None
    session["last_seen_at"] = now
    return user


def _expire(message: str) -> None:
    session.clear()
    if not request.path.startswith("/api/"):
        flash(message, "info")


def load_user_from_token(req: object) -> User | None:
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    token = token_for_secret(secret.strip())
    if token is None:
        return None
    g.api_token_id = token.id
    return token.user


def api_token_id() -> int | None:
    """The id of the bearer token that authenticated this request, if one did."""
    if signed_in_user() is None:
        return None
    token_id: int | None = g.get("api_token_id")
    return token_id


def start_session(
    user: User, *, started_at: float | None = None, through_provider: bool = False
) -> None:
    """A fresh session for a newly signed-in user (no state carried over from before).
    ``through_provider``: they signed in at the identity provider, whose session signing
    out should end too."""
    now = time.time()
    session.clear()
    session.permanent = True
    login_user(user)
    session["started_at"] = now if started_at is None else started_at
    session["last_seen_at"] = now
    if through_provider:
        session["through_provider"] = True


def reissue_session(user: User) -> None:
    """A new cookie for the same sign-in, naming the user's current session generation:
    after a password change bumps it, this session goes on while every other one ends. It
    keeps its start time, so the absolute limit still counts from the sign-in."""
    start_session(
        user,
        started_at=float(session.get("started_at", time.time())),
        through_provider=signed_in_through_provider(),
    )


def signed_in_through_provider() -> bool:
    """Whether this session began with a sign-in at the identity provider."""
    return session.get("through_provider") is True


def signed_in_user() -> User | None:
    user = current_user._get_current_object()
    return user if isinstance(user, User) else None


def current_actor() -> Actor | None:
    user = signed_in_user()
    return Actor.for_user(user) if user else None


def required_user() -> User:
    """The signed-in user; views behind @requires always have one (anyone else was refused
    or sent to sign in before the view ran)."""
    user = signed_in_user()
    if user is None:
        raise Unauthorised()
    return user


def acting_as() -> Actor:
    """The signed-in user as an audit actor; views behind @requires always have one."""
    actor = current_actor()
    if actor is None:
        raise Unauthorised()
    return actor


def authenticated_by_token() -> bool:
    return bool(request.headers.get("Authorization")) and signed_in_user() is not None


def requires(permission: Permission) -> Callable[[Callable[P, R]], Callable[P, R | Response]]:
    """Let the view run only for a signed-in user whose role has ``permission``.

    Anonymous: 401 under /api, otherwise a redirect to the sign-in page. Wrong role: 403,
    audited. Queries check again, scoped to the user (defence in depth).
    """

    def decorator(view: Callable[P, R]) -> Callable[P, R | Response]:
        @wraps(view)
        def wrapped(*args: P.args, **kwargs: P.kwargs) -> R | Response:
            user = signed_in_user()
            if user is None:
                if wants_json():
                    raise Unauthorised()
                return redirect(url_for("auth.sign_in", next=request.path))
            if user.password_must_change and not authenticated_by_token():
                if wants_json():
                    raise Forbidden(
                        "Change your one-time password first.", code="password_change_required"
                    )
                return redirect(url_for("auth.change_password"))
            if not user.can(permission):
                raise Forbidden()
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped

    return decorator


def safe_next_url(target: str | None) -> str:
    """Only same-site paths: an open redirect would make phishing the sign-in page easy."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("home.index")
