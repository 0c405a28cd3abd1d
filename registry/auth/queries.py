"""Reads of the accounts: who matches an admin's filters, on the page and the command line."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from registry.audit.models import AuditEvent
from registry.auth.models import ApiToken, Site, User
from registry.auth.permissions import Role
from registry.db import session, utcnow


@dataclass(frozen=True)
class UserFilters:
    """What an admin narrows the list of users by; None means "any"."""

    role: Role | None = None
    site_code: str | None = None
    active: bool | None = None
    second_factor: bool | None = None
    never_signed_in: bool = False
    signed_in_within_days: int | None = None
    not_signed_in_for_days: int | None = None  # last signed in more than this many days ago


def status_of(user: User) -> str:
    """A user's status in words, as every list and page says it."""
    if not user.is_active:
        return "Deactivated"
    if user.last_sign_in_at is None:
        return "Waiting for first sign-in"
    return "Active"


def users_matching(filters: UserFilters, *, now: dt.datetime | None = None) -> Select[Any]:
    """Every user the filters keep, by name (then id, so pages never overlap)."""
    now = now or utcnow()
    statement = select(User).outerjoin(Site, User.site_id == Site.id)
    if filters.role is not None:
        statement = statement.where(User.role == filters.role)
    if filters.site_code:
        statement = statement.where(Site.code == filters.site_code.upper())
    if filters.active is not None:
        statement = statement.where(User.is_active.is_(filters.active))
    if filters.second_factor is True:
        statement = statement.where(User.totp_secret_sealed.is_not(None))
    elif filters.second_factor is False:
        statement = statement.where(User.totp_secret_sealed.is_(None))
    if filters.never_signed_in:
        statement = statement.where(User.last_sign_in_at.is_(None))
    if filters.signed_in_within_days is not None:
        since = now - dt.timedelta(days=filters.signed_in_within_days)
        statement = statement.where(User.last_sign_in_at >= since)
    if filters.not_signed_in_for_days is not None:
        before = now - dt.timedelta(days=filters.not_signed_in_for_days)
        statement = statement.where(User.last_sign_in_at < before)
    return statement.order_by(User.name, User.id)


# Acts that end every session of the user they name (each bumps the session generation).
_SESSION_ENDINGS = (
    "auth.sign_out",
    "user.change_password",
    "user.end_sessions",
    "user.deactivate",
    "user.reset_second_factor",
)


def open_session_count(user: User, *, within: dt.timedelta, now: dt.datetime | None = None) -> int:
    """How many sessions of the user may still be open: their sign-ins within the absolute
    session limit and since the last act that ended them all (an upper bound: a session
    left idle or closed in the browser is counted until its limit passes)."""
    now = now or utcnow()
    target = (AuditEvent.target_type == "user") & (AuditEvent.target_id == str(user.id))
    since = (now - within).isoformat(timespec="microseconds")
    last_ending = session().scalar(
        select(func.max(AuditEvent.at)).where(target, AuditEvent.action.in_(_SESSION_ENDINGS))
    )
    statement = (
        select(func.count())
        .select_from(AuditEvent)
        .where(
            target,
            AuditEvent.action == "auth.sign_in",
            AuditEvent.outcome == "success",
            AuditEvent.at >= max(since, last_ending or since),
        )
    )
    return int(session().scalar(statement) or 0)


def token_status(token: ApiToken, *, now: dt.datetime | None = None) -> str:
    """A token's status in words."""
    if token.revoked_at is not None:
        return "Revoked"
    if token.expires_at <= (now or utcnow()):
        return "Expired"
    return "Active"
