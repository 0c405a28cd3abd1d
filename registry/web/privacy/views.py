"""Admins' pages for partners' privacy budgets: every organisation's spending, and setting
one's allowance through a check page that says, in numbers, what will change first (an
allowance decides how much many people's data may reveal).

Thin: the same queries, schema and action as the JSON API. The organisation travels in the
query string and the form, never the path: it is free text and may hold a slash."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from registry.auth.permissions import Permission
from registry.auth.session import acting_as, requires
from registry.config import Settings
from registry.errors import NotFound, ValidationFailed
from registry.fields import load_or_fail
from registry.privacy.actions import partner_organisations, questions_paid_for, set_allowance
from registry.privacy.queries import allowance_change, organisation_budget, organisation_budgets
from registry.privacy.schemas import AllowanceArgs
from registry.web.forms import form_page
from registry.web.privacy.forms import AllowanceForm

bp = Blueprint("privacy_web", __name__, url_prefix="/admin/privacy")


@bp.route("/")
@requires(Permission.MANAGE_PRIVACY_BUDGETS)
def index() -> str:
    return render_template(
        "privacy/index.html", budgets=organisation_budgets(), settings=_settings()
    )


@bp.route("/allowance", methods=["GET", "POST"])
@requires(Permission.MANAGE_PRIVACY_BUDGETS)
def allowance() -> tuple[str, int] | Response:
    """Choose the allowance; check what it changes; set it (``step``: check, change,
    confirm)."""
    form = AllowanceForm(organisation=request.args.get("organisation"))
    form.question_cost = _settings().privacy_query_cost
    organisation = form.organisation.data or ""
    if organisation not in partner_organisations():
        raise NotFound("No partner organisation has this name.")
    step = request.form.get("step")
    if not form.validate_on_submit() or step == "change":
        return _choice_page(form, organisation)
    try:
        args = load_or_fail(AllowanceArgs(), form.allowance_body())
    except ValidationFailed as exc:
        form.show_errors(exc.fields)
        return _choice_page(form, organisation)
    if step != "confirm":
        return form_page(
            "privacy/check_allowance.html",
            form,
            change=allowance_change(organisation, args["allowance"]),
            settings=_settings(),
        )
    set_allowance(organisation, args["allowance"], by=acting_as())
    flash(f"{organisation}'s allowance has been changed.", "info")
    return redirect(url_for(".index"))


def _choice_page(form: AllowanceForm, organisation: str) -> tuple[str, int]:
    budget = organisation_budget(organisation)
    if not form.is_submitted() and not budget.allowance_is_default:
        form.questions.data = str(budget.questions_per_period)
    settings = _settings()
    return form_page(
        "privacy/allowance.html",
        form,
        budget=budget,
        settings=settings,
        default_questions=questions_paid_for(
            settings.privacy_allowance, settings.privacy_query_cost
        ),
    )


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings
