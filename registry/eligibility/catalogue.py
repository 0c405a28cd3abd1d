"""The fields eligibility criteria may use: their types, operators, values and audiences.

Coded values and score ranges come from the reference data and the instrument definitions,
so the catalogue changes with them; ``CATALOGUE_VERSION`` changes when the catalogue's own
shape or policy does, so a saved query can say which catalogue it was written against.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from typing import Any

from registry.assessments.instruments import INSTRUMENT_CODES, Instrument, instrument
from registry.assessments.outcomes import DEFINITIONS as OUTCOMES
from registry.assessments.schedule import COMPLETE, NONE, PARTIAL, SCHEDULE, VISIT_STATES
from registry.auth.permissions import Role
from registry.consents.items import CONSENT_ITEM_TEXT, CONSENT_ITEMS
from registry.facts.derive import SCORE_COLUMNS
from registry.facts.followup import FOLLOWUP_COLUMNS
from registry.participants.reference import reference

CATALOGUE_VERSION = "2026-3"  # 2026-2: response and remission (#19); 2026-3: follow-up (#21)

# IMD deciles run from 1 (most deprived) to 10, in every version of the indices.
IMD_DECILES = (1, 10)
# Bounds that keep derived counts sane; nobody is 130, no episode lasts a century.
MAX_AGE_YEARS = 130
MAX_ELAPSED_MONTHS = 1200
MAX_FAILED_TRIALS = 50
MAUDSLEY_RANGE = (3, 15)  # the Maudsley Staging Method total
SITE_CODE_LENGTH = 16
DIAGNOSIS_LENGTH = 8
POSTCODE_DISTRICT_LENGTH = 4


class FieldType(StrEnum):
    CODE = "code"
    INTEGER = "integer"
    DATE = "date"
    BOOLEAN = "boolean"
    TEXT_PREFIX = "text-prefix"


OPERATORS_BY_TYPE: dict[FieldType, tuple[str, ...]] = {
    FieldType.CODE: ("=", "!=", "in", "not_in", "exists"),
    FieldType.INTEGER: ("=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in", "exists"),
    FieldType.DATE: ("=", "!=", "<", "<=", ">", ">=", "between", "exists"),
    FieldType.BOOLEAN: ("=", "!="),
    FieldType.TEXT_PREFIX: ("=", "!=", "in", "not_in", "startswith", "exists"),
}
ALL_OPERATORS = ("=", "!=", "<", "<=", ">", ">=", "between", "in", "not_in", "startswith", "exists")

EVERYONE = frozenset({Role.RESEARCHER, Role.ADMIN, Role.PARTNER})
# Partners see counts only, but fine geography or fine-grained identity categories combined
# with other criteria could still single someone out in a small count: staff only.
STAFF = frozenset({Role.RESEARCHER, Role.ADMIN})


class Group(StrEnum):
    """Where a field is listed on the query page, in this order."""

    DEMOGRAPHICS = "Demographics"
    DIAGNOSIS = "Diagnosis"
    SCORES = "Scores"
    TREATMENT_HISTORY = "Treatment history"
    FOLLOW_UP = "Follow-up"
    CONSENT = "Consent"


class Derivation(StrEnum):
    """How a field's value is obtained from its facts column."""

    COLUMN = "column"  # the column itself
    SITE_CODE = "site_code"  # site_id, named by the site's code
    WHOLE_YEARS_SINCE = "whole_years_since"  # from a date column to today
    WHOLE_MONTHS_SINCE = "whole_months_since"


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    type: FieldType
    column: str  # in participant_facts
    description: str
    roles: frozenset[Role]
    derivation: Derivation = Derivation.COLUMN
    values: tuple[str, ...] | None = None  # a code field's allowed values, if fixed
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None  # text fields and codes without a fixed list
    label: str = ""  # in words, as pages and descriptions name it: "Latest PHQ-9 total"
    group: Group = Group.DEMOGRAPHICS
    # Each coded value's label, in ``values`` order: "White - British (A)" (an en dash), "Female".
    value_labels: tuple[str, ...] | None = None

    def value_label(self, value: object) -> str:
        """A value in words: a code by its label, true and false as yes and no."""
        if isinstance(value, bool):
            return "yes" if value else "no"
        if self.values is not None and self.value_labels is not None and value in self.values:
            return self.value_labels[self.values.index(str(value))]
        return str(value)

    @property
    def operators(self) -> tuple[str, ...]:
        return OPERATORS_BY_TYPE[self.type]

    def as_json(self) -> dict[str, Any]:
        described: dict[str, Any] = {
            "name": self.name,
            "type": self.type.value,
            "operators": list(self.operators),
            "description": self.description,
            "label": self.label,
            "group": self.group.value,
        }
        if self.values is not None:
            described["values"] = list(self.values)
            described["choices"] = [
                {"value": value, "label": self.value_label(value)} for value in self.values
            ]
        if self.minimum is not None or self.maximum is not None:
            described["range"] = {"min": self.minimum, "max": self.maximum}
        if self.max_length is not None:
            described["max_length"] = self.max_length
        return described


