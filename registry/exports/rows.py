"""A grant's participants as rows, a page at a time: how a researcher on the grant sees
participants row by row through the API (``GET /participants?grant=…``,
``POST /eligibility/participants``), as they do in its extract and FHIR Bundle.

Nothing is decided here again. Who is in it (the grant's cohorts and consent items, never
W3), their order (the study pseudonym's), the columns (the approved variables of the
extract's two one-row-per-participant tables, ``participants`` and ``consent``), the
generalised dates, the W2 cut-off and the values all come from the extract's own code, so
a row is exactly that participant's row in an extract made now, joined on the pseudonym:
keyed by the study pseudonym, never the registry id. Per-record tables (assessments,
treatment trials) are in the extract and the FHIR Bundle.

A page may be narrowed (a cohort, eligibility criteria), but only on what the grant's
variables already show: selecting on anything else would tell the researcher, pseudonym by
pseudonym, what the grant withholds (who lives in B15, who is at which site).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select

from registry.exports.catalogue import KEY_COLUMN, TABLES, ExportColumn, approved_columns
from registry.exports.extract import BUILDERS, needs_signings, projection
from registry.exports.models import DATE_MONTH, DataAccessGrant
from registry.exports.pseudonymise import StudyView
from registry.exports.queries import OutputOrder, required_consent_items, subjects_in_order

ROW_TABLES = ("participants", "consent")
GRANT_REQUIRED = (
    "Researchers see participants only under a data-access grant that names them: give "
    "its id (GET /api/v1/grants lists yours)."
)
WITHHELD = "This grant's variables do not show this, so rows cannot be chosen by it."

# What the count reads: distinct treatments (drug, modality) that failed, by dose, duration,
# adherence and outcome or improvement, started in the current episode.
_FAILED_TRIALS_SHOWN_BY = frozenset(
    {
        "treatment_trials.drug",
        "treatment_trials.modality",
        "treatment_trials.started_on",
        "treatment_trials.adequate_dose",
        "treatment_trials.weeks",
        "treatment_trials.adherence",
        "treatment_trials.outcome",
        "treatment_trials.response_percent",
        "participants.episode_start",
    }
)
# Eligibility fields, and the approved variables that already show each one's value (any
# one set of them will do). Absent: never shown by any grant (site, postcode district, the
# exact enrolment date), so never selectable.
_SHOWN_BY: dict[str, tuple[frozenset[str], ...]] = {
    "cohort": (frozenset({"participants.cohort"}),),
    "age": (frozenset({"participants.birth_month"}),),
    "sex": (frozenset({"participants.sex"}),),
    "gender_identity": (frozenset({"participants.gender_identity"}),),
    "ethnicity": (frozenset({"participants.ethnicity"}),),
    "ethnicity_group": (
        frozenset({"participants.ethnicity_group"}),
        frozenset({"participants.ethnicity"}),
    ),
    "imd_decile": (frozenset({"participants.imd"}),),
    "diagnosis_icd10": (frozenset({"participants.diagnosis"}),),
    "failed_adequate_trials": (_FAILED_TRIALS_SHOWN_BY,),
    "maudsley_staging_score": (
        _FAILED_TRIALS_SHOWN_BY
        | {"assessments.instrument", "assessments.administered_on", "assessments.total"},
    ),
    "response": (frozenset({"participants.outcomes"}),),
    "remission": (frozenset({"participants.outcomes"}),),
    "months_since_onset": (frozenset({"participants.psychosis_onset"}),),
    "episode_months": (frozenset({"participants.episode_start"}),),
}
_LATEST_SCORE = (frozenset({"assessments.instrument", "assessments.total"}),)
_CONSENT = (frozenset({"consent.items"}),)
# Counted to today from a month: the month policy shows that month, but under the shift
# policy selecting on them would give away the true month behind a shifted date.
_FROM_MONTHS = frozenset({"age", "months_since_onset", "episode_months"})


def withheld_from(grant: DataAccessGrant, field: str) -> str | None:
    """Why rows under ``grant`` cannot be chosen by the eligibility field ``field`` (the
    message for the field's place), or None when the grant already shows it."""
    approved = frozenset(grant.variables)
    if field == "cohort" and len(grant.cohorts) == 1:
        return None  # everyone under the grant is in that cohort
    if field.startswith("consent.") and field.partition(".")[2] in required_consent_items(grant):
        return None  # everyone under the grant has granted it
    shown_by: tuple[frozenset[str], ...]
    if field.startswith("latest_score."):
        shown_by = _LATEST_SCORE
    elif field.startswith("consent."):
        shown_by = _CONSENT
    else:
        shown_by = _SHOWN_BY.get(field, ())
    if field in _FROM_MONTHS and grant.date_policy != DATE_MONTH:
        shown_by = ()
    return None if any(needed <= approved for needed in shown_by) else WITHHELD


def row_columns(grant: DataAccessGrant) -> dict[str, list[ExportColumn]]:
    """The approved columns of each one-row-per-participant table, after the key."""
    approved = frozenset(grant.variables)
    return {
        table.name: approved_columns(table, approved)
        for table in TABLES
        if table.name in ROW_TABLES
    }


@dataclass(frozen=True)
class RowPage:
    items: list[dict[str, Any]]  # pseudonym and the approved columns, in pseudonym order
    total: int  # everyone the grant (and the narrowing) holds, on every page


def participant_rows(
    grant: DataAccessGrant, *, page: int, per_page: int, within: Select[Any] | None = None
) -> RowPage:
    """Page ``page`` of the grant's participants as rows; only those whose participant pk
    ``within`` selects, when given."""
    view = StudyView(grant)
    subjects = subjects_in_order(grant, view.pseudonym, within=within)
    chosen = subjects[(page - 1) * per_page : page * per_page]
    if not chosen:
        return RowPage([], len(subjects))  # an empty page asks nothing more of the database
    columns = row_columns(grant)
    plans = [
        (BUILDERS[name], projection(name, table_columns), [c.name for c in table_columns])
        for name, table_columns in columns.items()
        if table_columns
    ]
    keys = [(subject.pseudonym, view.shift(subject.participant_id)) for subject in chosen]
    items = []
    with OutputOrder([subject.pk for subject in chosen]) as order:
        # The grant's conditions are applied again here: anyone who left since is not shown.
        for chunk in order.participants(grant, with_records=needs_signings(columns)):
            for row in chunk:
                item: dict[str, Any] = {KEY_COLUMN: keys[row.position][0]}
                for build, project, names in plans:
                    item.update(zip(names, project(build(row, keys, view.date)), strict=True))
                items.append(item)
    return RowPage(items, len(subjects))
