"""Participant input (demographics, clinical details, corrections, list and search) and
the clinician's view of a participant.

The enrolment as a whole (these parts, the identifiers and the consent) is checked by
``registry.enrolment.schemas.EnrolmentArgs``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from registry.fields import Checked, Month, PastDate, WholeNumber
from registry.input_rules import CodedMessage, CommandSchema
from registry.participants.commands import (
    ClinicalDetails,
    CorrectParticipant,
    FindParticipant,
    ParticipantFilter,
)
from registry.participants.models import COHORTS
from registry.participants.reference import reference
from registry.participants.validation import (
    canonical_nhs_number,
    canonical_postcode,
    check_email,
    check_name,
    check_phone,
)

_ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
MAX_DUP_WEEKS = 52 * 20


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years from ``birth`` to ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def outside_cohort_ages(cohort: str, birth: dt.date, day: dt.date) -> str | None:
    """Why someone born on ``birth`` cannot be in ``cohort`` on ``day`` (their enrolment),
    if they cannot: the one age rule for enrolment and for a corrected date of birth."""
    settings = current_app.config["SETTINGS"]
    low, high = (
        (settings.ep_min_age, settings.ep_max_age)
        if cohort == "EP"
        else (settings.trd_min_age, None)
    )
    age = age_on(birth, day)
    if age < low or (high is not None and age > high):
        span = f"{low} to {high}" if high is not None else f"{low} or over"
        return f"The {cohort} cohort is for people aged {span}."
    return None


def person_name(field: str) -> Checked:
    """A required name, checked as ``validation.check_name`` checks ``field``."""
    return Checked(lambda text: check_name(field, text), required=True)


def _codes(kind: str) -> validate.OneOf:
    choices: Mapping[str, Any] = getattr(reference(), kind)
    return validate.OneOf(list(choices), error="Choose one of: {choices}.")


class ClinicalArgs(CommandSchema[ClinicalDetails]):
    command = ClinicalDetails

    diagnosis_icd10 = fields.String(
        required=True,
        validate=validate.Regexp(_ICD10, error="Give an ICD-10 code, for example F33.2."),
    )
    psychosis_onset = Month(metadata={"description": "EP: YYYY-MM"})
    first_antipsychotic_on = PastDate(metadata={"description": "EP"})
    eip_accepted_on = PastDate(metadata={"description": "EP"})
    dup_weeks = WholeNumber(0, MAX_DUP_WEEKS, "a number of weeks", metadata={"description": "EP"})
    episode_start = Month(metadata={"description": "TRD: YYYY-MM"})


class Demographics:
    """The demographic fields of an enrolment, which declares them through this mixin
    (marshmallow collects fields and validators from every base). Left out or null, the
    decile and its index are unknown."""

    sex = fields.String(required=True, validate=_codes("sex"))
    gender_identity = fields.String(required=True, validate=_codes("gender_identity"))
    ethnicity = fields.String(required=True, validate=_codes("ethnicity"))
    imd_decile = WholeNumber(1, 10, "a decile", load_default=None, allow_none=True)
    imd_version = fields.String(load_default=None, allow_none=True, validate=_codes("imd_versions"))

    @validates_schema
    def _imd_has_version(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("imd_decile") is not None and not data.get("imd_version"):
            raise ValidationError(
                "Say which index the decile comes from (IoD2019 or IoD2025).", "imd_version"
            )


MAX_REASON_LENGTH = 500


class ParticipantUpdateArgs(CommandSchema[CorrectParticipant]):
    """Corrections: contact details and demographics; the NHS number and date of birth
    with a reason (the value replaced is kept sealed, ``participant_correction``)."""

    command = CorrectParticipant

    nhs_number = Checked(canonical_nhs_number, metadata={"example": "9990123454"})
    date_of_birth = PastDate()
    reason = fields.String(
        validate=validate.Length(min=1, max=MAX_REASON_LENGTH),
        metadata={
            "description": "required with nhs_number or date_of_birth: why it was wrong; "
            "kept sealed under the participant's key, never in the audit log"
        },
    )

    given_name = Checked(lambda text: check_name("given_name", text))
    family_name = Checked(lambda text: check_name("family_name", text))
    postcode = Checked(lambda text: canonical_postcode(text)[0])
    email = Checked(check_email, allow_none=True)
    phone = Checked(check_phone, allow_none=True)
    sex = fields.String(validate=_codes("sex"))
    gender_identity = fields.String(validate=_codes("gender_identity"))
    ethnicity = fields.String(validate=_codes("ethnicity"))
    imd_decile = WholeNumber(1, 10, "a decile", allow_none=True)
    imd_version = fields.String(allow_none=True, validate=_codes("imd_versions"))

    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _something(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        given = set(original) if isinstance(original, Mapping) else set()
        if not given:
            raise ValidationError("Give at least one field to correct.")
        identifiers = {"nhs_number", "date_of_birth"} & given
        reason = data.get("reason")
        if identifiers and "reason" not in given:
            raise ValidationError(
                CodedMessage("Say why the NHS number or date of birth was wrong.", "required"),
                "reason",
            )
        if reason is not None and not identifiers:
            raise ValidationError(
                "A reason goes with a corrected NHS number or date of birth.", "reason"
            )


class ParticipantListArgs(CommandSchema[ParticipantFilter]):
    """The list's filters; which page, the pager's own arguments say (``PageArgs``)."""

    command = ParticipantFilter

    cohort = fields.String(validate=validate.OneOf(COHORTS))
    site = fields.String(
        validate=validate.Length(max=16),
        metadata={"description": "clinicians only (their own site); no grant shows the site"},
    )
    grant = fields.String(
        validate=validate.Length(min=1, max=24),
        metadata={
            "description": "researchers, required: the id of a data-access grant naming "
            "them; its participants come keyed by the study pseudonym. Clinicians: not used"
        },
    )


class ParticipantSearchArgs(CommandSchema[FindParticipant]):
    command = FindParticipant

    nhs_number = fields.String(required=True, validate=validate.Length(min=1, max=20))


# -- output ---------------------------------------------------------------------------------


class LatestScoreSchema(Schema):
    """A latest score as a researcher sees it: the month it was taken, not the day."""

    total = fields.Integer(required=True)
    band = fields.String(required=True)
    administered_month = fields.Function(
        lambda score: f"{score['administered_on']:%Y-%m}",
        required=True,
        metadata={"type": "string", "example": "2026-11"},
    )


class IdentifiableLatestScoreSchema(LatestScoreSchema):
    administered_on = fields.Date(required=True)


class PseudonymisedParticipantSchema(Schema):
    """The part of a clinician's view that identifies no one: an age band instead of the
    birth date, months only. Researchers see no such row: they see a grant's rows, keyed by
    its study pseudonym (``registry.exports.schemas.GrantParticipantSchema``)."""

    participant_id = fields.String(required=True)
    cohort = fields.String(required=True)
    site = fields.String(required=True)
    status = fields.String(required=True)
    withdrawal_level = fields.String(
        allow_none=True, metadata={"description": "null while taking part fully"}
    )
    enrolled_month = Month(required=True)
    age_band = fields.String(required=True, metadata={"example": "25-34"})
    sex = fields.String(allow_none=True)
    gender_identity = fields.String(allow_none=True)
    ethnicity = fields.String(allow_none=True)
    ethnicity_group = fields.String(allow_none=True)
    postcode_district = fields.String(allow_none=True)
    imd_decile = fields.Integer(allow_none=True)
    imd_version = fields.String(allow_none=True)
    diagnosis_icd10 = fields.String(allow_none=True)
    psychosis_onset = Month(allow_none=True)
    dup_weeks = fields.Integer(allow_none=True)
    episode_start = Month(allow_none=True)
    failed_adequate_trials = fields.Integer(required=True)
    failed_trials_definition = fields.String(allow_none=True)
    latest_scores = fields.Dict(keys=fields.String(), values=fields.Nested(LatestScoreSchema))
    consent = fields.Dict(keys=fields.String(), values=fields.Boolean())
    consent_form_version = fields.String(allow_none=True)


IDENTIFIABLE = {"description": "only for a clinician of the participant's own site"}


class ParticipantSchema(PseudonymisedParticipantSchema):
    """What a clinician of the participant's own site sees."""

    latest_scores = fields.Dict(
        keys=fields.String(), values=fields.Nested(IdentifiableLatestScoreSchema)
    )
    nhs_number = fields.String(metadata={"example": "999 012 3454", **IDENTIFIABLE})
    given_name = fields.String(metadata=IDENTIFIABLE)
    family_name = fields.String(metadata=IDENTIFIABLE)
    date_of_birth = fields.Date(metadata=IDENTIFIABLE)
    postcode = fields.String(metadata=IDENTIFIABLE)
    email = fields.String(allow_none=True, metadata=IDENTIFIABLE)
    phone = fields.String(allow_none=True, metadata=IDENTIFIABLE)
    enrolled_on = fields.Date(metadata=IDENTIFIABLE)
    first_antipsychotic_on = fields.Date(allow_none=True, metadata=IDENTIFIABLE)
    eip_accepted_on = fields.Date(allow_none=True, metadata=IDENTIFIABLE)