def _fields() -> tuple[Field, ...]:
    codes = reference()
    ethnicity_groups = tuple(dict.fromkeys(group for _, group in codes.ethnicity.values()))
    fields = [
        Field(
            "cohort",
            FieldType.CODE,
            "cohort",
            "Cohort: EP or TRD.",
            EVERYONE,
            values=tuple(codes.cohorts),
            label="Cohort",
            group=Group.DIAGNOSIS,
            value_labels=tuple(f"{rule.name} ({code})" for code, rule in codes.cohorts.items()),
        ),
        Field(
            "site",
            FieldType.CODE,
            "site_id",
            "Recruiting site, by its NHS organisation code.",
            # Feasibility by site is what partners come for; their figures carry noise
            # charged to a privacy budget (registry/privacy), so a site's small count no
            # longer singles anyone out by differencing.
            EVERYONE,
            derivation=Derivation.SITE_CODE,
            max_length=SITE_CODE_LENGTH,
            label="Recruiting site (NHS organisation code)",
        ),
        Field(
            "age",
            FieldType.INTEGER,
            "birth_month_start",
            "Age in whole years, counted from the first day of the birth month to today.",
            EVERYONE,
            derivation=Derivation.WHOLE_YEARS_SINCE,
            minimum=0,
            maximum=MAX_AGE_YEARS,
            label="Age in years",
        ),
        Field(
            "sex",
            FieldType.CODE,
            "sex",
            f"Sex ({codes.versions['sex']}).",
            EVERYONE,
            values=tuple(codes.sex),
            label="Sex",
            value_labels=tuple(codes.sex.values()),
        ),
        Field(
            "gender_identity",
            FieldType.CODE,
            "gender_identity",
            f"Gender identity ({codes.versions['gender_identity']}).",
            STAFF,
            values=tuple(codes.gender_identity),
            label="Gender identity",
            value_labels=tuple(_with_code(t, c) for c, t in codes.gender_identity.items()),
        ),
        Field(
            "ethnicity",
            FieldType.CODE,
            "ethnicity",
            f"Ethnic category ({codes.versions['ethnicity']}).",
            STAFF,
            values=tuple(codes.ethnicity),
            label="Ethnic category",
            value_labels=tuple(_with_code(t, c) for c, (t, _) in codes.ethnicity.items()),
        ),
        Field(
            "ethnicity_group",
            FieldType.CODE,
            "ethnicity_group",
            "ONS 2021 high-level ethnic group, derived from the ethnic category.",
            EVERYONE,
            values=ethnicity_groups,
            label="Ethnic group",
            value_labels=tuple(codes.ethnicity_groups[group] for group in ethnicity_groups),
        ),
        Field(
            "postcode_district",
            FieldType.TEXT_PREFIX,
            "postcode_district",
            "Postcode district (outward code), e.g. B15.",
            STAFF,
            max_length=POSTCODE_DISTRICT_LENGTH,
            label="Postcode district",
        ),
        Field(
            "imd_decile",
            FieldType.INTEGER,
            "imd_decile",
            "Index of Multiple Deprivation decile, 1 most deprived.",
            EVERYONE,
            minimum=IMD_DECILES[0],
            maximum=IMD_DECILES[1],
            label="Deprivation decile (IMD, 1 most deprived)",
        ),
        Field(
            "diagnosis_icd10",
            FieldType.TEXT_PREFIX,
            "diagnosis_icd10",
            "ICD-10 diagnosis code, e.g. F33.2; startswith F33 takes the whole category.",
            EVERYONE,
            max_length=DIAGNOSIS_LENGTH,
            label="Diagnosis (ICD-10)",
            group=Group.DIAGNOSIS,
        ),
    ]
    for code in INSTRUMENT_CODES:
        scale = instrument(code)
        fields.append(
            Field(
                f"latest_score.{code}",
                FieldType.INTEGER,
                SCORE_COLUMNS[code],
                _latest_score_description(scale),
                EVERYONE,
                minimum=scale.total_min,
                maximum=scale.total_max,
                label=(
                    f"Latest {scale.short_name} risk level"
                    if scale.risk_levels
                    else f"Latest {scale.short_name} total"
                ),
                group=Group.SCORES,
            )
        )
    fields += [
        Field(
            "response",
            FieldType.BOOLEAN,
            "response",
            f"TRD: the latest total at least {OUTCOMES.reduction_percent}% below the baseline "
            "(the first assessment in the current episode) on the first of "
            f"{', '.join(instrument(s.code).short_name for s in OUTCOMES.scales)} "
            "assessed again since; no such series matches neither true nor false.",
            EVERYONE,
            label="Response",
            group=Group.FOLLOW_UP,
        ),
        Field(
            "remission",
            FieldType.BOOLEAN,
            "remission",
            "TRD: the latest total of that scale within its remission threshold ("
            + ", ".join(
                f"{instrument(s.code).short_name} {s.remission_at_most} or less"
                for s in OUTCOMES.scales
            )
            + "); no such series matches neither true nor false.",
            EVERYONE,
            label="Remission",
            group=Group.FOLLOW_UP,
        ),
        Field(
            "failed_adequate_trials",
            FieldType.INTEGER,
            "failed_adequate_trials",
            "TRD: distinct treatments (antidepressant, augmentation or combination) that "
            "failed at an adequate dose, duration and adherence in the current episode, "
            "under the registry's configured definition (EU-PEARL 2022 by default); a drug "
            "tried twice counts once.",
            EVERYONE,
            minimum=0,
            maximum=MAX_FAILED_TRIALS,
            label="Failed adequate treatments",
            group=Group.TREATMENT_HISTORY,
        ),
        Field(
            "maudsley_staging_score",
            FieldType.INTEGER,
            "msm_score",
            "TRD: Maudsley Staging Method score (3-15: mild 3-6, moderate 7-10, severe "
            "11-15), staged at the latest depression rating; absent when a part of it is "
            "not recorded. Psychotic features are not recorded, so severity scores at most 4.",
            EVERYONE,
            minimum=MAUDSLEY_RANGE[0],
            maximum=MAUDSLEY_RANGE[1],
            label="Maudsley Staging Method score",
            group=Group.TREATMENT_HISTORY,
        ),
        Field(
            "months_since_onset",
            FieldType.INTEGER,
            "psychosis_onset",
            "EP: whole months from the month of psychosis onset to today.",
            EVERYONE,
            derivation=Derivation.WHOLE_MONTHS_SINCE,
            minimum=0,
            maximum=MAX_ELAPSED_MONTHS,
            label="Months since psychosis onset",
            group=Group.DIAGNOSIS,
        ),
        Field(
            "episode_months",
            FieldType.INTEGER,
            "episode_start",
            "TRD: whole months from the month the current episode started to today.",
            EVERYONE,
            derivation=Derivation.WHOLE_MONTHS_SINCE,
            minimum=0,
            maximum=MAX_ELAPSED_MONTHS,
            label="Months in the current episode",
            group=Group.DIAGNOSIS,
        ),
        Field(
            "enrolled_on",
            FieldType.DATE,
            "enrolled_on",
            "Date of enrolment (YYYY-MM-DD).",
            STAFF,
            label="Date of enrolment",
            group=Group.FOLLOW_UP,
        ),
    ]
    fields += [
        Field(
            f"followup.{key}",
            FieldType.CODE,
            FOLLOWUP_COLUMNS[key],
            _followup_description(key),
            EVERYONE,
            values=VISIT_STATES,
            label=f"Follow-up visit at {SCHEDULE.label(key).lower()}",
            group=Group.FOLLOW_UP,
            value_labels=tuple(VISIT_STATE_LABELS[state] for state in VISIT_STATES),
        )
        for key in SCHEDULE.visit_keys()
    ]
    fields += [
        Field(
            f"consent.{item}", FieldType.BOOLEAN, f"consent_{item}",
            f"Current consent: {CONSENT_ITEM_TEXT[item]}", EVERYONE,
            label=f"Consent: {CONSENT_ITEM_TEXT[item]}", group=Group.CONSENT,
        )
        for item in CONSENT_ITEMS
    ]  # fmt: skip
    return tuple(fields)


