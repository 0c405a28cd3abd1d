"""Saved eligibility queries: save, version and share a criteria document.

A saved query belongs to its owner and, if shared, to the people of the owner's role in
the owner's organisation (both as they were when the query was saved): partners of one
company can work on a query together, and no one else can tell it exists. The role
matters because an organisation is only a name on each account: a researcher whose
account names a company must not share staff-only criteria with that company's partners.

Every change is a new version, checked against the author's own role and kept with the
catalogue version it was written against. Running one is an ordinary
``POST /eligibility/count`` with its criteria, so disclosure control and the partner query
limits apply unchanged.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select

from registry.audit.actions import Actor, record_event
from registry.auth.models import User
from registry.db import session
from registry.eligibility.actions import audience_of, breakdown_fields
from registry.eligibility.catalogue import CATALOGUE_VERSION
from registry.eligibility.commands import SaveQuery, SaveQueryVersion
from registry.eligibility.criteria import normalised, parse_criteria
from registry.eligibility.models import NAME_MAX, SavedQuery, SavedQueryVersion
from registry.errors import NotFound, ValidationFailed


def create_saved_query(command: SaveQuery, *, user: User, by: Actor) -> SavedQuery:
    """Save a criteria document as version 1 of a new named query."""
    name = command.name.strip()
    if not name or len(name) > NAME_MAX:
        raise ValidationFailed({"name": [f"Give the query a name of 1 to {NAME_MAX} characters."]})
    if command.shared and user.organisation is None:
        # Sharing is within an organisation; without one the query could never be seen.
        raise ValidationFailed({"shared": ["Only members of an organisation can share queries."]})
    # Checked before anything is added, so a refusal leaves no query without a version.
    parse_criteria(command.criteria, role=user.role)
    breakdown_fields(command.breakdown, user)
    query = SavedQuery(
        query_id=secrets.token_hex(8),
        name=name,
        owner_id=user.id,
        owner_role=user.role.value,
        organisation=user.organisation,
        shared=command.shared,
    )
    session().add(query)
    _add_version(query, command.criteria, command.breakdown, user=user, by=by, action="create")
    return query


def add_version(
    query_id: str, command: SaveQueryVersion, *, user: User, by: Actor
) -> SavedQueryVersion:
    """A new version of a query the user can see (the owner, or their role in their
    organisation if shared)."""
    # Locked, so that two people saving at once get versions n and n+1, not a clash.
    query = visible_saved_query(user, query_id, lock=True)
    return _add_version(
        query, command.criteria, command.breakdown, user=user, by=by, action="version"
    )


def visible_saved_queries(user: User) -> list[SavedQuery]:
    """The user's own queries and those shared with their role in their organisation,
    newest first."""
    return list(
        session().scalars(
            select(SavedQuery)
            .where(_visible_to(user))
            .order_by(SavedQuery.created_at.desc(), SavedQuery.id.desc())
        )
    )


def visible_saved_query(user: User, query_id: str, *, lock: bool = False) -> SavedQuery:
    """The query, or NotFound: someone else's unshared query is not confirmed to exist."""
    statement = select(SavedQuery).where(SavedQuery.query_id == query_id, _visible_to(user))
    if lock:
        statement = statement.with_for_update()
    query = session().scalar(statement)
    if query is None:
        raise NotFound()
    return query


def saved_query_view(query: SavedQuery, *, history: bool) -> dict[str, Any]:
    """The query with its latest version, and with every version when ``history``."""
    versions = [version_view(version) for version in query.versions]
    view: dict[str, Any] = {
        "query_id": query.query_id,
        "name": query.name,
        "owner": _person(query.owner_id),
        "organisation": query.organisation,
        "role": query.owner_role,
        "shared": query.shared,
        "created_at": query.created_at,
        "latest": versions[-1],
    }
    if history:
        view["versions"] = versions
    return view


def _visible_to(user: User) -> ColumnElement[bool]:
    mine = SavedQuery.owner_id == user.id
    if user.organisation is None:
        return mine
    return or_(
        mine,
        and_(
            SavedQuery.shared,
            SavedQuery.organisation == user.organisation,
            SavedQuery.owner_role == user.role.value,
        ),
    )


def _add_version(
    query: SavedQuery,
    document: object,
    breakdown: Sequence[str],
    *,
    user: User,
    by: Actor,
    action: str,
) -> SavedQueryVersion:
    # Checked against the author's role: a partner cannot save fields partners may not use.
    criteria = parse_criteria(document, role=user.role)
    fields = list(breakdown_fields(breakdown, user))
    db = session()
    db.flush()  # a new query needs its id
    latest = db.scalar(
        select(func.max(SavedQueryVersion.version)).where(
            SavedQueryVersion.saved_query_id == query.id
        )
    )
    text = normalised(criteria)
    version = SavedQueryVersion(
        version=(latest or 0) + 1,
        criteria={"document": document, "normalised": text},
        breakdown=fields,
        catalogue_version=CATALOGUE_VERSION,
        author_id=user.id,
    )
    query.versions.append(version)
    db.flush()
    record_event(
        f"eligibility.saved_query.{action}",
        by=by,
        purpose=audience_of(user),
        target_type="saved_query",
        target_id=query.query_id,
        # The name is free text a user typed: it stays out of the audit log.
        details={
            "version": version.version,
            "shared": query.shared,
            "criteria": text,
            "breakdown": fields,
            "catalogue": CATALOGUE_VERSION,
        },
    )
    return version


def version_view(version: SavedQueryVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "criteria": version.criteria["document"],
        "normalised": version.criteria["normalised"],
        "breakdown": version.breakdown,
        "catalogue_version": version.catalogue_version,
        "author": _person(version.author_id),
        "created_at": version.created_at,
    }


def _person(user_id: int) -> dict[str, Any]:
    user = session().get(User, user_id)
    assert user is not None  # a foreign key
    return {"id": user.id, "name": user.name}
