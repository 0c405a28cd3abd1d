"""Enrolling participants, one or a batch.

One path enrols everyone: the API, the web form, the CSV import and the demo seed all
come through ``enrol_batch``, which checks what needs the database (site, consent-form
version, duplicates) and writes each participant whole (identity, data key, blind index,
consent, facts and audit event) with bulk inserts: one INSERT per table per batch. Input has
already been loaded through ``enrolment.schemas.EnrolmentArgs`` into ``Enrol`` commands.
The caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import InstrumentedAttribute

from registry import clock
from registry.audit.actions import Actor, AuditEntry
from registry.audit.actions import record_events as record_audit_events
from registry.auth.models import Site
from registry.consents.actions import consent_record_values
from registry.consents.models import ConsentForm, ConsentItemEvent, ConsentRecord
from registry.db import Base, session, table_of
from registry.enrolment.commands import Enrol
from registry.errors import DuplicateParticipant, ValidationFailed
from registry.facts.derive import facts_values
from registry.participants.commands import ClinicalDetails
from registry.participants.identity import (
    SealedIdentity,
    enrolled_among,
    lock_index_values,
    new_participant_id,
    nhs_number_index,
)
from registry.participants.models import (
    NhsNumberIndex,
    Participant,
    ParticipantFacts,
    ParticipantKey,
)
from registry.participants.reference import reference

DUPLICATE = "duplicate_participant"
SITE_INACTIVE = "Site {code} has been deactivated: it enrols no one. Ask an administrator."


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why one enrolment of a batch was not made."""

    code: str
    message: str
    fields: dict[str, list[str]] = field(default_factory=dict)

    def error(self) -> DuplicateParticipant | ValidationFailed:
        if self.code == DUPLICATE:
            return DuplicateParticipant()
        return ValidationFailed(self.fields, self.message)


def enrol_participant(enrolment: Enrol, *, by: Actor, own_site: Site | None) -> Participant:
    """Enrol one person; ValidationFailed, or DuplicateParticipant."""
    (outcome,) = enrol_batch([enrolment], by=by, own_site=own_site)
    if isinstance(outcome, Refusal):
        raise outcome.error()
    participant = session().get(Participant, outcome)
    assert participant is not None  # inserted in this transaction
    return participant


def enrol_batch(
    enrolments: Sequence[Enrol],
    *,
    by: Actor,
    own_site: Site | None,
    enrolled_on: dt.date | None = None,
) -> list[int | Refusal]:
    """Enrol loaded enrolments; for each, the new participant's primary key or a Refusal.

    ``own_site``: the clinician's site, the only one they may enrol at (None for the
    command line, which may name any site). Nothing is written for a refused enrolment.
    """
    db = session()
    today = enrolled_on or clock.today()
    sites = _sites_by_code({e.site for e in enrolments if e.site})
    forms = _forms_by_version({(e.cohort, e.consent.form_version) for e in enrolments})

    outcomes: list[int | Refusal | None] = []
    for enrolment in enrolments:
        refusal = _check_against_registry(enrolment, sites, forms, own_site)
        outcomes.append(refusal)

    # Duplicates: lock every index value in the batch, then look for each number.
    wanted = {
        i: enrolment.nhs_number for i, enrolment in enumerate(enrolments) if outcomes[i] is None
    }
    lock_index_values(nhs_number_index(number)[0] for number in wanted.values())
    already = enrolled_among(set(wanted.values()))
    seen: set[str] = set()
    for i, number in wanted.items():
        if number in already or number in seen:
            outcomes[i] = Refusal(DUPLICATE, DuplicateParticipant.message)
        seen.add(number)

    accepted = [i for i, outcome in enumerate(outcomes) if outcome is None]
    if accepted:
        pks = _insert([enrolments[i] for i in accepted], sites, forms, own_site, by=by, today=today)
        for i, pk in zip(accepted, pks, strict=True):
            outcomes[i] = pk
    db.flush()
    return [outcome for outcome in outcomes if outcome is not None]


