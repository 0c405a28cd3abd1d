"""FHIR definitions other systems resolve: each rating scale's R4 Questionnaire, at the
canonical URL that the QuestionnaireResponses of an extract's Bundles cite.

Public on purpose: a Questionnaire holds no personal data (the scale's name, version and
source, and per item a short label and a score range), and a canonical URL that needs the
registry's sign-in would not resolve for the systems reading an extract.
"""

from __future__ import annotations

import json

from flask import Response, url_for

from registry.api.blueprint import RegistryBlueprint
from registry.errors import NotFound
from registry.exports.fhir import FHIR_JSON
from registry.exports.questionnaires import questionnaire, scale_for

blp = RegistryBlueprint(
    "fhir", __name__, url_prefix="/fhir", description="FHIR definitions (no personal data)"
)

QUESTIONNAIRE = {
    "type": "object",
    "required": ["resourceType", "url", "version", "status", "item"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Questionnaire"]},
        "url": {"type": "string"},
        "version": {"type": "string"},
        "status": {"type": "string", "enum": ["active"]},
        "item": {"type": "array", "items": {"type": "object"}},
    },
}


def questionnaire_url(questionnaire_id: str) -> str:
    """The canonical URL of a scale's Questionnaire (absolute, on this server)."""
    return url_for("fhir.questionnaire_resource", questionnaire_id=questionnaire_id, _external=True)


@blp.route("/Questionnaire/<questionnaire_id>", methods=["GET"])
@blp.response(200, content_type=FHIR_JSON)
@blp.doc(
    security=[],
    responses={
        "200": {
            "description": "An R4 Questionnaire",
            "content": {FHIR_JSON: {"schema": QUESTIONNAIRE}},
        }
    },
)
def questionnaire_resource(questionnaire_id: str) -> Response:
    """A rating scale as a FHIR R4 Questionnaire (id: the scale's code, ``-`` for ``_``):
    items with the registry's short labels and score ranges, never the copyrighted
    wording. Needs no authentication: it holds no personal data."""
    scale = scale_for(questionnaire_id)
    if scale is None:
        raise NotFound("There is no such questionnaire.")
    body = questionnaire(scale, questionnaire_url(questionnaire_id))
    return Response(json.dumps(body), mimetype=FHIR_JSON)
