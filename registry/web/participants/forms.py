"""The clinician's participant forms: what was typed, in the API's shape, and its errors back.

The forms hold no rules. Each turns its input into the body the API would take (blank
answers left out) for the same schema and action to judge, and puts the errors those
return, named as the API names them (``consent.items.samples``), on its own fields. So the
API, the web and the import keep one rulebook. Choice fields skip WTForms' own choice check
for the same reason: an unexpected value goes to the schema, which says what is allowed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, ClassVar

from flask_wtf import FlaskForm
from marshmallow import fields as marshmallow_fields
from wtforms import Field, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from registry.assessments.instruments import Instrument
from registry.assessments.treatment import trial_outcomes
from registry.consents.items import CONSENT_ITEM_TEXT, CONSENT_ITEMS
from registry.consents.models import CAPACITY_CONFIRMED, CAPACITY_CONSULTEE, CONSULTEE_TYPES
from registry.participants.actions import DEMOGRAPHIC_FIELDS
from registry.participants.identity import UPDATABLE as IDENTITY_FIELDS
from registry.participants.reference import reference

YES, NO = "yes", "no"
# What marshmallow says when an answer is absent (left out) or null (sent as "no answer").
_ABSENT = {
    str(marshmallow_fields.Field.default_error_messages["required"]),
    str(marshmallow_fields.Field.default_error_messages["null"]),
}
# Wider scales get a number box rather than a row of radios.
MOST_RADIOS = 11
_WHOLE_NUMBER = re.compile(r"^-?[0-9]+$")


def strip_text(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


def text_field(label: str) -> StringField:
    return StringField(label, filters=[strip_text])


def _radios(label: str, choices: Mapping[str, str]) -> RadioField:
    return RadioField(
        label,
        choices=[SelectChoice(value, text) for value, text in choices.items()],
        validate_choice=False,
    )


def _yes_no_radios(label: str) -> RadioField:
    return _radios(label, {YES: "Yes", NO: "No"})


def _select(label: str, choices: Mapping[str, str]) -> SelectField:
    return SelectField(
        label,
        choices=[SelectChoice(value, text) for value, text in choices.items()],
        validate_choice=False,
    )


def _given(value: object) -> bool:
    return value is not None and value != ""


def without_blanks(values: Mapping[str, Any]) -> dict[str, Any]:
    """Blank answers left out, so the schema reports a missing one as missing."""
    return {name: value for name, value in values.items() if _given(value)}


def whole_number(text: object) -> object:
    """A typed number as the API's JSON number; anything else as typed, for the schema."""
    if not _given(text):
        return None
    return int(str(text)) if _WHOLE_NUMBER.match(str(text)) else text


def _yes_no(answer: object) -> object:
    return {YES: True, NO: False}.get(str(answer), answer) if _given(answer) else None


class RegistryForm(FlaskForm):
    """A form that shows the rulebook's errors at its fields."""

    # Field name -> what to say when the rulebook finds its answer missing: marshmallow's
    # words ("Missing data for required field.") do not tell a clinician what to do.
    WHEN_MISSING: ClassVar[dict[str, str]] = {}

    def field_for(self, error_name: str) -> Field | None:
        """The field an error named as the API names it belongs to, if it has one."""
        return self._fields.get(error_name)

    def show_errors(self, errors: Mapping[str, Sequence[str]]) -> None:
        for name, messages in errors.items():
            field = self.field_for(name)
            if field is None:
                self.form_errors.extend(messages)
                continue
            missing = self.WHEN_MISSING.get(field.name, "Answer this question.")
            field.errors = [
                *field.errors,
                *(missing if message in _ABSENT else message for message in messages),
            ]


# -- enrolment ------------------------------------------------------------------------------

