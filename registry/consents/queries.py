"""Reads of consent-form versions."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, select

from registry.consents.models import ConsentForm
from registry.db import session
from registry.participants.models import COHORTS


def consent_forms(cohort: str | None = None) -> Select[ConsentForm]:
    statement = select(ConsentForm).order_by(
        ConsentForm.cohort, ConsentForm.effective_on.desc(), ConsentForm.id.desc()
    )
    if cohort:
        statement = statement.where(ConsentForm.cohort == cohort)
    return statement


def current_form(cohort: str, on: dt.date | None = None) -> ConsentForm | None:
    """The version in force on a day: the latest already effective."""
    day = on or dt.date.today()
    return session().scalar(consent_forms(cohort).where(ConsentForm.effective_on <= day).limit(1))


def current_form_ids(on: dt.date | None = None) -> set[int]:
    """Ids of the versions in force, one per cohort that has any."""
    return {form.id for cohort in COHORTS if (form := current_form(cohort, on))}
