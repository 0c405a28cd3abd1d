"""The admin's consent and withdrawal forms, and how withdrawal levels and reasons read.

As on the clinician's pages, the forms hold no rules: the withdrawal form turns what was
chosen into the API's body for the same schema and action to judge.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from registry.participants.models import COHORTS
from registry.web.dates import DateInputField
from registry.web.forms import RegistryForm
from registry.web.labels import CONSULTEE_CHOICES, LEVELS, REASONS, REQUESTERS, level_label


class AddConsentFormForm(FlaskForm):
    cohort = SelectField(
        "Cohort",
        choices=[SelectChoice(cohort, cohort) for cohort in COHORTS],
        validators=[InputRequired("Choose a cohort.")],
    )
    version = StringField(
        "Version",
        validators=[
            InputRequired("Enter the version, for example TRD-PIS-2.0."),
            Length(max=32, message="A version is at most 32 characters."),
        ],
    )
    effective_on = DateInputField("Effective from", required="Enter the date it comes into use.")
    # Chosen on the check page, after the numbers: required there (``CHOOSE_FILE``).
    document = FileField("Information sheet (.pdf or .md)")


CHOOSE_FILE = "Choose the information sheet file."


# -- withdrawal -----------------------------------------------------------------------------


def _choices(labels: dict[str, str]) -> list[SelectChoice]:
    return [SelectChoice(value, text) for value, text in labels.items()]


def _as_typed_id(text: object) -> object:
    # Ids are upper case; people copying one from a letter may not type it so.
    return text.strip().upper() if isinstance(text, str) else text


class FindParticipantForm(RegistryForm):
    """Sent by GET: the id is random, says nothing about the person, and ends up in the
    page's own address anyway."""

    class Meta:
        csrf = False

    participant_id = StringField("Participant id", filters=[_as_typed_id])


class WithdrawalForm(RegistryForm):
    WHEN_MISSING = {
        "level": "Choose how far they are withdrawing.",
        "reason_code": "Select the reason.",
        "requested_by": "Say who asked for the withdrawal.",
        "consultee_type": "Say whether the consultee is personal or nominated.",
    }

    level = RadioField(
        "How far are they withdrawing?",
        choices=[SelectChoice(level, level_label(level)) for level in LEVELS],
        validate_choice=False,
    )
    reason_code = SelectField("Reason", choices=_choices(REASONS), validate_choice=False)
    reason = TextAreaField("Notes about the reason (optional)")
    requested_by = RadioField(
        "Who asked for it?", choices=_choices(REQUESTERS), validate_choice=False
    )
    consultee_type = RadioField(
        "Type of consultee", choices=_choices(CONSULTEE_CHOICES), validate_choice=False
    )
    # Re-entered for a full withdrawal only: never shown again, never kept.
    password = PasswordField("Your password")
    code = StringField("Or a security code from your authenticator app")

    def withdrawal(self) -> dict[str, Any]:
        """The API's withdrawal body. An unanswered question is sent as null, which the
        schema refuses: the API's defaults are for systems, a person must choose."""
        body: dict[str, Any] = {
            "level": self.level.data or None,
            "reason_code": self.reason_code.data or None,
            "requested_by": self.requested_by.data or None,
        }
        if self.reason.data and self.reason.data.strip():
            body["reason"] = self.reason.data.strip()
        if self.requested_by.data == "consultee":
            body["consultee_type"] = self.consultee_type.data or None
        return body
