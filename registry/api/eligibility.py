"""Eligibility: the field catalogue, counts (exact, or noisy for partners), and for
researchers under a data-access grant the matching participants, keyed by its study
pseudonym."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask_smorest.pagination import PaginationParameters

from registry.api.blueprint import RegistryBlueprint
from registry.api.openapi import RETRY_AFTER_HEADER
from registry.api.schemas import GrantParticipantPageSchema, page_body
from registry.auth.limits import limit_partner_queries
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.eligibility.actions import count_eligible, matching_participant_rows
from registry.eligibility.catalogue import catalogue_for
from registry.eligibility.commands import (
    CountEligible,
    MatchParticipants,
    SaveQuery,
    SaveQueryVersion,
)
from registry.eligibility.saved import (
    add_version,
    create_saved_query,
    saved_query_view,
    version_view,
    visible_saved_queries,
    visible_saved_query,
)
from registry.eligibility.schemas import (
    CatalogueSchema,
    CountArgs,
    CountSchema,
    ParticipantsArgs,
    SavedQueryArgs,
    SavedQueryListSchema,
    SavedQuerySchema,
    SavedQueryVersionArgs,
    SavedQueryVersionSchema,
)
from registry.exports.queries import usable_grant
from registry.fields import PageArgs

blp = RegistryBlueprint("eligibility", __name__, description="Eligibility queries")


@blp.route("/eligibility/fields", methods=["GET"])
@requires(Permission.QUERY_ELIGIBILITY)
@blp.response(200, CatalogueSchema)
def fields() -> dict[str, Any]:
    """The fields this role may query, with their types, operators and allowed values."""
    catalogue = catalogue_for(required_user().role)
    return {**catalogue, "fields_": catalogue["fields"]}


@blp.route("/eligibility/count", methods=["POST"])
@limit_partner_queries
@requires(Permission.QUERY_ELIGIBILITY)
@blp.arguments(CountArgs)
@blp.response(200, CountSchema)
@blp.alt_response(
    429,
    schema="Error",
    description="privacy_budget_exhausted: the partner's organisation has spent its privacy "
    "budget for the rolling period (Retry-After: when enough returns); or rate_limited",
    headers={"Retry-After": RETRY_AFTER_HEADER},
)
def count(args: CountEligible) -> dict[str, Any]:
    """How many contactable participants meet the criteria: exact for researchers; for
    partners with noise charged to their organisation's privacy budget, then "<10" below
    ten, otherwise to the nearest 5, and a ``privacy`` block. The same question from the
    same organisation within the consistency window gets the same answer at no cost."""
    return count_eligible(args, user=required_user(), by=acting_as())


@dataclass(frozen=True, slots=True)
class MatchingPage(MatchParticipants):
    page: int
    per_page: int


class MatchingArgs(ParticipantsArgs, PageArgs):
    """A POST's page is asked for in its body, beside the criteria."""

    command = MatchingPage


@blp.route("/eligibility/participants", methods=["POST"])
@requires(Permission.QUERY_EXACT_COUNTS)
@blp.arguments(MatchingArgs)
@blp.response(200, GrantParticipantPageSchema)
@blp.alt_response(404, schema="Error", description="no such grant naming you")
def participants(args: MatchingPage) -> dict[str, Any]:
    """Researchers, under a data-access grant naming them: the contactable participants
    who meet the criteria and the grant's terms, as its rows (keyed by its study pseudonym,
    its variables alone), a page at a time; audited. A grant they are not on: 404, as one
    that does not exist; expired or revoked: 403. Partners: 403."""
    user = required_user()
    grant = usable_grant(user, args.grant)
    parameters = PaginationParameters(page=args.page, page_size=args.per_page)
    rows = matching_participant_rows(
        args.criteria,
        grant,
        page=parameters.page,
        per_page=parameters.page_size,
        user=user,
        by=acting_as(),
    )
    parameters.item_count = rows.total
    return page_body(parameters, rows.items, grant=grant.grant_id)


@blp.route("/eligibility/saved-queries", methods=["POST"])
@requires(Permission.QUERY_ELIGIBILITY)
@blp.arguments(SavedQueryArgs)
@blp.response(201, SavedQuerySchema)
def save_query(args: SaveQuery) -> dict[str, Any]:
    """Save a named criteria document as version 1; "shared" lets the others of your role
    in your organisation see and version it. Run it with POST /eligibility/count and its
    criteria."""
    query = create_saved_query(args, user=required_user(), by=acting_as())
    return saved_query_view(query, history=True)


@blp.route("/eligibility/saved-queries", methods=["GET"])
@requires(Permission.QUERY_ELIGIBILITY)
@blp.response(200, SavedQueryListSchema)
def saved_queries() -> dict[str, Any]:
    """Your saved queries and those shared with your role in your organisation, newest
    first."""
    items = [saved_query_view(q, history=False) for q in visible_saved_queries(required_user())]
    return {"items": items}


@blp.route("/eligibility/saved-queries/<query_id>", methods=["GET"])
@requires(Permission.QUERY_ELIGIBILITY)
@blp.response(200, SavedQuerySchema)
def saved_query(query_id: str) -> dict[str, Any]:
    """A saved query with every version: its author, time and catalogue version."""
    return saved_query_view(visible_saved_query(required_user(), query_id), history=True)


@blp.route("/eligibility/saved-queries/<query_id>/versions", methods=["POST"])
@requires(Permission.QUERY_ELIGIBILITY)
@blp.arguments(SavedQueryVersionArgs)
@blp.response(201, SavedQueryVersionSchema)
def save_query_version(args: SaveQueryVersion, query_id: str) -> dict[str, Any]:
    """A new version of a saved query (yours, or shared with your role in your
    organisation)."""
    version = add_version(query_id, args, user=required_user(), by=acting_as())
    return version_view(version)
