"""How withdrawal levels, reasons and requesters, consultees and treatment outcomes read on
every page that names them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from registry.assessments.treatment import (
    adherence_levels,
    dose_units,
    modalities,
    stop_reasons,
    trial_outcomes,
)
from registry.auth.permissions import Role
from registry.consents.models import CONSULTEE_TYPES, REQUESTED_BY, WITHDRAWAL_REASONS
from registry.exports.models import ACTIVE, DATE_MONTH, DATE_SHIFT, EXPIRED, REVOKED
from registry.participants.models import FULL, NO_FURTHER_CONTACT, NO_FURTHER_DATA


@dataclass(frozen=True)
class Level:
    code: str  # as the consent literature numbers them
    title: str
    effect: str


LEVELS: dict[str, Level] = {
    NO_FURTHER_CONTACT: Level(
        "W1",
        "No further contact",
        "They are never approached again. Their data is kept and used.",
    ),
    NO_FURTHER_DATA: Level(
        "W2",
        "No further data",
        "They are never approached again and nothing new is recorded about them. What was "
        "collected before is kept and used.",
    ),
    FULL: Level(
        "W3",
        "Full withdrawal",
        "Their identity is destroyed and cannot be recovered. Their clinical data is "
        "deleted. A record that they withdrew is kept.",
    ),
}
REASONS = {
    "participant_request": "They asked to withdraw",
    "consultee_advice": "A consultee advised they would want to",
    "clinical_team_advice": "Their clinical team advised it",
    "other": "Another reason",
}
REQUESTERS = {"participant": "The participant", "consultee": "A consultee, on their behalf"}
assert set(REASONS) == set(WITHDRAWAL_REASONS) and set(REQUESTERS) == set(REQUESTED_BY)


def level_label(level: str | None) -> str:
    """ "W2 No further data", say."""
    if level is None:
        return "Not withdrawn"
    known = LEVELS.get(level)
    return f"{known.code} {known.title}" if known else level


def choices(labels: Mapping[str, str], values: Iterable[str]) -> dict[str, str]:
    """Each value the data allows, in the data's order, with its label in words (the value
    itself only if a label is missing, which the tests forbid)."""
    return {value: labels.get(value, value) for value in values}


CONSULTEE_LABELS = {
    "personal": "Personal consultee (a relative or friend)",
    "nominated": "Nominated consultee (someone independent of the study)",
}
CONSULTEE_CHOICES = choices(CONSULTEE_LABELS, CONSULTEE_TYPES)
OUTCOME_LABELS = {
    "response": "Response (at least 50% better)",
    "partial_response": "Partial response (25% to 49% better)",
    "non_response": "No response (less than 25% better)",
    "intolerance": "Stopped because of side effects",
}
OUTCOME_CHOICES = choices(OUTCOME_LABELS, trial_outcomes())
MODALITY_LABELS = {
    "antidepressant": "An antidepressant on its own",
    "augmentation": "Augmentation (a non-antidepressant added, e.g. lithium)",
    "combination": "Combination (a second antidepressant added)",
    "ect": "Electroconvulsive therapy (ECT)",
    "rtms": "Repetitive transcranial magnetic stimulation (rTMS)",
    "other_neurostimulation": "Other neurostimulation",
    "psychological_therapy": "Psychological therapy",
}
MODALITY_CHOICES = choices(MODALITY_LABELS, modalities())
ADHERENCE_LABELS = {
    "adequate": "Adequate (took it as prescribed)",
    "partial": "Partial",
    "poor": "Poor",
    "unknown": "Not known",
}
ADHERENCE_CHOICES = choices(ADHERENCE_LABELS, adherence_levels())
STOP_REASON_LABELS = {
    "not_stopped": "Not stopped",
    "ineffective": "It did not work well enough",
    "side_effects": "Side effects",
    "course_completed": "The course was completed",
    "patient_choice": "Their choice",
    "other": "Another reason",
}
STOP_REASON_CHOICES = choices(STOP_REASON_LABELS, stop_reasons())
DOSE_UNIT_LABELS = {"mg": "mg a day", "microgram": "micrograms a day", "sessions": "sessions"}
DOSE_UNIT_CHOICES = choices(DOSE_UNIT_LABELS, dose_units())
# What a trial from before the coded history could not recover, in words.
NOT_RECOVERED_LABELS = {
    "drug_code": "drug code",
    "modality": "kind of treatment",
    "dose": "dose",
    "ended_on": "end",
    "adherence": "adherence",
    "response_percent": "improvement",
    "stop_reason": "reason for stopping",
}

# A data-access grant's status and date policy, on the researcher's and the admin's pages.
GRANT_STATUS_TAGS = {
    ACTIVE: ("In force", "nhsuk-tag--green"),
    EXPIRED: ("Expired", "nhsuk-tag--grey"),
    REVOKED: ("Revoked", "nhsuk-tag--red"),
}
DATE_POLICY_TEXT = {
    DATE_MONTH: "Dates as year and month (YYYY-MM)",
    DATE_SHIFT: "Dates shifted per participant by a secret offset of up to {days} days",
}
# The choice an admin makes when writing a grant (the days are asked for beside it).
DATE_POLICY_CHOICES = {
    DATE_MONTH: "Year and month only (YYYY-MM)",
    DATE_SHIFT: "The full date, shifted per participant by a secret number of days",
}
FILE_FORMAT_LABELS = {"csv": "CSV", "parquet": "Parquet"}
CHANNEL_LABELS = {"api": "API", "web": "Web page", "cli": "Command line"}


def date_policy_text(policy: str, max_shift_days: int | None) -> str:
    return DATE_POLICY_TEXT[policy].format(days=max_shift_days)


ROLE_LABELS = {
    "clinician": "Clinician",
    "researcher": "Researcher",
    "admin": "Administrator",
    "partner": "Partner organisation",
}
ROLE_CHOICES = choices(ROLE_LABELS, [role.value for role in Role])
