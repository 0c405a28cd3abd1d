"""What an extract may hold: the exportable variables, table by table, and their columns.

A grant approves a subset of these by key (``participants.sex``); only the columns of the
approved variables are written, after the key column ``pseudonym``. Nothing here is a
direct identifier: no name, NHS number, full date of birth, postcode (not even the
district: with a birth month and a diagnosis it narrows people too far), email, phone or
free text. The registry id and database keys never leave either: rows are keyed by the
study pseudonym.
"""

from __future__ import annotations

from dataclasses import dataclass

from registry.consents.items import CONSENT_ITEM_TEXT, CONSENT_ITEMS

CATALOGUE_VERSION = "2026-12"  # 2026-12: participants.outcomes (issue #19)

# Column kinds, as the data dictionary and the Parquet schema name them.
TEXT = "text"
INTEGER = "integer"
BOOLEAN = "boolean"
DATE = "date"
INTEGERS = "integers"
NUMBER = "number"

KEY_COLUMN = "pseudonym"
KEY_DESCRIPTION = (
    "The participant's pseudonym in this study: the same in every extract of the study, "
    "different in every other study's; never the registry id."
)


@dataclass(frozen=True)
class ExportColumn:
    name: str
    kind: str
    description: str


@dataclass(frozen=True)
class Variable:
    table: str
    name: str
    description: str
    columns: tuple[ExportColumn, ...]

    @property
    def key(self) -> str:
        return f"{self.table}.{self.name}"


@dataclass(frozen=True)
class Table:
    name: str
    description: str
    variables: tuple[Variable, ...]


def _variable(table: str, name: str, description: str, *columns: ExportColumn) -> Variable:
    return Variable(table, name, description, columns)


def _column(name: str, kind: str, description: str) -> ExportColumn:
    return ExportColumn(name, kind, description)


_P, _A, _T, _C = "participants", "assessments", "treatment_trials", "consent"

