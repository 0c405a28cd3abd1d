"""Enrolment and correction input; the clinician's and the researcher's views of a participant.

One schema checks an enrolment wherever it comes from: the API body, the clinician's web
form and each row of a bulk import are all loaded through ``EnrolmentArgs``. What needs the
database (site, consent-form version, duplicates) is checked by the action.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import Any

from flask import current_app
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from registry.consents.items import CONSENT_ITEMS, REQUIRED_ITEMS
from registry.consents.models import CAPACITY_CONFIRMED, CAPACITY_CONSULTEE, CONSULTEE_TYPES
from registry.errors import ValidationFailed, flatten_messages
from registry.input_rules import InputSchema
from registry.participants.models import COHORTS
from registry.participants.reference import diagnosis_fits, reference
from registry.participants.validation import (
    canonical_nhs_number,
    canonical_postcode,
    check_email,
    check_name,
    check_phone,
)

_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")
_ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
EARLIEST_DATE = dt.date(1900, 1, 1)
MAX_DUP_WEEKS = 52 * 20


def age_on(birth: dt.date, day: dt.date) -> int:
    """Whole years from ``birth`` to ``day``."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


def PastDate(**kwargs: Any) -> fields.Date:
    """A date in ISO form, not in the future, with messages a clinician can act on."""
    return fields.Date(
        validate=_not_in_future,
        error_messages={"invalid": "Give a date as YYYY-MM-DD, for example 2026-11-20."},
        **kwargs,
    )


def WholeNumber(low: int, high: int, what: str, **kwargs: Any) -> fields.Integer:
    """A JSON whole number in a range; the message says the range in words."""
    message = f"Give {what} from {low} to {high}."
    return fields.Integer(
        strict=True,
        validate=validate.Range(low, high, error=message),
        error_messages={"invalid": message},
        **kwargs,
    )


def _not_in_future(value: dt.date) -> None:
    if value > dt.date.today():
        raise ValidationError("This date is in the future.")
    if value < EARLIEST_DATE:
        raise ValidationError("This date is too long ago to be right.")


class Month(fields.Field[dt.date]):
    """A month as ``YYYY-MM``, held as its first day (month precision on purpose)."""

    default_error_messages = {"invalid": "Give a month as YYYY-MM, for example 2025-06."}

    def _serialize(self, value: dt.date | None, attr: str | None, obj: Any, **kw: Any) -> Any:
        return None if value is None else value.strftime("%Y-%m")

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> dt.date:
        match = _MONTH.match(value) if isinstance(value, str) else None
        # Year 0000 matches the pattern but is no date at all (datetime starts at year 1).
        if match is None or int(match.group(1)) < 1 or not 1 <= int(match.group(2)) <= 12:
            raise self.make_error("invalid")
        month = dt.date(int(match.group(1)), int(match.group(2)), 1)
        if month > dt.date.today():
            raise ValidationError("This month is in the future.")
        if month < EARLIEST_DATE:
            raise ValidationError("This month is too long ago to be right.")
        return month