def _sites_by_code(codes: set[str]) -> dict[str, Site]:
    if not codes:
        return {}
    return {site.code: site for site in session().scalars(select(Site).where(Site.code.in_(codes)))}


def _forms_by_version(pairs: set[tuple[str, str]]) -> dict[tuple[str, str], ConsentForm]:
    versions = {version for _, version in pairs}
    rows = session().scalars(select(ConsentForm).where(ConsentForm.version.in_(versions)))
    return {(form.cohort, form.version): form for form in rows}


def _check_against_registry(
    enrolment: Enrol,
    sites: Mapping[str, Site],
    forms: Mapping[tuple[str, str], ConsentForm],
    own_site: Site | None,
) -> Refusal | None:
    problems: dict[str, list[str]] = {}
    code = enrolment.site
    if own_site is not None and code is not None and code != own_site.code:
        problems["site"] = [f"You can enrol only at your own site, {own_site.code}."]
    elif own_site is None and code is None:
        problems["site"] = ["Give the site code."]
    elif code is not None and code not in sites:
        problems["site"] = ["There is no site with this code."]
    else:
        site = sites[code] if code is not None else own_site
        if site is not None and not site.is_active:
            problems["site"] = [SITE_INACTIVE.format(code=site.code)]
    consent = enrolment.consent
    cohort = enrolment.cohort
    form = forms.get((cohort, consent.form_version))
    if form is None:
        problems["consent.form_version"] = [f"There is no {cohort} consent form of this version."]
    elif consent.signed_on < form.effective_on:
        problems["consent.signed_on"] = [
            f"Version {form.version} was not in use until "
            f"{form.effective_on.day} {form.effective_on:%B %Y}."
        ]
    if problems:
        return Refusal("validation_error", "Some of the information given is not valid.", problems)
    return None


def _insert(
    enrolments: Sequence[Enrol],
    sites: Mapping[str, Site],
    forms: Mapping[tuple[str, str], ConsentForm],
    own_site: Site | None,
    *,
    by: Actor,
    today: dt.date,
) -> list[int]:
    participants: list[dict[str, Any]] = []
    sealed: list[SealedIdentity] = []
    for enrolment in enrolments:
        identity = SealedIdentity.seal(enrolment.identity(new_participant_id()))
        sealed.append(identity)
        site = own_site if enrolment.site is None else sites[enrolment.site]
        assert site is not None  # _check_against_registry refused it otherwise
        participants.append(
            {
                "participant_id": identity.participant_id,
                **participant_columns(enrolment, site_id=site.id, enrolled_on=today),
                "enrolled_by_id": by.user_id,
                **identity.columns,
            }
        )
    pks = _insert_with_ids(Participant, participants, key=Participant.participant_id)
    _insert_all(
        ParticipantKey,
        [{"participant_pk": pk, **s.key_row} for pk, s in zip(pks, sealed, strict=True)],
    )
    index_rows = []
    for pk, enrolment in zip(pks, enrolments, strict=True):
        value, bits = nhs_number_index(enrolment.nhs_number)
        index_rows.append({"participant_pk": pk, "index_value": value, "bits": bits})
    _insert_all(NhsNumberIndex, index_rows)

    records = [
        consent_record_values(
            participant_pk=pk,
            participant_id=s.participant_id,
            cipher=s.cipher,
            form=forms[(enrolment.cohort, enrolment.consent.form_version)],
            signed_on=enrolment.consent.signed_on,
            capacity=enrolment.consent.capacity,
            consultee=enrolment.consent.consultee,
            kind="enrolment",
            by=by,
        )
        for pk, s, enrolment in zip(pks, sealed, enrolments, strict=True)
    ]
    answers = [enrolment.consent.items.by_item() for enrolment in enrolments]
    # Each new participant has exactly one record so far: their enrolment.
    record_ids = _insert_with_ids(ConsentRecord, records, key=ConsentRecord.participant_pk)
    _insert_all(
        ConsentItemEvent,
        [
            {"record_id": record_id, "participant_pk": pk, "item": item, "granted": granted}
            for pk, record_id, items in zip(pks, record_ids, answers, strict=True)
            for item, granted in items.items()
        ],
    )
    _insert_all(
        ParticipantFacts,
        [
            facts_values(
                {"id": pk, **row},
                consent=items,
                latest_scores={},
            )
            for pk, row, items in zip(pks, participants, answers, strict=True)
        ],
    )
    record_audit_events(
        [
            AuditEntry(
                "participant.enrol",
                target_type="participant",
                target_id=row["participant_id"],
                participant_id=row["participant_id"],
                details={
                    "cohort": row["cohort"],
                    "site_id": row["site_id"],
                    "consent_form": enrolment.consent.form_version,
                    "capacity": enrolment.consent.capacity,
                },
            )
            for row, enrolment in zip(participants, enrolments, strict=True)
        ],
        by=by,
    )
    return pks


