"""Eligibility: the field catalogue, counts (exact or disclosure-controlled), and for
researchers the pseudonymised matching participants."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_smorest import Blueprint

from registry.auth.models import User
from registry.auth.permissions import Permission, Role
from registry.auth.session import acting_as, requires, signed_in_user
from registry.db import session
from registry.eligibility.actions import count_eligible, matching_participant_pks
from registry.eligibility.catalogue import catalogue_for
from registry.eligibility.schemas import CatalogueSchema, CountArgs, CountSchema, ParticipantsArgs
from registry.errors import Unauthorised
from registry.extensions import limiter
from registry.participants.models import Participant
from registry.participants.queries import pseudonymised_view
from registry.participants.schemas import ParticipantPageSchema, PseudonymisedParticipantSchema

blp = Blueprint("eligibility", __name__, description="Eligibility queries")


def _user() -> User:
    user = signed_in_user()
    if user is None:
        raise Unauthorised()
    return user


@blp.route("/eligibility/fields", methods=["GET"])
@requires(Permission.QUERY_ELIGIBILITY)
@blp.response(200, CatalogueSchema)
def fields() -> dict[str, Any]:
    """The fields this role may query, with their types, operators and allowed values."""
    catalogue = catalogue_for(_user().role)
    return {**catalogue, "fields_": catalogue["fields"]}


def _partner_key() -> str:
    user = signed_in_user()
    return f"partner:{user.id}" if user is not None else "anonymous"


def _not_a_partner() -> bool:
    user = signed_in_user()
    return user is None or user.role is not Role.PARTNER


@blp.route("/eligibility/count", methods=["POST"])
# Per partner (not per token): a partner's questions are counted together, a first
# defence against differencing by many slightly different queries.
@limiter.limit(
    lambda: current_app.config["SETTINGS"].partner_query_limit,
    key_func=_partner_key,
    exempt_when=_not_a_partner,
    scope="partner-queries",
)
@requires(Permission.QUERY_ELIGIBILITY)
@blp.arguments(CountArgs)
@blp.response(200, CountSchema)
def count(args: dict[str, Any]) -> dict[str, Any]:
    """How many contactable participants meet the criteria: exact for researchers; for
    partners "<10" below ten, otherwise to the nearest 5, with suppression in breakdowns."""
    return count_eligible(
        args["criteria"], breakdown=args["breakdown"], user=_user(), by=acting_as()
    )


@blp.route("/eligibility/participants", methods=["POST"])
@requires(Permission.QUERY_EXACT_COUNTS)
@blp.arguments(ParticipantsArgs)
@blp.response(200, ParticipantPageSchema)
def participants(args: dict[str, Any]) -> dict[str, Any]:
    """Researchers: the matching participants, pseudonymised, a page at a time."""
    pks, total = matching_participant_pks(
        args["criteria"],
        page=args["page"],
        per_page=args["per_page"],
        user=_user(),
        by=acting_as(),
    )
    db = session()
    schema = PseudonymisedParticipantSchema()
    items = []
    for pk in pks:
        participant = db.get(Participant, pk)
        assert participant is not None  # its facts row was just read
        items.append(schema.dump(pseudonymised_view(participant)))
    return {"page": args["page"], "per_page": args["per_page"], "total": total, "items": items}
