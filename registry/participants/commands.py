"""What the participant schemas load into: the actions' input, typed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from registry.input_rules import NOT_GIVEN, NotGiven


@dataclass(frozen=True, slots=True)
class ClinicalDetails:
    """An enrolment's clinical block; which months and dates a cohort takes, the enrolment
    schema checks. Left out: None."""

    diagnosis_icd10: str
    psychosis_onset: dt.date | None = None  # EP: the first of the month
    first_antipsychotic_on: dt.date | None = None  # EP
    eip_accepted_on: dt.date | None = None  # EP
    dup_weeks: int | None = None  # EP
    episode_start: dt.date | None = None  # TRD: the first of the month


@dataclass(frozen=True, slots=True)
class CorrectParticipant:
    """A correction, PATCH-like: a field left out is ``NOT_GIVEN`` and stays as stored; an
    optional one given as null (email, phone, the decile and its index) is cleared."""

    given_name: str | NotGiven = NOT_GIVEN
    family_name: str | NotGiven = NOT_GIVEN
    postcode: str | NotGiven = NOT_GIVEN
    email: str | NotGiven | None = NOT_GIVEN
    phone: str | NotGiven | None = NOT_GIVEN
    sex: str | NotGiven = NOT_GIVEN
    gender_identity: str | NotGiven = NOT_GIVEN
    ethnicity: str | NotGiven = NOT_GIVEN
    imd_decile: int | NotGiven | None = NOT_GIVEN
    imd_version: str | NotGiven | None = NOT_GIVEN
    nhs_number: str | NotGiven = NOT_GIVEN  # canonical, 10 digits
    date_of_birth: dt.date | NotGiven = NOT_GIVEN
    reason: str | NotGiven = NOT_GIVEN  # why the NHS number or date of birth was wrong

    def identifier_changes(self) -> dict[str, str | dt.date]:
        """The NHS number and date of birth given (corrected with ``reason``)."""
        given = {"nhs_number": self.nhs_number, "date_of_birth": self.date_of_birth}
        return {name: value for name, value in given.items() if not isinstance(value, NotGiven)}

    def identity_changes(self) -> dict[str, str | None]:
        """The identifiers given, by name (re-sealed by ``update_identity``)."""
        given = {
            "given_name": self.given_name,
            "family_name": self.family_name,
            "postcode": self.postcode,
            "email": self.email,
            "phone": self.phone,
        }
        return {name: value for name, value in given.items() if not isinstance(value, NotGiven)}

    def demographic_changes(self) -> dict[str, str | int | None]:
        """The demographics given, by name (plain columns)."""
        given = {
            "sex": self.sex,
            "gender_identity": self.gender_identity,
            "ethnicity": self.ethnicity,
            "imd_decile": self.imd_decile,
            "imd_version": self.imd_version,
        }
        return {name: value for name, value in given.items() if not isinstance(value, NotGiven)}


@dataclass(frozen=True, slots=True)
class ParticipantFilter:
    """Which participants a list shows; the page is the pager's (``PageArgs``)."""

    cohort: str | None = None  # not given: both
    site: str | None = None  # not given: every site the user sees
    grant: str | None = None  # researchers: the grant whose rows they list


@dataclass(frozen=True, slots=True)
class FindParticipant:
    nhs_number: str
