"""Admin pages for consent-form versions (thin: the rules live in actions)."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, url_for
from werkzeug.wrappers import Response

from registry.auth.permissions import Permission
from registry.auth.session import acting_as, requires
from registry.consents.actions import MAX_DOCUMENT_BYTES, add_consent_form
from registry.consents.forms import AddConsentFormForm
from registry.consents.queries import consent_forms, current_form_ids
from registry.db import session
from registry.errors import Conflict, ValidationFailed

bp = Blueprint("consents", __name__, url_prefix="/admin/consent-forms")


@bp.route("/", methods=["GET", "POST"])
@requires(Permission.MANAGE_CONSENT_FORMS)
def manage() -> str | Response:
    form = AddConsentFormForm()
    if form.validate_on_submit():
        upload = form.document.data
        try:
            added = add_consent_form(
                cohort=form.cohort.data or "",
                version=form.version.data or "",
                effective_on=form.effective_on.data,
                file_name=upload.filename or "",
                document=upload.read(MAX_DOCUMENT_BYTES + 1),
                by=acting_as(),
            )
        except ValidationFailed as exc:
            for name, messages in exc.fields.items():
                field = form.document if name == "file" else form[name]
                field.errors = [*field.errors, *messages]
        except Conflict as exc:
            form.version.errors = [*form.version.errors, exc.message]
        else:
            flash(f"Added {added.cohort} consent form {added.version}.", "info")
            return redirect(url_for("consents.manage"))
    return render_template(
        "consents/manage.html",
        form=form,
        forms=session().scalars(consent_forms()).all(),
        current_ids=current_form_ids(),
        today=dt.date.today(),
    )
