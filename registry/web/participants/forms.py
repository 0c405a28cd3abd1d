"""The clinician's participant forms: what was typed, in the API's shape, and its errors back
(``registry.web.forms`` says how every form does that)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, ClassVar

from wtforms import Field, TextAreaField

from registry.assessments.drugs import drug_list
from registry.assessments.instruments import Instrument, Item
from registry.assessments.models import VOID_REASONS
from registry.consents.items import CONSENT_ITEM_TEXT, CONSENT_ITEM_UNANSWERED, CONSENT_ITEMS
from registry.consents.models import CAPACITY_CONFIRMED, CAPACITY_CONSULTEE
from registry.input_rules import CodedMessage
from registry.participants.actions import DEMOGRAPHIC_FIELDS
from registry.participants.identity import UPDATABLE as IDENTITY_FIELDS
from registry.participants.reference import reference
from registry.web.dates import DateInputField, MonthInputField
from registry.web.forms import (
    NO,
    YES,
    RegistryForm,
    radios,
    select,
    strip_text,
    text_field,
    whole_number,
    without_blanks,
    yes_no,
    yes_no_radios,
)
from registry.web.labels import (
    ADHERENCE_CHOICES,
    CONSULTEE_CHOICES,
    DOSE_UNIT_CHOICES,
    MODALITY_CHOICES,
    OUTCOME_CHOICES,
    STOP_REASON_CHOICES,
)

DOB_IN_FUTURE = "Date of birth must be in the past"
VOID_REASON_CHOICES = {code: words[:1].upper() + words[1:] for code, words in VOID_REASONS.items()}
# Wider scales get a number box rather than a row of radios.
MOST_RADIOS = 11


# -- enrolment ------------------------------------------------------------------------------

CAPACITY_CHOICES = {
    CAPACITY_CONFIRMED: "Yes, I confirmed they have capacity to consent",
    CAPACITY_CONSULTEE: "No, they lack capacity: a consultee advised",
}
ETHNICITIES = {code: text for code, (text, _) in reference().ethnicity.items()}
IMD_VERSIONS = {version: version for version in reference().imd_versions}
IMD_DECILES = {
    str(decile): {1: "1 (most deprived)", 10: "10 (least deprived)"}.get(decile, str(decile))
    for decile in range(1, 11)
}

# -- a person's details, asked at enrolment and corrected later -------------------------------
# Declared once, by these functions rather than a base class: WTForms orders fields by when
# they were made, and the enrolment form asks the NHS number first and the birth date between
# the names and the postcode, so each form makes its own copies where they belong.


def _name_fields() -> dict[str, Field]:
    return {"given_name": text_field("Given name"), "family_name": text_field("Family name")}


def _contact_and_demographic_fields() -> dict[str, Field]:
    return {
        "postcode": text_field("Postcode"),
        "email": text_field("Email address (optional)"),
        "phone": text_field("Phone number (optional)"),
        "sex": radios("Sex", reference().sex),
        "gender_identity": radios("Gender identity", reference().gender_identity),
        "ethnicity": select("Ethnicity", ETHNICITIES),
        "imd_decile": select("Index of Multiple Deprivation decile (optional)", IMD_DECILES),
        "imd_version": select("Which index the decile is from", IMD_VERSIONS),
    }


PERSON_FIELDS = (*_name_fields(), *_contact_and_demographic_fields())
PERSON_WHEN_MISSING = {
    "given_name": "Enter their given name.",
    "family_name": "Enter their family name.",
    "postcode": "Enter their postcode.",
    "sex": "Select their sex.",
    "gender_identity": "Select their gender identity.",
    "ethnicity": "Select their ethnicity.",
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


def _consultee(capacity: object, kind: Field, name: Field) -> dict[str, Any]:
    """The consultee's answers, only when the capacity answer that reveals them was given:
    answers typed and then hidden again (NHS.UK conditional radios) are not sent."""
    if capacity != CAPACITY_CONSULTEE:
        return {}
    return without_blanks({"type": kind.data, "name": name.data})


class EnrolmentForm(RegistryForm):
    """Enrolment at the clinician's own site; each cohort adds its clinical fields."""

    cohort: ClassVar[str]
    CLINICAL_FIELDS: ClassVar[tuple[str, ...]]
    WHEN_MISSING = {
        **PERSON_WHEN_MISSING,
        "nhs_number": "Enter the NHS number.",
        "date_of_birth": "Enter their date of birth.",
        "consent_form_version": "Select the consent form version they signed.",
        "consent_signed_on": "Enter the date they signed the consent form.",
        "capacity": "Say whether they have capacity to consent.",
        "consultee_type": "Select the type of consultee.",
        "consultee_name": "Enter the consultee's name.",
        "diagnosis_icd10": "Enter the ICD-10 code of the diagnosis.",
        "psychosis_onset": "Enter the month psychosis began.",
        "episode_start": "Enter the month the current episode began.",
        **{consent_item_field(item): CONSENT_ITEM_UNANSWERED[item] for item in CONSENT_ITEMS},
    }

    nhs_number = text_field("NHS number")
    locals().update(_name_fields())
    date_of_birth = DateInputField("Date of birth", past_message=DOB_IN_FUTURE)
    locals().update(_contact_and_demographic_fields())

    consent_form_version = select("Consent form version", {})  # choices: per request
    consent_signed_on = DateInputField("Date signed")
    # One yes/no question per consent item, in the consent form's order (and so the page's).
    locals().update(
        {consent_item_field(item): yes_no_radios(CONSENT_ITEM_TEXT[item]) for item in CONSENT_ITEMS}
    )
    capacity = radios("Do they have capacity to consent?", CAPACITY_CHOICES)
    consultee_type = radios("Type of consultee", CONSULTEE_CHOICES)
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
        consultee = _consultee(self.capacity.data, self.consultee_type, self.consultee_name)
        consent = without_blanks(
            {
                "form_version": self.consent_form_version.data,
                "signed_on": self.consent_signed_on.data,
                "consultee": consultee or None,
            }
        )
        consent["items"] = without_blanks(
            {item: yes_no(self[consent_item_field(item)].data) for item in CONSENT_ITEMS}
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
                    "date_of_birth": self.date_of_birth.data,
                    **{name: self[name].data for name in PERSON_FIELDS},
                    "imd_decile": whole_number(self["imd_decile"].data),
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

    psychosis_onset = MonthInputField("Month psychosis began")
    first_antipsychotic_on = DateInputField("Date of first antipsychotic (optional)")
    eip_accepted_on = DateInputField("Date accepted by early intervention in psychosis (optional)")
    dup_weeks = text_field("Duration of untreated psychosis, in weeks (optional)")


class TrdEnrolmentForm(EnrolmentForm):
    cohort = "TRD"
    CLINICAL_FIELDS = ("diagnosis_icd10", "episode_start")

    episode_start = MonthInputField("Month the current episode began")


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
        **{consent_item_field(item): CONSENT_ITEM_UNANSWERED[item] for item in CONSENT_ITEMS},
    }

    form_version = select("Consent form version", {})  # choices: per request
    signed_on = DateInputField("Date signed")
    locals().update(
        {consent_item_field(item): yes_no_radios(CONSENT_ITEM_TEXT[item]) for item in CONSENT_ITEMS}
    )
    capacity = radios("Do they have capacity to consent?", CAPACITY_CHOICES)
    consultee_type = radios("Type of consultee", CONSULTEE_CHOICES)
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
            {item: yes_no(self[consent_item_field(item)].data) for item in CONSENT_ITEMS}
        )
        if self.form_version.data == signed_version:
            answers = {
                item: answer for item, answer in answers.items() if answer != in_force.get(item)
            }
        consultee = _consultee(self.capacity.data, self.consultee_type, self.consultee_name)
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
    """Contact details and demographics; a mistyped NHS number or date of birth, with the
    reason it was wrong."""

    WHEN_MISSING = {
        **PERSON_WHEN_MISSING,
        "nhs_number": "Enter the NHS number.",
        "date_of_birth": "Enter their date of birth.",
        "reason": "Say why the NHS number or date of birth was wrong.",
    }

    nhs_number = text_field("NHS number")
    date_of_birth = DateInputField("Date of birth", past_message=DOB_IN_FUTURE)
    reason = TextAreaField(
        "Why the NHS number or date of birth was wrong (only if you change either)",
        filters=[strip_text],
    )
    locals().update(_name_fields())
    locals().update(_contact_and_demographic_fields())

    @staticmethod
    def values_of(record: Mapping[str, Any]) -> dict[str, str]:
        """A participant's current values (as ``participant_view`` gives them), as typed."""
        return {
            name: "" if record.get(name) is None else str(record[name])
            for name in (*IDENTIFIERS, *_CORRECTABLE)
        }

    def changes(self, current: Mapping[str, str]) -> dict[str, Any]:
        """The API's correction body: only the fields changed from ``current``, so the audit
        log says what was corrected; a cleared optional answer is sent as null."""
        body: dict[str, Any] = {}
        typed_number = self.nhs_number.data or ""
        if _digits(typed_number) != _digits(current.get("nhs_number", "")):
            body["nhs_number"] = typed_number
        if (self.date_of_birth.data or "") != current.get("date_of_birth", ""):
            body["date_of_birth"] = self.date_of_birth.data  # None: the schema says "enter"
        if self.reason.data:
            body["reason"] = self.reason.data
        typed = {name: self[name].data or "" for name in _CORRECTABLE}
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
IDENTIFIERS = ("nhs_number", "date_of_birth")


