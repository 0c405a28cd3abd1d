"""The enrolment as one input: identifiers, demographics, consent and clinical details.

One schema checks an enrolment wherever it comes from: the API body, the clinician's web
form and each row of a bulk import are all loaded through ``EnrolmentArgs``. What needs the
database (site, consent-form version, duplicates) is checked by ``enrolment.actions``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app
from marshmallow import ValidationError, fields, validate, validates_schema

from registry import clock
from registry.consents.schemas import ConsentArgs
from registry.enrolment.commands import Enrol
from registry.fields import Checked, PastDate, load_or_fail
from registry.input_rules import CodedMessage, CommandSchema, nested_part
from registry.participants.models import COHORTS
from registry.participants.reference import diagnosis_fits, reference
from registry.participants.schemas import (
    ClinicalArgs,
    Demographics,
    outside_cohort_ages,
    person_name,
)
from registry.participants.validation import (
    canonical_nhs_number,
    canonical_postcode,
    check_email,
    check_phone,
)


class EnrolmentArgs(Demographics, CommandSchema[Enrol]):
    command = Enrol

    cohort = fields.String(required=True, validate=validate.OneOf(COHORTS))
    site = fields.String(
        validate=validate.Length(max=16),
        metadata={"description": "site code; clinicians enrol at their own site (the default)"},
    )
    nhs_number = Checked(canonical_nhs_number, required=True, metadata={"example": "9990123454"})
    given_name = person_name("given_name")
    family_name = person_name("family_name")
    date_of_birth = PastDate(required=True)
    postcode = Checked(lambda text: canonical_postcode(text)[0], required=True)
    email = Checked(check_email, load_default=None, allow_none=True)
    phone = Checked(check_phone, load_default=None, allow_none=True)
    consent = fields.Nested(ConsentArgs, required=True)
    clinical = fields.Nested(ClinicalArgs, required=True)

    # Run even when some fields failed, so that every problem is reported at once.
    @validates_schema(skip_on_field_errors=False, pass_original=True)
    def _fits_cohort(self, data: dict[str, Any], original: Any, **kwargs: Any) -> None:
        cohort = data.get("cohort")
        if cohort not in COHORTS:
            return
        settings = current_app.config["SETTINGS"]
        problems: dict[str, list[str]] = {}
        today = clock.today()
        birth = data.get("date_of_birth")
        too_old_or_young = birth and outside_cohort_ages(cohort, birth, today)
        if too_old_or_young:
            problems["date_of_birth"] = [too_old_or_young]
        signed_on = nested_part(data.get("consent"), "signed_on")
        if birth is not None and signed_on is not None and signed_on < birth:
            problems["consent.signed_on"] = ["Consent cannot be signed before the date of birth."]
        clinical = data.get("clinical")
        code = nested_part(clinical, "diagnosis_icd10")
        if code and not diagnosis_fits(cohort, code, settings):
            problems["clinical.diagnosis_icd10"] = [
                f"This diagnosis is not one the {cohort} cohort takes."
            ]
        month_field = reference().cohorts[cohort].month_field
        other_month = "episode_start" if month_field == "psychosis_onset" else "psychosis_onset"
        month = nested_part(clinical, month_field)
        given = nested_part(
            original.get("clinical") if isinstance(original, Mapping) else None, month_field
        )
        # Missing only when not given: a month given but refused already says why.
        if "clinical" in data and month is None and given is None:
            problems[f"clinical.{month_field}"] = [
                CodedMessage("Give the month, as YYYY-MM.", "required")
            ]
        elif month is not None and birth is not None and month < birth.replace(day=1):
            problems[f"clinical.{month_field}"] = ["This month is before the date of birth."]
        if nested_part(clinical, other_month) is not None:
            problems[f"clinical.{other_month}"] = [f"This is not recorded for {cohort}."]
        if cohort == "TRD":
            for ep_only in ("first_antipsychotic_on", "eip_accepted_on", "dup_weeks"):
                if nested_part(clinical, ep_only) is not None:
                    problems[f"clinical.{ep_only}"] = ["This is recorded for EP only."]
        elif month is not None:
            for treated in ("first_antipsychotic_on", "eip_accepted_on"):
                day = nested_part(clinical, treated)
                if day is not None and day < month:
                    problems[f"clinical.{treated}"] = ["This is before the psychosis onset."]
        if problems:
            raise ValidationError(problems)


def load_enrolment(data: Mapping[str, Any]) -> Enrol:
    """An enrolment, checked; ValidationFailed naming every bad field (dotted for nesting)."""
    return load_or_fail(EnrolmentArgs(), data)
