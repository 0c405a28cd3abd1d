"""The eligibility query page for researchers and partners: build criteria with a form, see
the count (with a breakdown, its table and chart), and save queries. Thin: counting,
partners' privacy budget, the partner limits and saving are the same actions the API calls.

No JavaScript is needed. The page is one form; each button posts it to the route for what
it does (``formaction``): count, add or remove a row, save. Saved-query ids are random and
not personal, so they may go in a URL.
"""

from __future__ import annotations

import json
from itertools import pairwise
from typing import Any

from flask import Blueprint, current_app, flash, redirect, url_for
from werkzeug.wrappers import Response

from registry.auth.limits import limit_partner_queries
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.db import attempt
from registry.eligibility.actions import audience_of, count_eligible
from registry.eligibility.catalogue import catalogue, catalogue_for
from registry.eligibility.commands import CountEligible, SaveQuery, SaveQueryVersion
from registry.eligibility.describe import describe, differences
from registry.eligibility.saved import (
    add_version,
    create_saved_query,
    saved_query_view,
    visible_saved_queries,
    visible_saved_query,
)
from registry.errors import PrivacyBudgetExhausted, ValidationFailed, record_refusal
from registry.privacy.actions import budget_holder, budget_state
from registry.web.eligibility.display import CountAnswer, budget_view, count_answer
from registry.web.eligibility.forms import OPERATOR_LABELS, QueryForm, query_form_for
from registry.web.forms import form_page

bp = Blueprint("eligibility_web", __name__, url_prefix="/eligibility")


def _form(**kwargs: Any) -> QueryForm:
    return query_form_for(required_user().role)(**kwargs)


@bp.route("/")
@requires(Permission.QUERY_ELIGIBILITY)
def query() -> tuple[str, int]:
    return _query_page(_form())


@bp.route("/saved/<query_id>")
@requires(Permission.QUERY_ELIGIBILITY)
def saved(query_id: str) -> tuple[str, int]:
    """A saved query's latest version, loaded into the form (not counted until asked)."""
    latest = saved_query_view(visible_saved_query(required_user(), query_id), history=False)[
        "latest"
    ]
    return _query_page(
        _form(data=QueryForm.values_of(latest["criteria"], latest["breakdown"], query_id))
    )


@bp.route("/edit", methods=["POST"])
@requires(Permission.QUERY_ELIGIBILITY)
def edit() -> tuple[str, int]:
    """Add a clause row or remove one, keeping everything typed; nothing is counted."""
    form = _form()
    if form.validate_on_submit():
        form.apply_edit()
    return _query_page(form)


@bp.route("/count", methods=["POST"])
@limit_partner_queries
@requires(Permission.QUERY_ELIGIBILITY)
def count() -> tuple[str, int] | tuple[str, int, dict[str, str]]:
    """The count belongs to this POST (no redirect): it is shown with the form that asked."""
    user = required_user()
    form = _form()
    answer = counted = None
    if form.validate_on_submit():
        try:
            with attempt():
                document = form.criteria()
                result = count_eligible(
                    CountEligible(document, form.breakdown()), user=user, by=acting_as()
                )
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        except PrivacyBudgetExhausted as exc:
            record_refusal(exc)
            page, _ = _query_page(form, refusal=exc.message)
            return page, exc.status, {"Retry-After": str(exc.retry_after_seconds)}
        else:
            answer = count_answer(result)
            counted = {"sentence": describe(document), "json": json.dumps(document)}
    return _query_page(form, answer=answer, counted=counted)


@bp.route("/save", methods=["POST"])
@requires(Permission.QUERY_ELIGIBILITY)
def save() -> tuple[str, int] | Response:
    form = _form()
    if form.validate_on_submit():
        try:
            with attempt():
                saved_query = create_saved_query(
                    SaveQuery(
                        name=form.query_name.data or "",
                        criteria=form.criteria(),
                        breakdown=form.breakdown(),
                        shared=bool(form.shared.data),
                    ),
                    user=required_user(),
                    by=acting_as(),
                )
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            flash("Your query has been saved.", "info")
            return redirect(url_for(".saved", query_id=saved_query.query_id))
    return _query_page(form)


@bp.route("/saved/<query_id>/versions", methods=["POST"])
@requires(Permission.QUERY_ELIGIBILITY)
def save_version(query_id: str) -> tuple[str, int] | Response:
    form = _form()
    if form.validate_on_submit():
        try:
            with attempt():
                add_version(
                    query_id,
                    SaveQueryVersion(form.criteria(), form.breakdown()),
                    user=required_user(),
                    by=acting_as(),
                )
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            flash("A new version of the query has been saved.", "info")
            return redirect(url_for(".saved", query_id=query_id))
    return _query_page(form)


def _query_page(
    form: QueryForm,
    *,
    answer: CountAnswer | None = None,
    refusal: str | None = None,
    counted: dict[str, str] | None = None,
) -> tuple[str, int]:
    user = required_user()
    saved_queries = [
        _in_words(saved_query_view(q, history=True)) for q in visible_saved_queries(user)
    ]
    partner = audience_of(user) == "partner"
    return form_page(
        "eligibility/query.html",
        form,
        error_links=form.error_links(),
        answer=answer,
        refusal=refusal,
        partner=partner,
        budget=budget_view(budget_state(budget_holder(user))) if partner else None,
        period_days=current_app.config["SETTINGS"].privacy_period_days,
        saved_queries=saved_queries,
        loaded=next((q for q in saved_queries if q["query_id"] == form.query_id.data), None),
        fields=catalogue_for(user.role)["fields"],
        catalogue=catalogue(),
        operator_labels=OPERATOR_LABELS,
        counted=counted,
    )


def _in_words(view: dict[str, Any]) -> dict[str, Any]:
    """A saved query with its criteria as a sentence and each version's changes in words."""
    versions = view["versions"]
    changes = [
        f"Version {after['version']}: {differences(before['criteria'], after['criteria'])}"
        for before, after in pairwise(versions)
    ]
    return {**view, "sentence": describe(view["latest"]["criteria"]), "changes": changes}