def _digits(text: str) -> str:
    return "".join(text.split())


# -- clinical records -----------------------------------------------------------------------


def item_field(number: int) -> str:
    return f"item_{number}"


class AssessmentForm(RegistryForm):
    """One administration of a rating scale; ``for_instrument`` adds its items."""

    WHEN_MISSING = {"administered_on": "Enter the date it was done."}

    administered_on = DateInputField("Date it was done")
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
        if not scale.items_storable:  # its licence allows the total alone to be stored
            members["total"] = text_field("Total")
            members["WHEN_MISSING"] = {**AssessmentForm.WHEN_MISSING, "total": "Enter the total."}
            return type(f"{scale.code}AssessmentForm", (AssessmentForm,), members)
        for number, item in enumerate(scale.items, 1):
            label = f"{number}. {item.wording or item.label}"
            scores = range(item.min, item.max + 1)
            members[item_field(number)] = (
                radios(label, {str(score): _answer(item, score) for score in scores})
                if len(scores) <= MOST_RADIOS
                else text_field(label)
            )
        return type(f"{scale.code}AssessmentForm", (AssessmentForm,), members)

    def field_for(self, error_name: str) -> Field | None:
        # The schema names an unanswered item by its place in the list ("items.2", from 0);
        # the scoring rules name a bad one in words ("Item 3 (Sleep) must be ..."), all under
        # "items", so show_errors sends each of those to its item by the number it carries.
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
        if not self.instrument.items_storable:
            # The total is sent even when blank, so the rulebook names it as missing.
            return without_blanks(
                {"instrument": self.instrument.code, "administered_on": self.administered_on.data}
            ) | {"total": whole_number(self["total"].data)}
        ratings = [
            whole_number(self[item_field(number)].data)
            for number in range(1, len(self.instrument.items) + 1)
        ]
        return without_blanks(
            {"instrument": self.instrument.code, "administered_on": self.administered_on.data}
        ) | {"items": ratings}