CAPACITY_CHOICES = {
    CAPACITY_CONFIRMED: "Yes, I confirmed they have capacity to consent",
    CAPACITY_CONSULTEE: "No, they lack capacity: a consultee advised",
}
CONSULTEE_LABELS = {
    "personal": "Personal consultee (a relative or friend)",
    "nominated": "Nominated consultee (someone independent of the study)",
}
CONSULTEE_CHOICES = {kind: CONSULTEE_LABELS.get(kind, kind) for kind in CONSULTEE_TYPES}
ETHNICITIES = {code: text for code, (text, _) in reference().ethnicity.items()}
IMD_VERSIONS = {version: version for version in reference().imd_versions}
IMD_DECILES = {
    str(decile): {1: "1 (most deprived)", 10: "10 (least deprived)"}.get(decile, str(decile))
    for decile in range(1, 11)
}
# consent.* error names -> fields (consent.items.* are consent_<item>).
_CONSENT_FIELDS = {
    "form_version": "consent_form_version",
    "signed_on": "consent_signed_on",
    "capacity": "capacity",
    "consultee": "consultee_type",
    "consultee.type": "consultee_type",
    "consultee.name": "consultee_name",
}


def consent_item_field(item: str) -> str:
    return f"consent_{item}"


class EnrolmentForm(RegistryForm):
    """Enrolment at the clinician's own site; each cohort adds its clinical fields."""

    cohort: ClassVar[str]
    CLINICAL_FIELDS: ClassVar[tuple[str, ...]]
    WHEN_MISSING = {
        "nhs_number": "Enter the NHS number.",
        "given_name": "Enter their given name.",
        "family_name": "Enter their family name.",
        "date_of_birth": "Enter their date of birth.",
        "postcode": "Enter their postcode.",
        "sex": "Select their sex.",
        "gender_identity": "Select their gender identity.",
        "ethnicity": "Select their ethnicity.",
        "consent_form_version": "Select the consent form version they signed.",
        "consent_signed_on": "Enter the date they signed the consent form.",
        "capacity": "Say whether they have capacity to consent.",
        "consultee_type": "Select the type of consultee.",
        "consultee_name": "Enter the consultee's name.",
        "diagnosis_icd10": "Enter the ICD-10 code of the diagnosis.",
        **{consent_item_field(item): "Select yes or no." for item in CONSENT_ITEMS},
    }

    nhs_number = text_field("NHS number")
    given_name = text_field("Given name")
    family_name = text_field("Family name")
    date_of_birth = text_field("Date of birth")
    postcode = text_field("Postcode")
    email = text_field("Email address (optional)")
    phone = text_field("Phone number (optional)")

    sex = _radios("Sex", reference().sex)
    gender_identity = _radios("Gender identity", reference().gender_identity)
    ethnicity = _select("Ethnicity", ETHNICITIES)
    imd_decile = _select("Index of Multiple Deprivation decile (optional)", IMD_DECILES)
    imd_version = _select("Which index the decile is from", IMD_VERSIONS)

    consent_form_version = _select("Consent form version", {})  # choices: per request
    consent_signed_on = text_field("Date signed")
    # One yes/no question per consent item, in the consent form's order (and so the page's).
    locals().update(
        {
            consent_item_field(item): _yes_no_radios(CONSENT_ITEM_TEXT[item])
            for item in CONSENT_ITEMS
        }
    )
    capacity = _radios("Do they have capacity to consent?", CAPACITY_CHOICES)
    consultee_type = _radios("Type of consultee", CONSULTEE_CHOICES)
    consultee_name = text_field("Consultee's name")

    diagnosis_icd10 = text_field("Diagnosis (ICD-10 code)")

    def field_for(self, error_name: str) -> Field | None:
        section, _, inner = error_name.partition(".")
        if section == "consent":
            name = (
                consent_item_field(inner.removeprefix("items."))
                if inner.startswith("items.")
                else _CONSENT_FIELDS.get(inner, "")
            )
        elif section == "clinical":
            name = inner
        else:
            name = error_name
        return self._fields.get(name)

    def enrolment(self) -> dict[str, Any]:
        """The API's enrolment body for what was typed (the clinician's site is implied)."""
        consultee = without_blanks(
            {"type": self.consultee_type.data, "name": self.consultee_name.data}
        )
        consent = without_blanks(
            {
                "form_version": self.consent_form_version.data,
                "signed_on": self.consent_signed_on.data,
                "consultee": consultee or None,
            }
        )
        consent["items"] = without_blanks(
            {item: _yes_no(self[consent_item_field(item)].data) for item in CONSENT_ITEMS}
        )
        # The API takes a missing capacity as confirmed (systems that enrol only people
        # with capacity); a clinician must say so, so no answer is sent as null, which the
        # schema refuses.
        consent["capacity"] = self.capacity.data or None
        clinical = without_blanks({name: self[name].data for name in self.CLINICAL_FIELDS})
        if "dup_weeks" in clinical:
            clinical["dup_weeks"] = whole_number(clinical["dup_weeks"])
        return {
            **without_blanks(
                {
                    "cohort": self.cohort,
                    "nhs_number": self.nhs_number.data,
                    "given_name": self.given_name.data,
                    "family_name": self.family_name.data,
                    "date_of_birth": self.date_of_birth.data,
                    "postcode": self.postcode.data,
                    "email": self.email.data,
                    "phone": self.phone.data,
                    "sex": self.sex.data,
                    "gender_identity": self.gender_identity.data,
                    "ethnicity": self.ethnicity.data,
                    "imd_decile": whole_number(self.imd_decile.data),
                    "imd_version": self.imd_version.data,
                }
            ),
            "consent": consent,
            "clinical": clinical,
        }


