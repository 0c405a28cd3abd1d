"""The admin's form for adding a consent-form version."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from registry.participants.models import COHORTS


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
    effective_on = DateField(
        "Effective from",
        validators=[InputRequired("Enter the date it comes into use, like 2026-12-01.")],
    )
    document = FileField(
        "Information sheet (.pdf or .md)",
        validators=[FileRequired("Choose the information sheet file.")],
    )
