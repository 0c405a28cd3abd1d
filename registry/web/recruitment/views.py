"""The recruitment pages: partners submit and follow requests, admins decide, clinicians
work their site's contact list. Thin: the rules are the actions and queries the JSON API
calls (``recruitment/api.py``), and the forms only turn what was typed into its bodies.

Nothing that identifies anyone goes into a URL, a page title or the session: pages are
addressed by the request's and the participant's random ids, and the banners left for the
next page name no one.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from registry.auth.models import User
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.db import attempt
from registry.eligibility.criteria import parse_criteria
from registry.eligibility.describe import describe
from registry.eligibility.saved import saved_query_view, visible_saved_queries
from registry.errors import Conflict, Forbidden, ValidationFailed, record_refusal
from registry.fields import PageArgs, load_or_fail
from registry.input_rules import code_of, load_json
from registry.recruitment.actions import (
    close_request,
    confirm_request,
    decide_request,
    record_outcome,
    submit_request,
)
from registry.recruitment.models import (
    APPROVED,
    CLOSED,
    OPEN,
    REJECTED,
    SUBMITTED,
    RecruitmentRequest,
)
from registry.recruitment.queries import (
    Baseline,
    ListView,
    approval_preview,
    closure_preview,
    contact_list,
    funnel,
    listed_contact,
    request_view,
    visible_request,
    visible_requests,
)
from registry.recruitment.schemas import DecisionArgs, OutcomeArgs, RequestArgs
from registry.web.forms import ABSENT, form_page
from registry.web.recruitment.display import (
    CONTACT_STATUS_LABELS,
    HOLD_BACK_REASON_LABELS,
    REQUEST_STATUS_TAGS,
    funnel_view,
)
from registry.web.recruitment.forms import (
    CHOOSE_OUTCOME,
    CRITERIA,
    ApprovalForm,
    ContactFilterForm,
    DecisionForm,
    OutcomeForm,
    RequestForm,
)

bp = Blueprint("recruitment_web", __name__, url_prefix="/recruitment")

# What the request's page says after a step, by the status the step left it in.
NOTICES = {
    APPROVED: "Approved. The contact lists are frozen; they open when a second admin confirms.",
    OPEN: "The contact lists are open to each site's clinicians.",
    REJECTED: "Rejected. The partner can read your note.",
    CLOSED: "Closed. Clinicians no longer see its contact lists.",
}


# -- the list and a new request -------------------------------------------------------------


@bp.route("/")
@requires(Permission.VIEW_RECRUITMENT_REQUESTS)
def index() -> str:
    return render_template("recruitment/index.html", requests=visible_requests(required_user()))


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.SUBMIT_RECRUITMENT_REQUESTS)
def new() -> tuple[str, int] | Response:
    user = required_user()
    saved = {
        query.query_id: saved_query_view(query, history=False)
        for query in visible_saved_queries(user)
    }
    form = RequestForm()
    form.saved_query.choices = RequestForm.saved_query_choices(saved)
    # From a count on the eligibility page: its criteria arrive in the POST's body (never
    # in the address), to be checked with the rest when the request is submitted.
    from_count = bool(request.form.get("from_count"))
    if not from_count and form.validate_on_submit():
        body = form.request_body(saved)
        try:
            args = load_or_fail(RequestArgs(), body)
        except ValidationFailed as exc:
            # Every problem in one round: the criteria's too, not only once the rest is right.
            form.show_errors({**exc.fields, **_criteria_problems(body.get(CRITERIA), user)})
        else:
            try:
                submitted = submit_request(args, user=user, by=acting_as())
            except ValidationFailed as exc:
                form.show_errors(exc.fields)
            else:
                flash("Your request has been submitted. An admin will approve or reject it.")
                return redirect(url_for(".show", request_id=submitted.request_id))
    return form_page(
        "recruitment/new.html",
        form,
        has_saved_queries=bool(saved),
        from_count=from_count,
        criteria_sentence=_sentence(form.criteria_json.data),
    )


def _criteria_problems(criteria: Any, user: User) -> dict[str, list[str]]:
    """The criteria's errors, as ``submit_request`` would name them, without submitting."""
    if criteria is None:
        return {}
    try:
        parse_criteria(criteria, role=user.role)
    except ValidationFailed as exc:
        return {
            (f"{CRITERIA}.{path}" if path != "_schema" else CRITERIA): list(messages)
            for path, messages in exc.fields.items()
        }
    return {}


def _sentence(pasted: str | None) -> str | None:
    """Pasted or carried criteria in words, when they read as JSON."""
    try:
        return describe(load_json(pasted)) if pasted else None
    except ValueError:
        return None


# -- one request ----------------------------------------------------------------------------


