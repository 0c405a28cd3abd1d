"""Data-access grants, as the admins who record them see them: list, create (every field's
error at once), and one grant's page: its terms in words, renew, revoke after a check page,
name or remove researchers, and every extract made under it, a page at a time.

Thin: the form becomes the body ``POST /api/v1/grants`` takes, loaded by the same
``GrantArgs`` and recorded by the same ``create_grant``, so the page and the API refuse the
same things. A grant's id in the address is random and names no one.
"""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response
from wtforms import Field, SelectMultipleField

from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.consents.items import CONSENT_ITEM_TEXT, CONSENT_ITEMS, REQUIRED_ITEMS
from registry.dates_in_words import long_date
from registry.errors import ValidationFailed
from registry.exports.actions import (
    add_researcher,
    create_grant,
    remove_researcher,
    renew_grant,
    revoke_grant,
)
from registry.exports.catalogue import TABLES, catalogue_view
from registry.exports.models import DATE_MONTH, DataAccessGrant
from registry.exports.queries import (
    active_researchers,
    export_counts,
    exports_page,
    grant_by_id,
    grant_view,
    researchers_on,
    visible_grants,
)
from registry.exports.schemas import GrantArgs, RenewalArgs
from registry.fields import PageArgs
from registry.fields import load_or_fail as load
from registry.participants.models import COHORTS
from registry.participants.reference import reference
from registry.web.dates import DateInputField
from registry.web.forms import RegistryForm, form_page, radios, text_field, whole_number
from registry.web.labels import (
    CHANNEL_LABELS,
    DATE_POLICY_CHOICES,
    FILE_FORMAT_LABELS,
    GRANT_STATUS_TAGS,
    date_policy_text,
)

bp = Blueprint("admin_grants", __name__, url_prefix="/admin/grants")

EXPORTS_PER_PAGE = 25


def _checkboxes(label: str) -> SelectMultipleField:
    # The schema judges the values (an unknown one is its error, in its words).
    return SelectMultipleField(label, validate_choice=False)


class GrantForm(RegistryForm):
    WHEN_MISSING = {
        "title": "Enter the study's title.",
        "ethics_reference": "Enter the study's IRAS ID or REC reference.",
        "expires_on": "Enter the last day of access.",
        "date_policy": "Choose how dates are shown.",
    }

    title = text_field("Study title")
    ethics_reference = text_field("Ethics reference")
    cohorts = _checkboxes("Cohorts")
    variables = _checkboxes("Variables")
    consent_items = _checkboxes("Consent each participant must have given")
    date_policy = radios("How dates are shown", DATE_POLICY_CHOICES)
    max_shift_days = text_field("Shift dates by at most (days)")
    expires_on = DateInputField("Last day of access")
    researchers = _checkboxes("Researchers")

    def field_for(self, error_name: str) -> Field | None:
        # A list's item errors are named by position ("variables.3"): the list's field.
        return super().field_for(error_name.split(".")[0])

    def body(self) -> dict[str, Any]:
        """The body ``POST /api/v1/grants`` takes, for ``GrantArgs`` to judge."""
        body: dict[str, Any] = {
            "title": self.title.data,
            "ethics_reference": self.ethics_reference.data,
            "cohorts": self.cohorts.data or [],
            "variables": self.variables.data or [],
            "consent_items": self.consent_items.data or [],
            "date_policy": self.date_policy.data,
            "max_shift_days": whole_number(self.max_shift_days.data),
            "expires_on": self.expires_on.data,
            "researchers": self.researchers.data or [],
        }
        return {name: value for name, value in body.items() if value not in (None, "")}


class RenewForm(RegistryForm):
    WHEN_MISSING = {"expires_on": "Enter the new last day of access."}

    expires_on = DateInputField("New last day of access")


class ResearcherForm(RegistryForm):
    WHEN_MISSING = {"email": "Choose a researcher."}

    email = text_field("Researcher")


class ConfirmForm(RegistryForm):
    """A button's form: the CSRF token is all it carries."""


# -- the list and a new grant ---------------------------------------------------------------


@bp.route("/")
@requires(Permission.MANAGE_GRANTS)
def index() -> str:
    counts = export_counts()
    grants = [
        (grant_view(grant), counts.get(grant.id, 0)) for grant in visible_grants(required_user())
    ]
    return render_template("admin/grants/index.html", grants=grants)


@bp.route("/new", methods=["GET", "POST"])
@requires(Permission.MANAGE_GRANTS)
def new() -> tuple[str, int] | Response:
    form = GrantForm()
    if not form.is_submitted():
        form.date_policy.data = DATE_MONTH
    elif form.validate_on_submit():
        try:
            grant = create_grant(load(GrantArgs(), form.body()), by=acting_as())
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            flash(f"Recorded the data-access grant for {grant.title}.", "info")
            return redirect(url_for(".show", grant_id=grant.grant_id))
    return form_page(
        "admin/grants/new.html",
        form,
        catalogue=catalogue_view()["tables"],
        cohorts={cohort: reference().cohorts[cohort].name for cohort in COHORTS},
        consent_items={
            item: CONSENT_ITEM_TEXT[item] for item in CONSENT_ITEMS if item not in REQUIRED_ITEMS
        },
        always_required=[CONSENT_ITEM_TEXT[item] for item in REQUIRED_ITEMS],
        researchers=active_researchers(),
    )