EN_DASH = " \N{EN DASH} "
VISIT_STATE_LABELS = {
    COMPLETE: "Complete (every scale in its window)",
    PARTIAL: "Partly complete",
    NONE: "Not done",
}


def _with_code(label: str, code: str) -> str:
    """A coded value's label with its code, so both readers find it: "White - British (A)",
    the dash an en dash as in print."""
    return f"{label.replace(' - ', EN_DASH)} ({code})"


def _latest_score_description(scale: Instrument) -> str:
    if scale.risk_levels:  # a category, not a sum: say what each level is
        levels = ", ".join(f"{band.lower} {band.label}" for band in scale.bands)
        return f"Risk level of the latest {scale.short_name} ({scale.name}): {levels}."
    return f"Total of the latest {scale.short_name} ({scale.name})."


def _followup_description(key: str) -> str:
    cohorts = [
        f"{protocol.cohort} ({', '.join(instrument(code).short_name for code in visit.scales)})"
        for protocol in SCHEDULE.protocols.values()
        for visit in protocol.visits
        if visit.visit == key
    ]
    return (
        f"Follow-up visit at {SCHEDULE.label(key).lower()} (schedule {SCHEDULE.version}): "
        "complete when every scale it lists was recorded within its window, partial when "
        f"some were, none when none were (so far); for {' and '.join(cohorts)}; unknown "
        "for a cohort without this visit."
    )


@cache
def catalogue() -> dict[str, Field]:
    """Every field by name, in catalogue order."""
    fields = {field.name: field for field in _fields()}
    assert all(f.label for f in fields.values()), "every field has a label"
    return fields


def catalogue_for(role: Role | str) -> dict[str, Any]:
    """The fields a role may use, JSON-ready, for ``GET /eligibility/fields``."""
    allowed = Role(role)
    return {
        "version": CATALOGUE_VERSION,
        "operators": list(ALL_OPERATORS),
        "fields": [field.as_json() for field in catalogue().values() if allowed in field.roles],
    }