class EarlyPsychosisEnrolmentForm(EnrolmentForm):
    cohort = "EP"
    CLINICAL_FIELDS = (
        "diagnosis_icd10",
        "psychosis_onset",
        "first_antipsychotic_on",
        "eip_accepted_on",
        "dup_weeks",
    )

    psychosis_onset = text_field("Month psychosis began")
    first_antipsychotic_on = text_field("Date of first antipsychotic (optional)")
    eip_accepted_on = text_field("Date accepted by early intervention in psychosis (optional)")
    dup_weeks = text_field("Duration of untreated psychosis, in weeks (optional)")


class TrdEnrolmentForm(EnrolmentForm):
    cohort = "TRD"
    CLINICAL_FIELDS = ("diagnosis_icd10", "episode_start")

    episode_start = text_field("Month the current episode began")


ENROLMENT_FORMS: dict[str, type[EnrolmentForm]] = {
    form.cohort: form for form in (EarlyPsychosisEnrolmentForm, TrdEnrolmentForm)
}


# -- consent after enrolment ----------------------------------------------------------------

# Error names -> fields, where they differ (items.* are consent_<item>).
_CONSENT_CHANGE_FIELDS = {
    "consultee": "consultee_type",
    "consultee.type": "consultee_type",
    "consultee.name": "consultee_name",
}