def _answer(item: Item, score: int) -> str:
    """A rating as the page offers it: in the scale's words where it has them."""
    if not item.answers:
        return str(score)
    words = item.answers[score - item.min]
    return words[:1].upper() + words[1:]


def _item_number(message: str) -> int | None:
    """The item a scoring rule's message is about, by its code, never its words."""
    if isinstance(message, CodedMessage) and message.code == "item_out_of_range":
        return int(message.params["item"])
    return None


def drug_groups() -> list[tuple[str, list[tuple[str, str]]]]:
    """The coded drug list for a pick-list: (BNF class in words, [(name, label)]) in the
    list's order."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for drug in drug_list().drugs:
        group = f"{drug.drug_class.label} (BNF {drug.drug_class.bnf})"
        groups.setdefault(group, []).append((drug.name, drug.label))
    return list(groups.items())


def _number(text: object) -> object:
    """A typed decimal as the API's JSON number; anything else as typed, for the schema."""
    if text is None or text == "":
        return None
    try:
        return float(str(text))
    except ValueError:
        return text


class TreatmentTrialForm(RegistryForm):
    WHEN_MISSING = {
        "drug": "Select the drug.",
        "started_on": "Enter the month it was started.",
        "adequate_dose": "Say whether the dose was adequate.",
        "weeks": "Enter how many weeks it was taken.",
        "outcome": "Select the outcome.",
    }

    modality = radios("Kind of treatment", MODALITY_CHOICES)
    drug = select("Drug", {})  # grouped by class in the template, from drug_groups()
    dose = text_field("Dose")
    dose_unit = select("Unit", DOSE_UNIT_CHOICES)
    started_on = MonthInputField("Month started")
    ended_on = MonthInputField("Month stopped")
    adequate_dose = yes_no_radios("Was the dose adequate?")
    weeks = text_field("Weeks taken")
    adherence = radios("Did they take it as prescribed?", ADHERENCE_CHOICES)
    outcome = radios("Outcome", OUTCOME_CHOICES)
    response_percent = text_field("Improvement from the start, in per cent")
    stop_reason = select("Reason for stopping", STOP_REASON_CHOICES)

    def treatment_trial(self) -> dict[str, Any]:
        """The API's treatment-trial body for what was entered."""
        return without_blanks(
            {
                "modality": self.modality.data,
                "drug": self.drug.data,
                "dose": _number(self.dose.data),
                "dose_unit": self.dose_unit.data,
                "started_on": self.started_on.data,
                "ended_on": self.ended_on.data,
                "adequate_dose": yes_no(self.adequate_dose.data),
                "weeks": whole_number(self.weeks.data),
                "adherence": self.adherence.data,
                "outcome": self.outcome.data,
                "response_percent": whole_number(self.response_percent.data),
                "stop_reason": self.stop_reason.data,
            }
        )


class VoidForm(RegistryForm):
    """Why a record entered in error is void: a choice, never free text."""

    WHEN_MISSING = {"reason": "Select why it is void."}

    reason = radios("Why is it void?", VOID_REASON_CHOICES)
