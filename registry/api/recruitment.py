"""Recruitment requests: partners submit and follow, admins decide, clinicians work their
site's list. Views are thin: the rules are in actions and queries."""

from __future__ import annotations

from typing import Any

from registry.api.blueprint import RegistryBlueprint
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.recruitment.actions import (
    close_request,
    confirm_request,
    decide_request,
    record_outcome,
    submit_request,
)
from registry.recruitment.commands import DecideRequest, RecordOutcome, RequestFilter, SubmitRequest
from registry.recruitment.queries import (
    contact_list,
    funnel,
    listed_contact,
    request_view,
    visible_request,
    visible_requests,
)
from registry.recruitment.schemas import (
    ContactListSchema,
    DecisionArgs,
    FunnelSchema,
    OutcomeArgs,
    OutcomeSchema,
    RequestArgs,
    RequestListArgs,
    RequestListSchema,
    RequestSchema,
)

blp = RegistryBlueprint(
    "recruitment", __name__, url_prefix="/recruitment-requests", description="Recruitment"
)


@blp.route("", methods=["POST"])
@requires(Permission.SUBMIT_RECRUITMENT_REQUESTS)
@blp.arguments(RequestArgs)
@blp.response(201, RequestSchema)
def submit(args: SubmitRequest) -> dict[str, Any]:
    """Partners: ask the registry to approach matching, consenting participants about a
    study. Nobody is chosen until an admin approves."""
    user = required_user()
    return request_view(submit_request(args, user=user, by=acting_as()), user, by=acting_as())


@blp.route("", methods=["GET"])
@requires(Permission.VIEW_RECRUITMENT_REQUESTS)
@blp.arguments(RequestListArgs, location="query")
@blp.response(200, RequestListSchema)
def list_requests(args: RequestFilter) -> dict[str, Any]:
    """Partners: their organisation's requests; admins: all; clinicians: open requests
    with people on their site's list."""
    user = required_user()
    items = visible_requests(user, status=args.status)
    return {"items": [request_view(r, user, by=acting_as()) for r in items]}


@blp.route("/<request_id>", methods=["GET"])
@requires(Permission.VIEW_RECRUITMENT_REQUESTS)
@blp.response(200, RequestSchema)
def show(request_id: str) -> dict[str, Any]:
    """One request. Admins also see contactable matches per site (before a decision) and
    who was held back; partners see this week's release of the figures (privacy budget)."""
    user = required_user()
    return request_view(visible_request(user, request_id), user, by=acting_as())


@blp.route("/<request_id>/decision", methods=["POST"])
@requires(Permission.DECIDE_RECRUITMENT_REQUESTS)
@blp.arguments(DecisionArgs)
@blp.response(200, RequestSchema)
@blp.alt_response(
    409,
    schema="Error",
    description="request_already_decided; contact_window_over (approving after it ended); "
    "list_too_small (approving a list of fewer people than the minimum)",
)
def decide(args: DecideRequest, request_id: str) -> dict[str, Any]:
    """Admins: approve (freezing the contact lists now) or reject, with a note. An approval
    may give a ``cap``: at most that many are listed, chosen at random (each equally likely)
    from everyone who would be; the cap is kept with the decision (``list_cap``). A cap
    below the minimum list size is refused (422, at ``cap``)."""
    user = required_user()
    request = visible_request(user, request_id)
    decided = decide_request(request, args, by=acting_as())
    return request_view(decided, user, by=acting_as())


@blp.route("/<request_id>/confirmation", methods=["POST"])
@requires(Permission.DECIDE_RECRUITMENT_REQUESTS)
@blp.response(200, RequestSchema)
@blp.alt_response(409, schema="Error", description="not_awaiting_confirmation")
def confirm(request_id: str) -> dict[str, Any]:
    """Admins, under the two-person rule: a second admin opens an approved request's lists."""
    user = required_user()
    return request_view(
        confirm_request(visible_request(user, request_id), by=acting_as()), user, by=acting_as()
    )


@blp.route("/<request_id>/closure", methods=["POST"])
@requires(Permission.CLOSE_RECRUITMENT_REQUESTS)
@blp.response(200, RequestSchema)
@blp.alt_response(
    409,
    schema="Error",
    description="request_not_open: only an approved or open request can be closed",
)
def close(request_id: str) -> dict[str, Any]:
    """Admins, or the partner: close a request; its lists stop at once."""
    user = required_user()
    return request_view(
        close_request(visible_request(user, request_id), by=acting_as()), user, by=acting_as()
    )


@blp.route("/<request_id>/contacts", methods=["GET"])
@requires(Permission.WORK_CONTACT_LISTS)
@blp.response(200, ContactListSchema)
def contacts(request_id: str) -> dict[str, Any]:
    """Clinicians: their site's people on an open request's list, identifiable (audited),
    with what is new since they last looked."""
    user = required_user()
    return contact_list(visible_request(user, request_id), user, by=acting_as())


@blp.route("/<request_id>/contacts/<participant_id>", methods=["PATCH"])
@requires(Permission.WORK_CONTACT_LISTS)
@blp.arguments(OutcomeArgs)
@blp.response(200, OutcomeSchema)
def outcome(args: RecordOutcome, request_id: str, participant_id: str) -> dict[str, Any]:
    """Clinicians: record what happened when they approached this person."""
    user = required_user()
    request = visible_request(user, request_id)
    contact = record_outcome(
        listed_contact(request, user, participant_id), status=args.status, by=acting_as()
    )
    return {
        "participant_id": participant_id,
        "status": contact.status,
        "status_at": contact.status_at,
    }


@blp.route("/<request_id>/funnel", methods=["GET"])
@requires(Permission.FOLLOW_RECRUITMENT_FUNNELS)
@blp.response(200, FunnelSchema)
def show_funnel(request_id: str) -> dict[str, Any]:
    """People on the lists by status, now and week by week: exact for admins; for the
    partner one noisy release a week charged to the organisation's privacy budget, and
    the releases so far as the history (see ``registry.recruitment.released``)."""
    user = required_user()
    return funnel(visible_request(user, request_id), user, by=acting_as())