class ConsentChangeForm(RegistryForm):
    """Consent taken again: on a newer form version (every item answered), or a change to
    some answers on the version already signed (revoking commercial_partners, say)."""

    WHEN_MISSING = {
        "form_version": "Select the consent form version they signed.",
        "signed_on": "Enter the date they signed.",
        "capacity": "Say whether they have capacity to consent.",
        "consultee_type": "Select the type of consultee.",
        "consultee_name": "Enter the consultee's name.",
        **{consent_item_field(item): "Select yes or no." for item in CONSENT_ITEMS},
    }

    form_version = _select("Consent form version", {})  # choices: per request
    signed_on = text_field("Date signed")
    locals().update(
        {
            consent_item_field(item): _yes_no_radios(CONSENT_ITEM_TEXT[item])
            for item in CONSENT_ITEMS
        }
    )
    capacity = _radios("Do they have capacity to consent?", CAPACITY_CHOICES)
    consultee_type = _radios("Type of consultee", CONSULTEE_CHOICES)
    consultee_name = text_field("Consultee's name")

    @staticmethod
    def values_of(version: str | None, answers: Mapping[str, bool] | None) -> dict[str, str]:
        """What the form starts with: a version, and the answers in force when it is the
        version they signed (a new version's answers are taken afresh, none assumed)."""
        values = {"form_version": version or ""}
        for item, granted in (answers or {}).items():
            values[consent_item_field(item)] = YES if granted else NO
        return values

    def field_for(self, error_name: str) -> Field | None:
        section, _, inner = error_name.partition(".")
        if section == "items" and inner:
            # A bad answer is named items.<item>, or items.<item>.value by the Dict field.
            return self._fields.get(consent_item_field(inner.split(".")[0]))
        return self._fields.get(_CONSENT_CHANGE_FIELDS.get(error_name, error_name))

    def consent_change(
        self, signed_version: str | None, in_force: Mapping[str, bool]
    ) -> dict[str, Any]:
        """The API's consent body. On the version they signed, only the answers that differ
        from ``in_force`` are sent, so the history shows what changed; on another version,
        every answer given."""
        answers = without_blanks(
            {item: _yes_no(self[consent_item_field(item)].data) for item in CONSENT_ITEMS}
        )
        if self.form_version.data == signed_version:
            answers = {
                item: answer for item, answer in answers.items() if answer != in_force.get(item)
            }
        consultee = without_blanks(
            {"type": self.consultee_type.data, "name": self.consultee_name.data}
        )
        body = without_blanks(
            {
                "form_version": self.form_version.data,
                "signed_on": self.signed_on.data,
                "consultee": consultee or None,
            }
        )
        body["items"] = answers
        # As at enrolment: a clinician must say, so no answer is sent as null (refused).
        body["capacity"] = self.capacity.data or None
        return body


# -- finding and correcting -----------------------------------------------------------------


class SearchForm(RegistryForm):
    nhs_number = text_field("NHS number")


class CorrectionForm(RegistryForm):
    """Contact details and demographics; the NHS number and birth date are fixed."""

    WHEN_MISSING = {
        "given_name": "Enter their given name.",
        "family_name": "Enter their family name.",
        "postcode": "Enter their postcode.",
        "sex": "Select their sex.",
        "gender_identity": "Select their gender identity.",
        "ethnicity": "Select their ethnicity.",
    }

    given_name = text_field("Given name")
    family_name = text_field("Family name")
    postcode = text_field("Postcode")
    email = text_field("Email address (optional)")
    phone = text_field("Phone number (optional)")
    sex = _radios("Sex", reference().sex)
    gender_identity = _radios("Gender identity", reference().gender_identity)
    ethnicity = _select("Ethnicity", ETHNICITIES)
    imd_decile = _select("Index of Multiple Deprivation decile (optional)", IMD_DECILES)
    imd_version = _select("Which index the decile is from", IMD_VERSIONS)

    @staticmethod
    def values_of(record: Mapping[str, Any]) -> dict[str, str]:
        """A participant's current values (as ``participant_view`` gives them), as typed."""
        return {
            name: "" if record.get(name) is None else str(record[name]) for name in _CORRECTABLE
        }

    def changes(self, current: Mapping[str, str]) -> dict[str, Any]:
        """The API's correction body: only the fields changed from ``current``, so the audit
        log says what was corrected; a cleared optional answer is sent as null."""
        typed = {name: self[name].data or "" for name in _CORRECTABLE}
        body: dict[str, Any] = {}
        for name, value in typed.items():
            if value == current.get(name):
                continue
            if name in IDENTITY_FIELDS:
                body[name] = value  # the schema knows which may be blank
            elif name == "imd_decile":
                body[name] = whole_number(value)
            else:
                body[name] = value or None
        return body


_CORRECTABLE = (*IDENTITY_FIELDS, *DEMOGRAPHIC_FIELDS)