# -- one grant ------------------------------------------------------------------------------


@bp.route("/<grant_id>")
@requires(Permission.MANAGE_GRANTS)
def show(grant_id: str) -> tuple[str, int]:
    return _grant_page(grant_by_id(grant_id), ResearcherForm())


def _grant_page(grant: DataAccessGrant, form: ResearcherForm) -> tuple[str, int]:
    page = load(PageArgs(), {"page": request.args.get("page", 1)})["page"]
    view = grant_view(grant)
    approved = set(view["variables"])
    on_grant = {user.id for user in researchers_on(grant)}
    total = export_counts().get(grant.id, 0)
    exports = [
        {
            "id": export.export_id,
            "who": user.name if user else "The command line",
            "created_at": export.created_at,
            "participants": export.participants,
            "rows": sum(int(file.get("rows", 0)) for file in export.files),
            "format": FILE_FORMAT_LABELS.get(export.file_format, export.file_format),
            "channel": CHANNEL_LABELS.get(export.channel, export.channel),
        }
        for export, user in exports_page(
            grant, first=(page - 1) * EXPORTS_PER_PAGE, size=EXPORTS_PER_PAGE
        )
    ]
    return form_page(
        "admin/grants/show.html",
        form,
        grant=view,
        tables=[
            {"description": table.description, "variables": variables}
            for table in TABLES
            if (variables := [v for v in table.variables if v.key in approved])
        ],
        cohorts=[reference().cohorts[cohort].name for cohort in view["cohorts"]],
        consent_texts=[CONSENT_ITEM_TEXT[item] for item in view["consent_items"]],
        date_policy=date_policy_text(view["date_policy"], view["max_shift_days"]),
        addable=[user for user in active_researchers() if user.id not in on_grant],
        exports=exports,
        total_exports=total,
        page=page,
        pages=max(1, math.ceil(total / EXPORTS_PER_PAGE)),
        button=ConfirmForm(),
    )


@bp.route("/<grant_id>/researchers", methods=["POST"])
@requires(Permission.MANAGE_GRANTS)
def add(grant_id: str) -> tuple[str, int] | Response:
    grant = grant_by_id(grant_id)
    form = ResearcherForm()
    if form.validate_on_submit():
        if not form.email.data:
            form.email.errors = [*form.email.errors, ResearcherForm.WHEN_MISSING["email"]]
        else:
            try:
                add_researcher(grant, email=form.email.data, by=acting_as())
            except ValidationFailed as exc:
                form.show_errors(exc.fields)
            else:
                flash(f"{form.email.data} is on the grant.", "info")
                return redirect(url_for(".show", grant_id=grant.grant_id))
    return _grant_page(grant, form)


@bp.route("/<grant_id>/researchers/<user_id>/removal", methods=["POST"])
@requires(Permission.MANAGE_GRANTS)
def remove(grant_id: str, user_id: str) -> Response:
    grant = grant_by_id(grant_id)
    if ConfirmForm().validate_on_submit():
        remove_researcher(grant, user_id=user_id, by=acting_as())
        flash("The researcher is no longer on the grant: it is closed to them.", "info")
    return redirect(url_for(".show", grant_id=grant.grant_id))


@bp.route("/<grant_id>/renew", methods=["GET", "POST"])
@requires(Permission.MANAGE_GRANTS)
def renew(grant_id: str) -> tuple[str, int] | Response:
    grant = grant_by_id(grant_id)
    form = RenewForm()
    if form.validate_on_submit():
        try:
            args = load(
                RenewalArgs(), {"expires_on": form.expires_on.data} if form.expires_on.data else {}
            )
            renew_grant(grant, args, by=acting_as())
        except ValidationFailed as exc:
            form.show_errors(exc.fields)
        else:
            flash(
                f"Renewed: the grant now runs until {long_date(grant.expires_on)}.",
                "info",
            )
            return redirect(url_for(".show", grant_id=grant.grant_id))
    return form_page("admin/grants/renew.html", form, grant=grant_view(grant))


@bp.route("/<grant_id>/revoke", methods=["GET", "POST"])
@requires(Permission.MANAGE_GRANTS)
def revoke(grant_id: str) -> tuple[str, int] | Response:
    """The check page says in numbers who loses access and what stays on record; its button
    revokes."""
    grant = grant_by_id(grant_id)
    form = ConfirmForm()
    if form.validate_on_submit() and grant.revoked_at is None:
        revoke_grant(grant, by=acting_as())
        flash(f"Revoked the data-access grant for {grant.title}.", "info")
        return redirect(url_for(".show", grant_id=grant.grant_id))
    return form_page(
        "admin/grants/revoke.html",
        form,
        grant=grant_view(grant),
        researchers=len(researchers_on(grant)),
        exports=export_counts().get(grant.id, 0),
    )


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {"status_tags": GRANT_STATUS_TAGS}