def _insert_all(model: type[Base], rows: Sequence[Mapping[str, Any]]) -> None:
    """One executemany of rows of one shape, straight to the table: for a single
    enrolment, the ORM's bulk-insert machinery costs more than the round trip itself."""
    if rows:
        session().execute(insert(table_of(model)), rows)


def _insert_with_ids(
    model: type[Participant | ConsentRecord],
    rows: Sequence[Mapping[str, Any]],
    *,
    key: InstrumentedAttribute[Any],
) -> list[int]:
    """Insert rows; their ids, in order. ``key`` is unique among the rows.

    One row (an enrolment through the API or a form) has its id from INSERT ... RETURNING,
    in the same round trip. Many are one executemany and their ids read back by ``key`` in
    chunks: INSERT ... RETURNING of many rows costs several times more on PostgreSQL
    (psycopg re-parses each generated batch).
    """
    db = session()
    table = table_of(model)
    if len(rows) == 1:
        return [db.scalars(insert(table).returning(table.c.id), rows).one()]
    _insert_all(model, rows)
    values = [row[key.key] for row in rows]
    found: dict[Any, int] = {}
    for start in range(0, len(values), 1000):
        chunk = values[start : start + 1000]
        rows_read = db.execute(select(key, model.id).where(key.in_(chunk)))
        found.update({value: row_id for value, row_id in rows_read})
    return [found[value] for value in values]


def participant_columns(enrolment: Enrol, *, site_id: int, enrolled_on: dt.date) -> dict[str, Any]:
    """A loaded enrolment's participant columns, bar the keys and the sealed identity
    (also how the benchmarks build their populations)."""
    clinical = enrolment.clinical
    birth = enrolment.date_of_birth
    decile = enrolment.imd_decile
    return {
        "cohort": enrolment.cohort,
        "site_id": site_id,
        "birth_year": birth.year,
        "birth_month": birth.month,
        "postcode_district": enrolment.postcode.split(" ")[0],
        "enrolled_on": enrolled_on,
        "sex": enrolment.sex,
        "gender_identity": enrolment.gender_identity,
        "ethnicity": enrolment.ethnicity,
        "ethnicity_group": reference().ethnicity_group(enrolment.ethnicity),
        "imd_decile": decile,
        "imd_version": enrolment.imd_version if decile is not None else None,
        "diagnosis_icd10": clinical.diagnosis_icd10,
        "psychosis_onset": clinical.psychosis_onset,
        "first_antipsychotic_on": clinical.first_antipsychotic_on,
        "eip_accepted_on": clinical.eip_accepted_on,
        "dup_weeks": _dup_weeks(clinical),
        "episode_start": clinical.episode_start,
    }


def _dup_weeks(clinical: ClinicalDetails) -> int | None:
    """Duration of untreated psychosis: as given, else onset to first treatment or EIP."""
    if clinical.dup_weeks is not None:
        return clinical.dup_weeks
    onset = clinical.psychosis_onset
    treated = [
        day
        for day in (clinical.first_antipsychotic_on, clinical.eip_accepted_on)
        if day is not None
    ]
    if onset is None or not treated:
        return None
    weeks: int = (min(treated) - onset).days // 7
    return max(0, weeks)
