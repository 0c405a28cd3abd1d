"""What ``EnrolmentArgs`` loads into: an enrolment, whole and typed, whichever way it came
(the API, the page, a row of the import; the demo seed makes them directly)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from registry.consents.commands import EnrolmentConsent
from registry.participants.commands import ClinicalDetails
from registry.participants.identity import Identity


@dataclass(frozen=True, slots=True)
class Enrol:
    cohort: str
    nhs_number: str  # canonical
    given_name: str
    family_name: str
    date_of_birth: dt.date
    postcode: str  # canonical
    sex: str
    gender_identity: str
    ethnicity: str
    consent: EnrolmentConsent
    clinical: ClinicalDetails
    email: str | None = None
    phone: str | None = None
    imd_decile: int | None = None  # None: unknown
    imd_version: str | None = None
    site: str | None = None  # not given: the clinician's own site

    def __repr__(self) -> str:
        # Identifiers never reach a log: as Identity's, this repr names none.
        return f"Enrol(cohort={self.cohort!r}, site={self.site!r}, ...)"

    def identity(self, participant_id: str) -> Identity:
        """The identifiers this enrolment gives, for the participant it makes."""
        return Identity(
            participant_id=participant_id,
            nhs_number=self.nhs_number,
            given_name=self.given_name,
            family_name=self.family_name,
            date_of_birth=self.date_of_birth,
            postcode=self.postcode,
            email=self.email,
            phone=self.phone,
        )