# -- clinical records -----------------------------------------------------------------------


def item_field(number: int) -> str:
    return f"item_{number}"


class AssessmentForm(RegistryForm):
    """One administration of a rating scale; ``for_instrument`` adds its items."""

    WHEN_MISSING = {"administered_on": "Enter the date it was done."}

    administered_on = text_field("Date it was done")
    instrument: ClassVar[Instrument]

    @staticmethod
    @cache  # one class per scale, not one per request
    def for_instrument(scale: Instrument) -> type[AssessmentForm]:
        """A form class with one field per item of ``scale``, in the scale's order."""
        members: dict[str, Any] = {
            "instrument": scale,
            "WHEN_MISSING": {
                **AssessmentForm.WHEN_MISSING,
                **{
                    item_field(number): f"Select a score for item {number} ({item.label})."
                    for number, item in enumerate(scale.items, 1)
                },
            },
        }
        for number, item in enumerate(scale.items, 1):
            label = f"{number}. {item.label}"
            scores = range(item.min, item.max + 1)
            members[item_field(number)] = (
                _radios(label, {str(score): str(score) for score in scores})
                if len(scores) <= MOST_RADIOS
                else text_field(label)
            )
        return type(f"{scale.code}AssessmentForm", (AssessmentForm,), members)

    def field_for(self, error_name: str) -> Field | None:
        # The schema names an unanswered item by its place in the list ("items.2", from 0);
        # the scoring rules name a bad one in words ("Item 3 (Sleep) must be ..."), all under
        # "items", so show_errors sends each of those to its item by the number it gives.
        section, _, index = error_name.partition(".")
        if section == "items" and index.isdigit():
            return super().field_for(item_field(int(index) + 1))
        return super().field_for(error_name)

    def show_errors(self, errors: Mapping[str, Sequence[str]]) -> None:
        by_name: dict[str, list[str]] = {}
        for name, messages in errors.items():
            for message in messages:
                number = _item_number(message) if name == "items" else None
                key = f"items.{number - 1}" if number else name
                by_name.setdefault(key, []).append(message)
        super().show_errors(by_name)

    def assessment(self) -> dict[str, Any]:
        """The API's assessment body for what was entered."""
        ratings = [
            whole_number(self[item_field(number)].data)
            for number in range(1, len(self.instrument.items) + 1)
        ]
        return without_blanks(
            {"instrument": self.instrument.code, "administered_on": self.administered_on.data}
        ) | {"items": ratings}


def _item_number(message: str) -> int | None:
    words = message.split(" ", 2)
    if len(words) > 1 and words[0] == "Item" and words[1].isdigit():
        return int(words[1])
    return None


OUTCOME_LABELS = {
    "response": "Response (at least 50% better)",
    "partial_response": "Partial response (25% to 49% better)",
    "non_response": "No response (less than 25% better)",
    "intolerance": "Stopped because of side effects",
}


class TreatmentTrialForm(RegistryForm):
    WHEN_MISSING = {
        "drug": "Enter the drug's name.",
        "started_on": "Enter the month it was started.",
        "adequate_dose": "Say whether the dose was adequate.",
        "weeks": "Enter how many weeks it was taken.",
        "outcome": "Select the outcome.",
    }

    drug = text_field("Antidepressant")
    started_on = text_field("Month started")
    adequate_dose = _yes_no_radios("Was the dose adequate?")
    weeks = text_field("Weeks taken")
    outcome = _radios(
        "Outcome", {outcome: OUTCOME_LABELS.get(outcome, outcome) for outcome in trial_outcomes()}
    )

    def treatment_trial(self) -> dict[str, Any]:
        """The API's treatment-trial body for what was entered."""
        return without_blanks(
            {
                "drug": self.drug.data,
                "started_on": self.started_on.data,
                "adequate_dose": _yes_no(self.adequate_dose.data),
                "weeks": whole_number(self.weeks.data),
                "outcome": self.outcome.data,
            }
        )
