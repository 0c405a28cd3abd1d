"""The researcher's pages: the grants that name them, and the extract of each, downloaded
as a ZIP. Admins see every grant here, read-only (they record grants at /admin/grants/).

Thin: the same queries and the same action as the JSON API. Nothing that identifies a
participant is ever on these pages: only the grant's terms and the extracts' counts.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, send_file
from werkzeug.wrappers import Response

from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.consents.items import CONSENT_ITEM_TEXT
from registry.errors import ValidationFailed
from registry.exports.actions import export_download
from registry.exports.catalogue import TABLES
from registry.exports.extract import parquet_available
from registry.exports.models import ACTIVE, DataAccessGrant
from registry.exports.queries import grant_view, usable_grant, visible_grant, visible_grants
from registry.exports.schemas import ExportArgs
from registry.fields import load_or_fail
from registry.web.exports.forms import ExtractForm
from registry.web.forms import form_page
from registry.web.labels import GRANT_STATUS_TAGS, date_policy_text

bp = Blueprint("exports_web", __name__, url_prefix="/grants")


@bp.route("/")
@requires(Permission.VIEW_GRANTS)
def index() -> str:
    user = required_user()
    grants = [grant_view(grant) for grant in visible_grants(user)]
    return render_template(
        "exports/index.html", grants=grants, manages_grants=user.can(Permission.MANAGE_GRANTS)
    )


@bp.route("/<grant_id>")
@requires(Permission.VIEW_GRANTS)
def show(grant_id: str) -> str:
    return _grant_page(visible_grant(required_user(), grant_id), ExtractForm())[0]


@bp.route("/<grant_id>/extract", methods=["POST"])
@requires(Permission.EXPORT_DATA)
def extract(grant_id: str) -> Response | tuple[str, int]:
    grant = usable_grant(required_user(), grant_id)
    form = ExtractForm()
    try:
        args = load_or_fail(ExportArgs(), {"format": form.file_format.data})
        archive, name = export_download(
            grant, file_format=args.format, channel="web", by=acting_as()
        )
    except ValidationFailed as exc:
        form.file_format.errors = [text for texts in exc.fields.values() for text in texts]
        return _grant_page(grant, form)
    return send_file(archive, mimetype="application/zip", as_attachment=True, download_name=name)


def _grant_page(grant: DataAccessGrant, form: ExtractForm) -> tuple[str, int]:
    view = grant_view(grant)
    approved = set(view["variables"])
    tables = [
        {
            "name": table.name,
            "variables": [v for v in table.variables if v.key in approved],
        }
        for table in TABLES
    ]
    return form_page(
        "exports/show.html",
        form,
        grant=view,
        tables=[table for table in tables if table["variables"]],
        consent_texts=[CONSENT_ITEM_TEXT[item] for item in view["consent_items"]],
        may_extract=required_user().can(Permission.EXPORT_DATA) and view["status"] == ACTIVE,
        parquet=parquet_available(),
        date_policy=date_policy_text(view["date_policy"], view["max_shift_days"]),
    )


@bp.context_processor
def _page_helpers() -> dict[str, Any]:
    return {
        "status_tags": GRANT_STATUS_TAGS,
    }
