"""Each rating scale as a FHIR R4 Questionnaire, the resource a QuestionnaireResponse's
``questionnaire`` canonical URL resolves to (``GET /api/v1/fhir/Questionnaire/<id>``).

It holds no personal data: the scale's name and version, and per item its number, the
registry's short label and its score range. Item texts are those short labels on purpose:
several scales' question wording is copyrighted, so it is never reproduced here.
"""

from __future__ import annotations

from typing import Any

from registry.assessments.instruments import INSTRUMENT_CODES, Instrument, instrument

# Standard R4 extensions for an integer item's bounds (FHIR core extensions registry).
MIN_VALUE = "http://hl7.org/fhir/StructureDefinition/minValue"
MAX_VALUE = "http://hl7.org/fhir/StructureDefinition/maxValue"
LABELS_ONLY = (
    "Item texts are the registry's short labels, not the instrument's wording, which some "
    "publishers license: use the published instrument to administer it."
)


def questionnaire_id(code: str) -> str:
    """The FHIR id of a scale's Questionnaire: its code, with ``-`` for ``_`` (FHIR ids
    allow letters, digits, ``-`` and ``.`` only)."""
    return code.replace("_", "-")


_BY_ID = {questionnaire_id(code): code for code in INSTRUMENT_CODES}
if len(_BY_ID) != len(INSTRUMENT_CODES):  # two codes differing only in "_" and "-"
    raise ValueError("instruments.toml: two scale codes give the same Questionnaire id")


def scale_for(questionnaire: str) -> Instrument | None:
    """The scale whose Questionnaire has this id, or None."""
    code = _BY_ID.get(questionnaire)
    return instrument(code) if code else None


def questionnaire(scale: Instrument, url: str) -> dict[str, Any]:
    """The scale's R4 Questionnaire, with ``url`` as its canonical URL. A scale whose
    licence lets only its total be stored (PSP) has no items: FHIR JSON allows no empty
    array, so the resource then has no ``item`` at all."""
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": questionnaire_id(scale.code),
        "url": url,
        "version": scale.version,
        "name": scale.code,  # a computable name: letters, digits and "_"
        "title": f"{scale.name} ({scale.short_name})",
        "status": "active",
        "subjectType": ["Patient"],
        "description": f"Source: {' '.join(scale.source.split())}",
        "copyright": LABELS_ONLY,
    }
    items = [
        {
            "linkId": str(number),
            "text": item.label,
            "type": "integer",
            "required": True,
            "extension": [
                {"url": MIN_VALUE, "valueInteger": item.min},
                {"url": MAX_VALUE, "valueInteger": item.max},
            ],
        }
        for number, item in enumerate(scale.items, start=1)
    ]
    if items:
        resource["item"] = items
    return resource