class StrictBoolean(fields.Boolean):
    """JSON true or false only. marshmallow's ``truthy={True}`` still lets 1 and 0 (and 1.0)
    through, because ``1 in {True}``; an answer to a consent question must be a boolean."""

    default_error_messages = {"invalid": "Answer true or false."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> bool:
        if value is True or value is False:
            return value
        raise self.make_error("invalid")


class _Checked(fields.String):
    """A string normalised by one of the identifier checks in ``validation``.

    The checks raise ``ValidationFailed`` naming a field; here only their messages are kept,
    so the same rule serves the API, the web form and the import.
    """

    def __init__(self, check: Callable[[str], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kw: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kw)
        try:
            return self.check(text)
        except ValidationFailed as exc:
            raise ValidationError([m for ms in exc.fields.values() for m in ms]) from None


def _name(field: str) -> _Checked:
    return _Checked(lambda text: check_name(field, text), required=True)


def _codes(kind: str) -> validate.OneOf:
    choices: Mapping[str, Any] = getattr(reference(), kind)
    return validate.OneOf(list(choices), error="Choose one of: {choices}.")


class Consultee(InputSchema):
    type = fields.String(
        required=True,
        validate=validate.OneOf(CONSULTEE_TYPES, error="Choose a personal or nominated consultee."),
    )
    name = _name("name")


# Every item answered explicitly: each is agreed separately, none is assumed.
ConsentItems = InputSchema.from_dict(
    {item: StrictBoolean(required=True) for item in CONSENT_ITEMS},
    name="ConsentItems",
)


class ConsentArgs(InputSchema):
    form_version = fields.String(required=True, validate=validate.Length(min=1, max=32))
    signed_on = PastDate(required=True)
    items = fields.Nested(ConsentItems, required=True)
    capacity = fields.String(
        load_default=CAPACITY_CONFIRMED,
        validate=validate.OneOf((CAPACITY_CONFIRMED, CAPACITY_CONSULTEE)),
        metadata={"description": "the clinician confirms capacity, or a consultee declares"},
    )
    consultee = fields.Nested(Consultee, load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _check(self, data: dict[str, Any], **kwargs: Any) -> None:
        problems: dict[str, list[str]] = {}
        for item in REQUIRED_ITEMS:
            if data.get("items", {}).get(item) is False:
                problems[f"items.{item}"] = ["Joining the registry needs this consent."]
        if data.get("capacity") == CAPACITY_CONSULTEE and not data.get("consultee"):
            problems["consultee"] = ["Give the consultee's type and name."]
        if data.get("capacity") == CAPACITY_CONFIRMED and data.get("consultee"):
            problems["consultee"] = ["A consultee is only recorded when capacity is lacking."]
        if problems:
            raise ValidationError(problems)


class ClinicalArgs(InputSchema):
    diagnosis_icd10 = fields.String(
        required=True,
        validate=validate.Regexp(_ICD10, error="Give an ICD-10 code, for example F33.2."),
    )
    psychosis_onset = Month(metadata={"description": "EP: YYYY-MM"})
    first_antipsychotic_on = PastDate(metadata={"description": "EP"})
    eip_accepted_on = PastDate(metadata={"description": "EP"})
    dup_weeks = WholeNumber(0, MAX_DUP_WEEKS, "a number of weeks", metadata={"description": "EP"})
    episode_start = Month(metadata={"description": "TRD: YYYY-MM"})


class Demographics(InputSchema):
    sex = fields.String(required=True, validate=_codes("sex"))
    gender_identity = fields.String(required=True, validate=_codes("gender_identity"))
    ethnicity = fields.String(required=True, validate=_codes("ethnicity"))
    imd_decile = WholeNumber(1, 10, "a decile", allow_none=True)
    imd_version = fields.String(allow_none=True, validate=_codes("imd_versions"))

    @validates_schema
    def _imd_has_version(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("imd_decile") is not None and not data.get("imd_version"):
            raise ValidationError(
                "Say which index the decile comes from (IoD2019 or IoD2025).", "imd_version"
            )


class EnrolmentArgs(Demographics):
    cohort = fields.String(required=True, validate=validate.OneOf(COHORTS))
    site = fields.String(
        validate=validate.Length(max=16),
        metadata={"description": "site code; clinicians enrol at their own site (the default)"},
    )
    nhs_number = _Checked(canonical_nhs_number, required=True, metadata={"example": "9990123454"})
    given_name = _name("given_name")
    family_name = _name("family_name")
    date_of_birth = PastDate(required=True)
    postcode = _Checked(lambda text: canonical_postcode(text)[0], required=True)
    email = _Checked(check_email, load_default=None, allow_none=True)
    phone = _Checked(check_phone, load_default=None, allow_none=True)
    consent = fields.Nested(ConsentArgs, required=True)
    clinical = fields.Nested(ClinicalArgs, required=True)

    # Run even when some fields failed, so that every problem is reported at once.
    @validates_schema(skip_on_field_errors=False)
    def _fits_cohort(self, data: dict[str, Any], **kwargs: Any) -> None:
        cohort = data.get("cohort")
        if cohort not in COHORTS:
            return
        settings = current_app.config["SETTINGS"]
        problems: dict[str, list[str]] = {}
        today = dt.date.today()
        birth = data.get("date_of_birth")
        if birth is not None:
            age = age_on(birth, today)
            low, high = (
                (settings.ep_min_age, settings.ep_max_age)
                if cohort == "EP"
                else (settings.trd_min_age, None)
            )
            if age < low or (high is not None and age > high):
                span = f"{low} to {high}" if high is not None else f"{low} or over"
                problems["date_of_birth"] = [f"The {cohort} cohort is for people aged {span}."]
        signed_on = (data.get("consent") or {}).get("signed_on")
        if birth is not None and signed_on is not None and signed_on < birth:
            problems["consent.signed_on"] = ["Consent cannot be signed before the date of birth."]
        clinical = data.get("clinical") or {}
        code = clinical.get("diagnosis_icd10")
        if code and not diagnosis_fits(
            cohort, code, affective_psychoses=settings.ep_affective_psychoses
        ):
            problems["clinical.diagnosis_icd10"] = [
                f"This diagnosis is not one the {cohort} cohort takes."
            ]
        month_field = reference().cohorts[cohort].month_field
        other_month = "episode_start" if month_field == "psychosis_onset" else "psychosis_onset"
        month = clinical.get(month_field)
        if "clinical" in data and month is None:
            problems[f"clinical.{month_field}"] = ["Give the month, as YYYY-MM."]
        elif month is not None and birth is not None and month < birth.replace(day=1):
            problems[f"clinical.{month_field}"] = ["This month is before the date of birth."]
        if clinical.get(other_month) is not None:
            problems[f"clinical.{other_month}"] = [f"This is not recorded for {cohort}."]
        if cohort == "TRD":
            for ep_only in ("first_antipsychotic_on", "eip_accepted_on", "dup_weeks"):
                if clinical.get(ep_only) is not None:
                    problems[f"clinical.{ep_only}"] = ["This is recorded for EP only."]
        elif month is not None:
            for treated in ("first_antipsychotic_on", "eip_accepted_on"):
                day = clinical.get(treated)
                if day is not None and day < month:
                    problems[f"clinical.{treated}"] = ["This is before the psychosis onset."]
        if problems:
            raise ValidationError(problems)


class ParticipantUpdateArgs(InputSchema):
    """Corrections: contact details and demographics. NHS number and birth date are fixed."""

    given_name = _Checked(lambda text: check_name("given_name", text))
    family_name = _Checked(lambda text: check_name("family_name", text))
    postcode = _Checked(lambda text: canonical_postcode(text)[0])
    email = _Checked(check_email, allow_none=True)
    phone = _Checked(check_phone, allow_none=True)
    sex = fields.String(validate=_codes("sex"))
    gender_identity = fields.String(validate=_codes("gender_identity"))
    ethnicity = fields.String(validate=_codes("ethnicity"))
    imd_decile = WholeNumber(1, 10, "a decile", allow_none=True)
    imd_version = fields.String(allow_none=True, validate=_codes("imd_versions"))

    @validates_schema
    def _something(self, data: dict[str, Any], **kwargs: Any) -> None:
        if not data:
            raise ValidationError("Give at least one field to correct.")


def load_enrolment(data: Mapping[str, Any]) -> dict[str, Any]:
    """An enrolment, checked; ValidationFailed naming every bad field (dotted for nesting)."""
    return load_or_fail(EnrolmentArgs(), data)


def load_or_fail(schema: Schema, data: Mapping[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ValidationError as exc:
        raise ValidationFailed(flatten_messages(exc.messages)) from None
    return loaded


class ParticipantListArgs(InputSchema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=100_000))
    per_page = fields.Integer(load_default=25, validate=validate.Range(min=1, max=100))
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


class ParticipantSearchArgs(InputSchema):
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
