"""Consent-form versions: which sheet is in force for each cohort."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint

from registry.auth.permissions import Permission
from registry.auth.session import requires
from registry.consents.queries import consent_forms, current_form_ids
from registry.consents.schemas import ConsentFormArgs, ConsentFormSchema
from registry.db import session

blp = Blueprint("consent_forms", __name__, description="Consent-form versions")


@blp.route("/consent-forms")
@requires(Permission.VIEW_CONSENT_FORMS)
@blp.arguments(ConsentFormArgs, location="query")
@blp.response(200, ConsentFormSchema(many=True))
def list_consent_forms(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Every version, newest first per cohort, with the one in force today marked."""
    forms = session().scalars(consent_forms(args.get("cohort"))).all()
    current_ids = current_form_ids()
    return [
        {
            "cohort": form.cohort,
            "version": form.version,
            "effective_on": form.effective_on,
            "file_name": form.file_name,
            "media_type": form.media_type,
            "sha256": form.sha256,
            "current": form.id in current_ids,
        }
        for form in forms
    ]