@bp.route("/<request_id>")
@requires(Permission.VIEW_RECRUITMENT_REQUESTS)
def show(request_id: str) -> tuple[str, int]:
    return _request_page(visible_request(required_user(), request_id))


@bp.route("/<request_id>/decision", methods=["POST"])
@requires(Permission.DECIDE_RECRUITMENT_REQUESTS)
def decide(request_id: str) -> tuple[str, int] | Response:
    """Reject, with a note; approving goes on to its check page and acts only there."""
    found = visible_request(required_user(), request_id)
    form = DecisionForm()
    if form.validate_on_submit():
        if form.decision.data == "approve":
            return redirect(url_for(".approve", request_id=found.request_id), code=303)
        try:
            args = load_or_fail(DecisionArgs(), form.decision_body())
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            return _act_then_return(found, lambda: decide_request(found, args, by=acting_as()))
    return _request_page(found, form)


@bp.route("/<request_id>/approval", methods=["GET", "POST"])
@requires(Permission.DECIDE_RECRUITMENT_REQUESTS)
def approve(request_id: str) -> tuple[str, int] | Response:
    """The check page: how many people at each site approving would list, against the
    number the study needs, with an optional cap; the POST approves."""
    found = visible_request(required_user(), request_id)
    form = ApprovalForm()
    if found.status != SUBMITTED:
        return _request_page(found, refusal=f"This request is already {found.status}.", status=409)
    if form.validate_on_submit():
        try:
            args = load_or_fail(DecisionArgs(), form.decision_body())
            with attempt():  # refused: nothing frozen stays
                decide_request(found, args, by=acting_as())
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        except (Conflict, Forbidden) as exc:
            if exc.audited:
                record_refusal(exc)
            return _approval_page(found, form, refusal=exc.message, status=exc.status)
        else:
            flash(NOTICES[found.status])
            return redirect(url_for(".show", request_id=found.request_id))
    return _approval_page(found, form)