TABLES: tuple[Table, ...] = (
    Table(
        _P,
        "One row per participant in the extract.",
        (
            _variable(_P, "cohort", "Cohort", _column("cohort", TEXT, "EP or TRD")),
            _variable(
                _P,
                "birth_month",
                "Month of birth (generalised by the grant's date policy)",
                _column("birth_month", DATE, "Month of birth; the day carries no information"),
            ),
            _variable(
                _P,
                "age_band",
                "Age band at enrolment (census bands)",
                _column("age_band_at_enrolment", TEXT, "e.g. 25-34; from the birth month"),
            ),
            _variable(_P, "sex", "Sex", _column("sex", TEXT, "female, male or not_stated")),
            _variable(
                _P,
                "gender_identity",
                "Gender identity",
                _column("gender_identity", TEXT, "MHSDS code: 1, 2, 3, 4, Z not stated, X"),
            ),
            _variable(
                _P,
                "ethnicity",
                "Ethnic category",
                _column("ethnicity", TEXT, "NHS Data Dictionary code; Z not stated, 99 not known"),
            ),
            _variable(
                _P,
                "ethnicity_group",
                "ONS 2021 ethnic group",
                _column("ethnicity_group", TEXT, "asian, black, mixed, white, other, ..."),
            ),
            _variable(
                _P,
                "imd",
                "Index of Multiple Deprivation decile and its version",
                _column("imd_decile", INTEGER, "1 most deprived to 10; empty if unknown"),
                _column("imd_version", TEXT, "IoD2019 or IoD2025: not comparable"),
            ),
            _variable(
                _P,
                "diagnosis",
                "Diagnosis",
                _column("diagnosis_icd10", TEXT, "ICD-10 code"),
            ),
            _variable(
                _P,
                "psychosis_onset",
                "EP: month of psychosis onset",
                _column("psychosis_onset", DATE, "Month precision at source"),
            ),
            _variable(
                _P,
                "dup_weeks",
                "EP: duration of untreated psychosis",
                _column("dup_weeks", INTEGER, "Weeks"),
            ),
            _variable(
                _P,
                "episode_start",
                "TRD: month the current episode started",
                _column("episode_start", DATE, "Month precision at source"),
            ),
            _variable(
                _P,
                "enrolled",
                "When the participant was enrolled",
                _column("enrolled_on", DATE, "Enrolment date, generalised"),
            ),
            _variable(
                _P,
                "withdrawal",
                "Withdrawal level and when (full withdrawals are never exported)",
                _column(
                    "withdrawal_level",
                    TEXT,
                    "empty, no_further_contact, or no_further_data (nothing collected after)",
                ),
                _column("withdrawn_on", DATE, "When the withdrawal took effect, generalised"),
            ),
            _variable(
                _P,
                "outcomes",
                "TRD: response and remission over time, by the registry's versioned definitions",
                _column(
                    "outcome_scale",
                    TEXT,
                    "The scale compared: the first of MADRS, HAMD17, QIDS_SR16, PHQ9 with a "
                    "baseline and a later assessment; empty if none has",
                ),
                _column(
                    "outcome_baseline_total",
                    INTEGER,
                    "Baseline: its first total on or after the current episode's start",
                ),
                _column("outcome_baseline_on", DATE, "When the baseline was taken, generalised"),
                _column("outcome_latest_total", INTEGER, "Its latest total after the baseline"),
                _column("outcome_latest_on", DATE, "When the latest was taken, generalised"),
                _column(
                    "response",
                    BOOLEAN,
                    "Latest total at least 50% below baseline; empty if it cannot be known",
                ),
                _column(
                    "remission",
                    BOOLEAN,
                    "Latest total within the scale's remission threshold (MADRS <= 10, "
                    "HAMD17 <= 7, QIDS_SR16 <= 5, PHQ9 < 5); empty if it cannot be known",
                ),
                _column(
                    "outcome_definitions",
                    TEXT,
                    "Version of the definitions used; empty for EP (none derived)",
                ),
            ),
        ),
    ),
    Table(
        _A,
        "One row per rating-scale assessment.",
        (
            _variable(
                _A,
                "instrument",
                "Which scale, and the version of its scoring facts",
                _column("instrument", TEXT, "PHQ9, GAD7, MADRS, HAMD17, QIDS_SR16, PANSS, ..."),
                _column("scale_version", TEXT, "Version of the registry's scale definition"),
            ),
            _variable(
                _A,
                "administered_on",
                "When it was administered",
                _column("administered_on", DATE, "Generalised"),
            ),
            _variable(_A, "total", "Total score", _column("total", INTEGER, "Total score")),
            _variable(_A, "band", "Severity band", _column("band", TEXT, "e.g. moderate")),
            _variable(
                _A,
                "items",
                "Item scores",
                _column("items", INTEGERS, "Item scores in item order; empty if only a total"),
            ),
        ),
    ),
    Table(
        _T,
        "One row per treatment trial in the current episode (TRD): a drug, a drug added to "
        "another, ECT, rTMS or a psychological therapy.",
        (
            _variable(
                _T,
                "drug",
                "Drug",
                _column(
                    "drug",
                    TEXT,
                    "Generic name on the registry's drug list (lower case); empty for a "
                    "non-drug treatment; a trial from before the list keeps its typed name",
                ),
            ),
            _variable(
                _T,
                "drug_code",
                "Drug code and class",
                _column("drug_code", TEXT, "dm+d virtual therapeutic moiety (VTM) code"),
                _column("bnf_section", TEXT, "BNF section, e.g. 4.3.3 (SSRIs)"),
                _column("drug_list_version", TEXT, "Version of the registry's drug list"),
            ),
            _variable(
                _T,
                "modality",
                "Kind of treatment",
                _column(
                    "modality",
                    TEXT,
                    "antidepressant, augmentation, combination, ect, rtms, "
                    "other_neurostimulation or psychological_therapy",
                ),
            ),
            _variable(
                _T,
                "dose",
                "Dose",
                _column("dose", NUMBER, "Daily dose of a drug, or the number of sessions"),
                _column("dose_unit", TEXT, "mg, microgram or sessions"),
            ),
            _variable(
                _T,
                "started_on",
                "When the trial started",
                _column("started_on", DATE, "Month precision at source"),
            ),
            _variable(
                _T,
                "ended_on",
                "When the trial ended",
                _column("ended_on", DATE, "Month precision at source; empty if still taken"),
            ),
            _variable(
                _T,
                "adequate_dose",
                "Adequate dose",
                _column("adequate_dose", BOOLEAN, "true or false"),
            ),
            _variable(_T, "weeks", "Duration", _column("weeks", INTEGER, "Weeks")),
            _variable(
                _T,
                "adherence",
                "Adherence",
                _column("adherence", TEXT, "adequate, partial, poor or unknown"),
            ),
            _variable(
                _T,
                "outcome",
                "Outcome",
                _column("outcome", TEXT, "response, partial_response, non_response or intolerance"),
            ),
            _variable(
                _T,
                "response_percent",
                "Improvement",
                _column("response_percent", INTEGER, "Improvement from baseline, %"),
            ),
            _variable(
                _T,
                "stop_reason",
                "Reason for stopping",
                _column(
                    "stop_reason",
                    TEXT,
                    "not_stopped, ineffective, side_effects, course_completed, "
                    "patient_choice or other",
                ),
            ),
            _variable(
                _T,
                "not_recovered",
                "What a trial recorded before the coded history lacks",
                _column(
                    "not_recovered",
                    TEXT,
                    "Fields the old record could not give, space-separated; empty otherwise",
                ),
            ),
        ),
    ),
    Table(
        _C,
        "One row per participant: their consent as it stands (or stood at a withdrawal).",
        (
            _variable(
                _C,
                "items",
                "Current answer to each consent item",
                *(
                    _column(f"consent_{item}", BOOLEAN, CONSENT_ITEM_TEXT[item])
                    for item in CONSENT_ITEMS
                ),
            ),
            _variable(
                _C,
                "form_version",
                "Consent-form version last signed",
                _column("form_version", TEXT, "e.g. TRD-PIS-2.0"),
            ),
            _variable(
                _C,
                "signed_on",
                "When consent was last signed",
                _column("signed_on", DATE, "Generalised"),
            ),
        ),
    ),
)

TABLE_NAMES = tuple(table.name for table in TABLES)
VARIABLES: dict[str, Variable] = {
    variable.key: variable for table in TABLES for variable in table.variables
}


def approved_columns(table: Table, approved: set[str] | frozenset[str]) -> list[ExportColumn]:
    """The columns of ``table`` an extract under these approved variables writes, in
    catalogue order, after the key; empty when none of its variables is approved."""
    columns = [
        column
        for variable in table.variables
        if variable.key in approved
        for column in variable.columns
    ]
    if not columns:
        return []
    return [ExportColumn(KEY_COLUMN, TEXT, KEY_DESCRIPTION), *columns]


def catalogue_view() -> dict[str, object]:
    """The catalogue as the API lists it, for admins writing a grant."""
    return {
        "version": CATALOGUE_VERSION,
        "tables": [
            {
                "name": table.name,
                "description": table.description,
                "variables": [
                    {
                        "key": variable.key,
                        "description": variable.description,
                        "columns": [column.name for column in variable.columns],
                    }
                    for variable in table.variables
                ],
            }
            for table in TABLES
        ],
    }
