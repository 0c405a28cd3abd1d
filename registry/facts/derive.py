"""The per-participant facts row: what eligibility queries and reports read.

Every action that changes something a fact derives from announces it on
``registry.signals.records_changed``, and ``refresh_facts`` receives that in the action's
own transaction, so the row is never stale. Bulk enrolment builds the same row through
``facts_values`` without reading back what it has just written; bulk loads of clinical
records (the demo seed) refresh many rows at once with ``refresh_facts_for``.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from sqlalchemy import insert, select, update

from registry.assessments.models import Assessment
from registry.assessments.outcomes import Rating
from registry.assessments.treatment import (
    NO_TRIALS,
    TreatmentFacts,
    current_definition,
    treatment_facts,
    treatment_facts_of,
)
from registry.consents.items import CONSENT_ITEMS, CONTACT_ITEM, REQUIRED_ITEMS
from registry.consents.models import ConsentItemEvent
from registry.db import session
from registry.facts.followup import followup_columns
from registry.facts.outcomes import latest_totals, outcome_columns, ratings_of
from registry.participants.models import (
    SEALED_COLUMNS,
    STATUS_ACTIVE,
    Participant,
    ParticipantFacts,
)
from registry.signals import records_changed

# Instrument code -> facts column holding its latest total.
SCORE_COLUMNS = {
    "PHQ9": "score_phq9",
    "GAD7": "score_gad7",
    "MADRS": "score_madrs",
    "HAMD17": "score_hamd17",
    "QIDS_SR16": "score_qids_sr16",
    "PANSS": "score_panss",
    "BPRS": "score_bprs",
    "CGI_S": "score_cgi_s",
    "SOFAS": "score_sofas",
    "PSP": "score_psp",
    "CGI_I": "score_cgi_i",
    "CDSS": "score_cdss",
    "CSSRS_SCREEN": "score_cssrs_screen",
}
_COPIED = (
    "cohort",
    "site_id",
    "sex",
    "gender_identity",
    "ethnicity",
    "ethnicity_group",
    "postcode_district",
    "imd_decile",
    "imd_version",
    "diagnosis_icd10",
    "enrolled_on",
    "psychosis_onset",
    "episode_start",
)


def facts_values(
    participant: Mapping[str, Any],
    *,
    consent: Mapping[str, bool],
    latest_scores: Mapping[str, int],
    treatment: TreatmentFacts = NO_TRIALS,
    ratings: Sequence[Rating] = (),
) -> dict[str, Any]:
    """The facts row for a participant given as a mapping of their column values;
    ``ratings``, their assessments oldest first, give response and remission."""
    year, month = participant.get("birth_year"), participant.get("birth_month")
    values: dict[str, Any] = {name: participant.get(name) for name in _COPIED}
    values["participant_pk"] = participant["id"]
    values["birth_month_start"] = dt.date(year, month, 1) if year and month else None
    for code, column in SCORE_COLUMNS.items():
        values[column] = latest_scores.get(code)
    values.update(outcome_columns(participant, ratings))
    values.update(followup_columns(participant, ratings))
    values |= treatment.columns(current_definition())
    for item in CONSENT_ITEMS:
        values[f"consent_{item}"] = bool(consent.get(item, False))
    values["contactable"] = (
        participant.get("status", STATUS_ACTIVE) == STATUS_ACTIVE
        and participant.get("withdrawal_level") is None
        and all(consent.get(item, False) for item in REQUIRED_ITEMS)
        and bool(consent.get(CONTACT_ITEM, False))
    )
    return values


def current_consent(participant_pk: int) -> dict[str, bool]:
    return current_consents([participant_pk])[participant_pk]


def current_consents(participant_pks: Sequence[int]) -> dict[int, dict[str, bool]]:
    """Each participant's latest answer to each item (events are append-only; the highest
    id is the latest), for a page of participants in one query."""
    consents: dict[int, dict[str, bool]] = {pk: {} for pk in participant_pks}
    rows = session().execute(
        select(ConsentItemEvent.participant_pk, ConsentItemEvent.item, ConsentItemEvent.granted)
        .where(ConsentItemEvent.participant_pk.in_(consents))
        .order_by(ConsentItemEvent.id)
    )
    for pk, item, granted in rows:
        consents[pk][item] = granted
    return consents


def latest_scores_of(participant_pks: Sequence[int]) -> dict[int, dict[str, Assessment]]:
    """Each participant's most recent assessment per instrument, by administered_on (then
    by entry order), for a page of participants in one query."""
    latest: dict[int, dict[str, Assessment]] = {pk: {} for pk in participant_pks}
    assessments = session().scalars(
        select(Assessment)
        .where(Assessment.participant_pk.in_(latest), Assessment.voided_at.is_(None))
        .order_by(Assessment.administered_on, Assessment.id)
    )
    for assessment in assessments:
        latest[assessment.participant_pk][assessment.instrument] = assessment
    return latest


@records_changed.connect
def refresh_facts(participant: Participant) -> ParticipantFacts:
    """Recompute the participant's facts row from their records, in this transaction."""
    db = session()
    ratings = ratings_of([participant.id])[participant.id]
    values = facts_values(
        {column.key: getattr(participant, column.key) for column in Participant.__table__.c},
        consent=current_consent(participant.id),
        latest_scores=latest_totals(ratings),
        treatment=treatment_facts(participant),
        ratings=ratings,
    )
    facts = db.get(ParticipantFacts, participant.id)
    if facts is None:
        facts = ParticipantFacts(**values)
        db.add(facts)
    else:
        for name, value in values.items():
            setattr(facts, name, value)
    db.flush()
    return facts


