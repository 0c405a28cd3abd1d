"""Data-access grants and researchers' extracts. Thin: the rules are in actions and queries.

Admins record grants and the researchers on them. Researchers list their own grants and,
while a grant is in force, download an extract (a ZIP of CSV or Parquet files with a data
dictionary and a manifest) or read it as FHIR R4 Bundles. A researcher not on a grant gets
404 for it; an expired or revoked grant answers 403.
"""

from __future__ import annotations

import json
from typing import Any

from flask import Response, send_file, url_for

from registry.api.blueprint import RegistryBlueprint
from registry.api.fhir import questionnaire_url
from registry.auth.permissions import Permission
from registry.auth.session import acting_as, required_user, requires
from registry.exports.actions import (
    add_researcher,
    create_grant,
    export_download,
    export_fhir,
    remove_researcher,
    revoke_grant,
)
from registry.exports.catalogue import catalogue_view
from registry.exports.commands import AddResearcher, CreateGrant, ExtractOptions, FhirPage
from registry.exports.fhir import FHIR_JSON
from registry.exports.queries import grant_view, usable_grant, visible_grant, visible_grants
from registry.exports.schemas import (
    ExportArgs,
    FhirArgs,
    GrantArgs,
    GrantListSchema,
    GrantSchema,
    ResearcherArgs,
    VariableCatalogueSchema,
)

blp = RegistryBlueprint(
    "grants", __name__, url_prefix="/grants", description="Exports for researchers"
)

# What the two non-JSON answers are, for the OpenAPI document.
EXTRACT_DESCRIPTION = (
    "A ZIP: one file per table, data_dictionary.csv and manifest.json (rows and SHA-256 per "
    "file). Rows are keyed by the study pseudonym."
)
BUNDLE_DESCRIPTION = (
    "A FHIR R4 Bundle (collection) of one page of participants, with self, previous and next links."
)
BINARY = {"type": "string", "format": "binary"}
FHIR_BUNDLE = {
    "type": "object",
    "required": ["resourceType", "type", "entry"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string", "enum": ["collection"]},
        "link": {"type": "array", "items": {"type": "object"}},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
}


def _file_response(description: str, media_type: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": schema}}}


@blp.route("", methods=["POST"])
@requires(Permission.MANAGE_GRANTS)
@blp.arguments(GrantArgs)
@blp.response(201, GrantSchema)
def create(args: CreateGrant) -> dict[str, Any]:
    """Admins: record an approved study's data-access grant: cohorts, variables (catalogue
    keys), consent items required, date policy, expiry, and the researchers on it."""
    return grant_view(create_grant(args, by=acting_as()))


@blp.route("", methods=["GET"])
@requires(Permission.VIEW_GRANTS)
@blp.response(200, GrantListSchema)
def list_grants() -> dict[str, Any]:
    """Admins: every grant; researchers: the grants that name them."""
    return {"items": [grant_view(grant) for grant in visible_grants(required_user())]}


@blp.route("/variables", methods=["GET"])
@requires(Permission.VIEW_GRANTS)
@blp.response(200, VariableCatalogueSchema)
def variables() -> dict[str, Any]:
    """The exportable variables, table by table, and the columns each writes."""
    return catalogue_view()


@blp.route("/<grant_id>", methods=["GET"])
@requires(Permission.VIEW_GRANTS)
@blp.response(200, GrantSchema)
def show(grant_id: str) -> dict[str, Any]:
    """One grant: its terms, its researchers and its recent extracts."""
    return grant_view(visible_grant(required_user(), grant_id))


@blp.route("/<grant_id>/researchers", methods=["POST"])
@requires(Permission.MANAGE_GRANTS)
@blp.arguments(ResearcherArgs)
@blp.response(200, GrantSchema)
def add(args: AddResearcher, grant_id: str) -> dict[str, Any]:
    """Admins: name a researcher (by account email) on the grant."""
    grant = visible_grant(required_user(), grant_id)
    add_researcher(grant, email=args.email, by=acting_as())
    return grant_view(grant)


@blp.route("/<grant_id>/researchers/<user_id>", methods=["DELETE"])
@requires(Permission.MANAGE_GRANTS)
@blp.response(200, GrantSchema)
def remove(grant_id: str, user_id: str) -> dict[str, Any]:
    """Admins: take a researcher off the grant (the grant becomes 404 to them)."""
    grant = visible_grant(required_user(), grant_id)
    remove_researcher(grant, user_id=user_id, by=acting_as())
    return grant_view(grant)


@blp.route("/<grant_id>/revocation", methods=["POST"])
@requires(Permission.MANAGE_GRANTS)
@blp.response(200, GrantSchema)
def revoke(grant_id: str) -> dict[str, Any]:
    """Admins: revoke the grant at once; every extract under it is refused from now on."""
    return grant_view(revoke_grant(visible_grant(required_user(), grant_id), by=acting_as()))


@blp.route("/<grant_id>/exports", methods=["POST"])
@requires(Permission.EXPORT_DATA)
@blp.arguments(ExportArgs)
@blp.response(200, content_type="application/zip")
@blp.doc(responses={"200": _file_response(EXTRACT_DESCRIPTION, "application/zip", BINARY)})
def export(args: ExtractOptions, grant_id: str) -> Response:
    """Researchers on the grant: make an extract and download it. Built in a temporary
    directory, batch by batch, then streamed from a temporary file; audited."""
    archive, name = export_download(
        usable_grant(required_user(), grant_id),
        file_format=args.format,
        channel="api",
        by=acting_as(),
    )
    return send_file(archive, mimetype="application/zip", as_attachment=True, download_name=name)


@blp.route("/<grant_id>/fhir", methods=["GET"])
@requires(Permission.EXPORT_DATA)
@blp.arguments(FhirArgs, location="query")
@blp.response(200, content_type=FHIR_JSON)
@blp.doc(responses={"200": _file_response(BUNDLE_DESCRIPTION, FHIR_JSON, FHIR_BUNDLE)})
def fhir(args: FhirPage, grant_id: str) -> Response:
    """Researchers on the grant: the extract as FHIR R4, ``per_page`` participants (at
    most 500) per Bundle: ResearchStudy, and per participant Patient (pseudonymised),
    ResearchSubject, Consent, and Observations / QuestionnaireResponses, with the
    Questionnaire of each scale answered (also at its canonical URL). Audited."""
    grant = usable_grant(required_user(), grant_id)
    per_page = args.per_page

    def link(page: int) -> str:
        return url_for(
            "grants.fhir", grant_id=grant.grant_id, page=page, per_page=per_page, _external=True
        )

    built = export_fhir(
        grant,
        page=args.page,
        per_page=per_page,
        link=link,
        questionnaire_url=questionnaire_url,
        by=acting_as(),
    )
    return Response(json.dumps(built.bundle), mimetype=FHIR_JSON)
