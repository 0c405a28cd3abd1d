"""A grant's extract as a FHIR R4 Bundle (type ``collection``), a page of participants at a
time, built as plain JSON (the app does not depend on a FHIR library; the tests validate
every resource with ``fhir.resources``).

Per page: the ResearchStudy (the grant), and for each participant, in pseudonym order:

- Patient: id = study pseudonym; no name, no identifier, no address or telecom; gender,
  a birth year-month and the UK Core ethnic category only, and only when the grant
  approves them;
- ResearchSubject: ``off-study`` for anyone who has withdrawn (W1 or W2; W3 are never
  exported), otherwise ``on-study``; the enrolment date, and the withdrawal date as the
  period's end, when approved. Not ``withdrawn``: in R4 that means withdrawn before
  registration, and everyone here was enrolled first;
- Consent: a permit provision per item granted and a deny per item refused (every item
  when ``consent.items`` is approved, otherwise the items the grant requires), and a deny
  provision for a withdrawal, from when it took effect;
- per assessment (when ``assessments.instrument`` and ``assessments.total`` are approved):
  an Observation with the total (and band), coded with the registry's code and, where
  LOINC has one for the scale's total, the LOINC code; and a QuestionnaireResponse with
  the item scores when ``assessments.items`` is approved, the Observation derived from it;
- per scale answered on the page, its Questionnaire (``questionnaires.py``), the entry's
  fullUrl being the canonical URL the QuestionnaireResponses cite, which resolves.

Dates follow the grant's policy (``YYYY-MM`` or shifted days), the birth date always
year-month. Treatment trials are in the CSV and Parquet extracts only. The same W2 cut-off
and consent filter apply as to the files: one set of reads (``queries.py``) serves both.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from registry.assessments.instruments import Instrument, instrument
from registry.consents.items import CONSENT_ITEM_TEXT, CONSENT_ITEMS
from registry.exports.models import DataAccessGrant
from registry.exports.pseudonymise import StudyView
from registry.exports.queries import OutputOrder, required_consent_items, subjects_in_order
from registry.exports.questionnaires import questionnaire, questionnaire_id
from registry.participants.models import NO_FURTHER_CONTACT, NO_FURTHER_DATA

FHIR_JSON = "application/fhir+json"
# The registry's own code systems (no public one covers them).
INSTRUMENT_SYSTEM = "urn:mhmtc-registry:instrument"
CONSENT_ITEM_SYSTEM = "urn:mhmtc-registry:consent-item"
WITHDRAWAL_SYSTEM = "urn:mhmtc-registry:withdrawal-level"
LOINC = "http://loinc.org"
# UK Core's ethnic category, as HL7 UK publishes it (NHSDigital/FHIR-R4-UKCORE-STAGING-MAIN:
# codesystems/CodeSystem-UKCore-EthnicCategoryEngland.xml, version 1.0.0, with these
# displays; "Z" not stated and "99" not known are codes of the same system), carried on
# Patient by the Extension-UKCore-EthnicCategory extension (valueCodeableConcept).
ETHNIC_CATEGORY_EXTENSION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-EthnicCategory"
)
ETHNIC_CATEGORY_SYSTEM = "https://fhir.hl7.org.uk/CodeSystem/UKCore-EthnicCategoryEngland"
ETHNIC_CATEGORY_DISPLAY = {
    "A": "White - British",
    "B": "White - Irish",
    "C": "White - Any other White background",
    "D": "Mixed - White and Black Caribbean",
    "E": "Mixed - White and Black African",
    "F": "Mixed - White and Asian",
    "G": "Mixed - Any other mixed background",
    "H": "Asian or Asian British - Indian",
    "J": "Asian or Asian British - Pakistani",
    "K": "Asian or Asian British - Bangladeshi",
    "L": "Asian or Asian British - Any other Asian background",
    "M": "Black or Black British - Caribbean",
    "N": "Black or Black British - African",
    "P": "Black or Black British - Any other Black background",
    "R": "Other Ethnic Groups - Chinese",
    "S": "Other Ethnic Groups - Any other ethnic group",
    "Z": "Not stated",
    "99": "Not known",
}
PSEUDONYMISED = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "PSEUDED",
    "display": "pseudonymized",
}
GENDER = {"female": "female", "male": "male", "not_stated": "unknown"}
WITHDRAWAL_TEXT = {
    NO_FURTHER_CONTACT: "No further contact (W1): data kept and used",
    NO_FURTHER_DATA: "No further data (W2): nothing collected after this date is used",
}


@dataclass(frozen=True)
class FhirPage:
    bundle: dict[str, Any]
    participants: int
    resources: dict[str, int]
    has_next: bool


def _date(value: str | dt.date | None) -> str | None:
    return value.isoformat() if isinstance(value, dt.date) else value


class _Builder:
    def __init__(
        self,
        grant: DataAccessGrant,
        view: StudyView,
        questionnaire_url: Callable[[str], str],
    ) -> None:
        self.grant = grant
        self.view = view
        self.questionnaire_url = questionnaire_url
        self.approved = frozenset(grant.variables)
        self.entries: list[dict[str, Any]] = []
        self.counts: Counter[str] = Counter()
        self.answered: dict[str, Instrument] = {}  # scales with a QuestionnaireResponse

    def urn(self, resource_type: str, resource_id: str) -> str:
        name = f"{self.grant.grant_id}/{resource_type}/{resource_id}"
        return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, name)}"

    def ref(self, resource_type: str, resource_id: str) -> dict[str, str]:
        return {"reference": self.urn(resource_type, resource_id)}

    def add(self, resource: dict[str, Any]) -> None:
        resource_type, resource_id = resource["resourceType"], resource["id"]
        self.entries.append({"fullUrl": self.urn(resource_type, resource_id), "resource": resource})
        self.counts[resource_type] += 1

    def study(self) -> None:
        grant = self.grant
        self.add(
            {
                "resourceType": "ResearchStudy",
                "id": grant.grant_id,
                "identifier": [
                    {
                        "type": {"text": "Ethics reference (IRAS ID or REC reference)"},
                        "value": grant.ethics_reference,
                    }
                ],
                "title": grant.title,
                "status": "active",
                "period": {"end": grant.expires_on.isoformat()},
            }
        )

    def participant(
        self,
        pseudonym: str,
        row: Any,
        offset: dt.timedelta,
        signed_on: dt.date | None,
        assessments: list[Any],
    ) -> None:
        view, approved = self.view, self.approved
        patient: dict[str, Any] = {
            "resourceType": "Patient",
            "id": pseudonym,
            "meta": {"security": [PSEUDONYMISED]},
        }
        if "participants.sex" in approved and row.sex in GENDER:
            patient["gender"] = GENDER[row.sex]
        if "participants.birth_month" in approved and row.birth_year and row.birth_month:
            patient["birthDate"] = view.month(dt.date(row.birth_year, row.birth_month, 1), offset)
        if "participants.ethnicity" in approved and row.ethnicity in ETHNIC_CATEGORY_DISPLAY:
            patient["extension"] = [
                {
                    "url": ETHNIC_CATEGORY_EXTENSION,
                    "valueCodeableConcept": _concept(
                        ETHNIC_CATEGORY_SYSTEM,
                        row.ethnicity,
                        ETHNIC_CATEGORY_DISPLAY[row.ethnicity],
                    ),
                }
            ]
        self.add(patient)

        withdrawn_on = (
            _date(view.date(row.withdrawn_at, offset))
            if "participants.withdrawal" in approved
            else None
        )
        subject: dict[str, Any] = {
            "resourceType": "ResearchSubject",
            "id": pseudonym,
            "status": "off-study" if row.withdrawal_level else "on-study",
            "study": self.ref("ResearchStudy", self.grant.grant_id),
            "individual": self.ref("Patient", pseudonym),
            "consent": self.ref("Consent", pseudonym),
        }
        period = {
            "start": _date(view.date(row.enrolled_on, offset))
            if "participants.enrolled" in approved
            else None,
            "end": withdrawn_on,
        }
        if any(period.values()):
            subject["period"] = {key: value for key, value in period.items() if value}
        self.add(subject)
        self.add(self._consent(pseudonym, row, offset, signed_on, withdrawn_on))
        if {"assessments.instrument", "assessments.total"} <= approved:
            for number, assessment in enumerate(assessments, start=1):
                self._assessment(pseudonym, number, assessment, offset)

    def _consent(
        self,
        pseudonym: str,
        row: Any,
        offset: dt.timedelta,
        signed_on: dt.date | None,
        withdrawn_on: str | None,
    ) -> dict[str, Any]:
        shown = (
            CONSENT_ITEMS
            if "consent.items" in self.approved
            else tuple(required_consent_items(self.grant))
        )
        provisions: list[dict[str, Any]] = [
            {
                "type": "permit" if getattr(row, f"consent_{item}") else "deny",
                "code": [_concept(CONSENT_ITEM_SYSTEM, item, CONSENT_ITEM_TEXT[item])],
            }
            for item in shown
        ]
        if row.withdrawal_level:
            denial: dict[str, Any] = {
                "type": "deny",
                "code": [
                    _concept(
                        WITHDRAWAL_SYSTEM,
                        row.withdrawal_level,
                        WITHDRAWAL_TEXT.get(row.withdrawal_level, row.withdrawal_level),
                    )
                ],
            }
            if withdrawn_on:
                denial["period"] = {"start": withdrawn_on}
            provisions.append(denial)
        consent: dict[str, Any] = {
            "resourceType": "Consent",
            "id": pseudonym,
            "status": "active",
            "scope": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/consentscope",
                        "code": "research",
                        "display": "Research",
                    }
                ]
            },
            "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
            "patient": self.ref("Patient", pseudonym),
            "policyRule": {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "OPTIN",
                    }
                ]
            },
            "provision": {"type": "permit", "provision": provisions},
        }
        if signed_on is not None and "consent.signed_on" in self.approved:
            consent["dateTime"] = _date(self.view.date(signed_on, offset))
        return consent

    def _assessment(
        self, pseudonym: str, number: int, assessment: Any, offset: dt.timedelta
    ) -> None:
        scale = instrument(assessment.instrument)
        when = (
            _date(self.view.date(assessment.administered_on, offset))
            if "assessments.administered_on" in self.approved
            else None
        )
        observation: dict[str, Any] = {
            "resourceType": "Observation",
            "id": f"{pseudonym}-A{number}",
            "status": "final",
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "survey",
                            "display": "Survey",
                        }
                    ]
                }
            ],
            "code": _total_code(scale),
            "subject": self.ref("Patient", pseudonym),
            "valueInteger": assessment.total,
        }
        if when:
            observation["effectiveDateTime"] = when
        if "assessments.band" in self.approved:
            observation["interpretation"] = [{"text": assessment.band}]
        items = json.loads(assessment.items) if assessment.items else None
        if "assessments.items" in self.approved and items:
            response_id = f"{pseudonym}-Q{number}"
            response: dict[str, Any] = {
                "resourceType": "QuestionnaireResponse",
                "id": response_id,
                "questionnaire": (
                    f"{self.questionnaire_url(questionnaire_id(scale.code))}"
                    f"|{assessment.scale_version}"
                ),
                "status": "completed",
                "subject": self.ref("Patient", pseudonym),
                "item": [
                    {
                        "linkId": str(position),
                        "text": scale.items[position - 1].label,
                        "answer": [{"valueInteger": score}],
                    }
                    for position, score in enumerate(items, start=1)
                ],
            }
            if when:
                response["authored"] = when
            self.add(response)
            self.answered[scale.code] = scale
            observation["derivedFrom"] = [self.ref("QuestionnaireResponse", response_id)]
        self.add(observation)

    def questionnaires(self) -> None:
        """The Questionnaire of each scale answered on the page, under its canonical URL."""
        for scale in self.answered.values():
            url = self.questionnaire_url(questionnaire_id(scale.code))
            self.entries.append({"fullUrl": url, "resource": questionnaire(scale, url)})
            self.counts["Questionnaire"] += 1


def _concept(system: str, code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code, "display": display}]}


def _total_code(scale: Instrument) -> dict[str, Any]:
    """The registry's own code for the scale's total, and LOINC's beside it where LOINC
    has one (and it is not still flagged to confirm)."""
    text = f"{scale.short_name} total score"
    concept = _concept(INSTRUMENT_SYSTEM, scale.code, text)
    if scale.loinc and not scale.loinc_confirm:
        concept["coding"].append({"system": LOINC, "code": scale.loinc})
    return {**concept, "text": text}


def fhir_page(
    grant: DataAccessGrant,
    *,
    page: int,
    per_page: int,
    link: Callable[[int], str],
    questionnaire_url: Callable[[str], str],
    now: dt.datetime,
) -> FhirPage:
    """Page ``page`` of the grant's Bundle, ``per_page`` participants, with paging links;
    ``questionnaire_url`` gives the canonical URL of a Questionnaire from its id."""
    view = StudyView(grant)
    subjects = subjects_in_order(grant, view.pseudonym)
    chosen = subjects[(page - 1) * per_page : page * per_page]
    approved = frozenset(grant.variables)
    builder = _Builder(grant, view, questionnaire_url)
    builder.study()
    participants = 0
    with OutputOrder([subject.pk for subject in chosen]) as order:
        signings = "consent.signed_on" in approved
        rows = [row for chunk in order.participants(grant, with_records=signings) for row in chunk]
        assessments: dict[int, list[Any]] = {}
        if {"assessments.instrument", "assessments.total"} <= approved:
            with_items = "assessments.items" in approved
            for chunk in order.assessments(grant, with_items=with_items):
                for record in chunk:
                    assessments.setdefault(record.position, []).append(record)
    for row in rows:
        subject = chosen[row.position]
        participants += 1
        builder.participant(
            subject.pseudonym,
            row,
            view.shift(subject.participant_id),
            row.signed_on,
            assessments.get(row.position, []),
        )
    builder.questionnaires()
    has_next = page * per_page < len(subjects)
    links = [{"relation": "self", "url": link(page)}]
    if page > 1:
        links.append({"relation": "previous", "url": link(page - 1)})
    if has_next:
        links.append({"relation": "next", "url": link(page + 1)})
    bundle = {
        "resourceType": "Bundle",
        "meta": {"lastUpdated": now.isoformat(timespec="seconds"), "security": [PSEUDONYMISED]},
        "type": "collection",
        "timestamp": now.isoformat(timespec="seconds"),
        "link": links,
        "entry": builder.entries,
    }
    return FhirPage(bundle, participants, dict(builder.counts), has_next)