# Participants per query in refresh_facts_for: keeps IN lists well inside SQLite's limit.
_REFRESH_CHUNK = 1000


def refresh_facts_for(participant_pks: Collection[int]) -> int:
    """Recompute many participants' facts rows, in this transaction, with a few queries per
    thousand participants; returns how many participants were refreshed.

    The same rules as ``refresh_facts``: each item's latest consent event, each
    instrument's latest assessment (by administered_on, then entry order), and the trials
    that count as failed under the current definition (distinct treatments), and the
    Maudsley Staging Method score (``registry.assessments.treatment``).
    """
    pks = sorted(set(participant_pks))
    for start in range(0, len(pks), _REFRESH_CHUNK):
        _refresh_chunk(pks[start : start + _REFRESH_CHUNK])
    return len(pks)


def _refresh_chunk(pks: list[int]) -> None:
    # Plain rows (no ORM entities), read through the session's connection: thousands per call.
    db = session().connection()
    # Ciphertext is no fact: leave the sealed columns in the database.
    columns = [c for c in Participant.__table__.c if c.key not in SEALED_COLUMNS]
    participants = [
        dict(row) for row in db.execute(select(*columns).where(Participant.id.in_(pks))).mappings()
    ]

    consent: dict[int, dict[str, bool]] = defaultdict(dict)
    for pk, item, granted in db.execute(
        select(ConsentItemEvent.participant_pk, ConsentItemEvent.item, ConsentItemEvent.granted)
        .where(ConsentItemEvent.participant_pk.in_(pks))
        .order_by(ConsentItemEvent.id)
    ):
        consent[pk][item] = granted

    ratings = ratings_of(pks)

    treatment = treatment_facts_of({p["id"]: p["episode_start"] for p in participants})

    _write_facts(
        [
            facts_values(
                participant,
                consent=consent[participant["id"]],
                latest_scores=latest_totals(ratings[participant["id"]]),
                treatment=treatment[participant["id"]],
                ratings=ratings[participant["id"]],
            )
            for participant in participants
        ]
    )


def _write_facts(rows: list[dict[str, Any]]) -> None:
    """Store computed facts rows, writing only the columns that changed.

    A bulk refresh usually changes a column or two of each row (a new score), so this is
    cheaper than rewriting whole rows; rows with the same changed columns go together.
    """
    db = session()
    table = ParticipantFacts.__table__
    pks = [row["participant_pk"] for row in rows]
    stored = {
        row["participant_pk"]: row
        for row in db.connection()
        .execute(select(table).where(table.c.participant_pk.in_(pks)))
        .mappings()
    }
    missing = []
    changes: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        current = stored.get(row["participant_pk"])
        if current is None:
            missing.append(row)
            continue
        changed = {name: value for name, value in row.items() if current[name] != value}
        if changed:
            changes[tuple(sorted(changed))].append(
                {"participant_pk": row["participant_pk"], **changed}
            )
    for group in changes.values():
        db.execute(update(ParticipantFacts), group)  # by primary key, one executemany each
    if missing:
        db.execute(insert(ParticipantFacts).execution_options(render_nulls=True), missing)