def _approval_page(
    found: RecruitmentRequest,
    form: ApprovalForm,
    *,
    refusal: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    return form_page(
        "recruitment/approve.html",
        form,
        status=status,
        r=found,
        preview=approval_preview(found),
        refusal=refusal,
    )


@bp.route("/<request_id>/confirmation", methods=["POST"])
@requires(Permission.DECIDE_RECRUITMENT_REQUESTS)
def confirm(request_id: str) -> tuple[str, int] | Response:
    found = visible_request(required_user(), request_id)
    return _act_then_return(found, lambda: confirm_request(found, by=acting_as()))


@bp.route("/<request_id>/closure", methods=["GET", "POST"])
@requires(Permission.CLOSE_RECRUITMENT_REQUESTS)
def close(request_id: str) -> tuple[str, int] | Response:
    """The check page (how many people, at how many sites, leave the lists); the POST closes."""
    user = required_user()
    found = visible_request(user, request_id)
    if request.method == "POST":
        return _act_then_return(found, lambda: close_request(found, by=acting_as()))
    if found.status not in (APPROVED, OPEN):
        return _request_page(
            found,
            refusal=f"Only an approved or open request can be closed; this one is {found.status}.",
            status=409,
        )
    return render_template(
        "recruitment/close.html",
        r=found,
        preview=closure_preview(found, user, by=acting_as()),
    ), 200


def _act_then_return(
    found: RecruitmentRequest, act: Callable[[], RecruitmentRequest]
) -> tuple[str, int] | Response:
    """Do one action on the request, then back to its page: with a banner saying what
    happened, or, if the action refused (decided already, the same admin confirming), the
    page as it was with the refusal and its status."""
    try:
        with attempt():  # refused: the request is shown as stored, not as half-changed
            done = act()
    except (Conflict, Forbidden) as exc:
        if exc.audited:
            record_refusal(exc)
        return _request_page(found, refusal=exc.message, status=exc.status)
    flash(NOTICES[done.status])
    return redirect(url_for(".show", request_id=found.request_id))


def _request_page(
    found: RecruitmentRequest,
    form: DecisionForm | None = None,
    *,
    refusal: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The request as the user's role may see it (``request_view``), with the funnel for
    those who follow it once there are lists, and the decision form for admins (which does
    not offer approval of a list too small to approve)."""
    user = required_user()
    form = form or DecisionForm()
    view = request_view(found, user, by=acting_as())
    if view.get("list_if_approved", {}).get("too_small"):
        form.offer_rejection_only()
    has_lists = found.status not in (SUBMITTED, REJECTED)
    follows = user.can(Permission.FOLLOW_RECRUITMENT_FUNNELS) and has_lists
    return form_page(
        "recruitment/show.html",
        form,
        status=status,
        r=view,
        funnel=funnel_view(funnel(found, user, by=acting_as())) if follows else None,
        refusal=refusal,
    )


# -- a site's contact list ------------------------------------------------------------------

# In the pages' links: a visit that started with no earlier look (everyone is new).
FIRST_VISIT = "first"


@bp.route("/<request_id>/contacts")
@requires(Permission.WORK_CONTACT_LISTS)
def contacts(request_id: str) -> tuple[str, int]:
    """The clinician's site's people on the list, 25 a page, identifiable: each read is
    audited. Filters and the page travel in the address; they name statuses, not people."""
    user = required_user()
    found = visible_request(user, request_id)
    return _contacts_page(found, _list_view(request.args))


@bp.route("/<request_id>/contacts/<participant_id>", methods=["POST"])
@requires(Permission.WORK_CONTACT_LISTS)
def record(request_id: str, participant_id: str) -> tuple[str, int] | Response:
    """One outcome from a row of the list, then back to that row on the same page of the
    same filters. No choice (or one not offered) is shown at the row, as a 422."""
    user = required_user()
    found = visible_request(user, request_id)
    form = OutcomeForm()
    where = {
        "page": form.page.data or None,
        "status": form.list_status.data or None,
        "new": form.new.data or None,
        "since": form.since.data or None,
    }
    view = _list_view(where)
    contact = listed_contact(found, user, participant_id)
    try:
        args = load_or_fail(OutcomeArgs(), {"status": form.status.data or None})
    except ValidationFailed as exc:
        messages = [
            CHOOSE_OUTCOME if code_of(message) in ABSENT else message
            for message in exc.fields.get("status", [])
        ]
        return _contacts_page(found, view, row_error=(participant_id, messages[0]))
    record_outcome(contact, status=args.status, by=acting_as())
    flash(f"Outcome recorded: {CONTACT_STATUS_LABELS[args.status]}.")
    return redirect(
        url_for(".contacts", request_id=request_id, **_list_args(view))
        + f"#contact-{participant_id}"
    )


def _list_view(args: Mapping[str, Any]) -> ListView:
    """The list's page and filters from the address (or the row's form), or 422."""
    problems: dict[str, list[str]] = {}
    page = 1
    try:
        page = load_or_fail(PageArgs(), {"page": args.get("page") or 1})["page"]
    except ValidationFailed as exc:
        problems.update(exc.fields)
    status = args.get("status") or None
    if status is not None and status not in CONTACT_STATUS_LABELS:
        problems["status"] = ["Choose a status from the list."]
    since: Baseline | None = None
    if raw := args.get("since"):
        if raw == FIRST_VISIT:
            since = Baseline(None)
        else:
            try:
                since = Baseline(dt.datetime.fromisoformat(raw))
            except ValueError:
                problems["since"] = ["This link is not one the list made: open the list again."]
    if problems:
        raise ValidationFailed(problems)
    return ListView(status=status, new_only=bool(args.get("new")), page=page, since=since)


def _list_args(view: ListView) -> dict[str, Any]:
    """The address's query for ``view``: what keeps a visit's page, filters and baseline."""
    query: dict[str, Any] = {}
    if view.page and view.page > 1:
        query["page"] = view.page
    if view.status:
        query["status"] = view.status
    if view.new_only:
        query["new"] = "y"
    if view.since is not None:
        query["since"] = view.since.at.isoformat() if view.since.at else FIRST_VISIT
    return query


def _contacts_page(
    found: RecruitmentRequest, view: ListView, *, row_error: tuple[str, str] | None = None
) -> tuple[str, int]:
    user = required_user()
    listing = contact_list(found, user, by=acting_as(), view=view)
    # The visit goes on across pages and saves: its links keep where "new" is measured from.
    going_on = ListView(
        status=view.status,
        new_only=view.new_only,
        page=listing["page"],
        since=Baseline(listing["last_looked_at"]),
    )
    filters = ContactFilterForm(
        formdata=None, data={"status": view.status or "", "new": view.new_only}
    )
    return render_template(
        "recruitment/contacts.html",
        listing=listing,
        form=OutcomeForm(formdata=None),
        filters=filters,
        here=_list_args(going_on),
        page_url=lambda page: url_for(
            ".contacts",
            request_id=found.request_id,
            **_list_args(dataclasses.replace(going_on, page=page)),
        ),
        since=_list_args(going_on).get("since"),
        row_error=row_error,
    ), 422 if row_error else 200


# -- how things read on these pages ---------------------------------------------------------


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {
        "request_status_tags": REQUEST_STATUS_TAGS,
        "contact_status_labels": CONTACT_STATUS_LABELS,
        "hold_back_reason_labels": HOLD_BACK_REASON_LABELS,
        "pretty_json": pretty_json,
    }


def pretty_json(document: object) -> str:
    # Not Jinja's tojson: that escapes "<" and ">" for scripts, which would garble "<=".
    return json.dumps(document, indent=2, ensure_ascii=False)
