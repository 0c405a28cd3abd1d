"""Reads of participants, limited by who is asking, and the views of one participant.

Clinicians see their own site's participants, identifiable (each read audited through
``read_identity``). A participant another site's clinician asks for is "not found", never
"forbidden": the answer must not confirm that someone is enrolled elsewhere. Nobody else
reads participants by registry id: researchers see rows only under a data-access grant,
keyed by the study's pseudonym (``registry.exports.rows``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Select, func, select

from registry.assessments.models import Assessment
from registry.assessments.treatment import current_definition
from registry.audit.actions import Actor, record_event
from registry.auth.models import Site, User
from registry.auth.permissions import Permission
from registry.consents.models import ConsentForm, ConsentRecord
from registry.db import session
from registry.errors import Forbidden, NoParticipantWithThisNumber, NotFound
from registry.facts.derive import current_consents, latest_scores_of
from registry.participants.age_bands import band_for_age
from registry.participants.identity import Identity, find_by_nhs_number, read_identities
from registry.participants.models import STATUS_SHREDDED, Participant, ParticipantFacts
from registry.participants.schemas import age_on


def age_band(participant: Participant, today: dt.date | None = None) -> str:
    if not participant.birth_year or not participant.birth_month:
        return "unknown"
    birth = dt.date(participant.birth_year, participant.birth_month, 1)
    return age_band_on(birth, today or dt.date.today())


def age_band_on(birth_month_start: dt.date | None, day: dt.date | None) -> str:
    """The census age band on ``day`` of someone born in the month starting on that date."""
    if birth_month_start is None or day is None:
        return "unknown"
    return band_for_age(age_on(birth_month_start, day)).participant_label


def identifiable_to(user: User) -> bool:
    return user.can(Permission.VIEW_IDENTIFIABLE_OWN_SITE)


def visible_participants(user: User) -> Select[Participant]:
    """Every participant of the clinician's own site (tombstones excluded), newest first."""
    if not identifiable_to(user):
        # A row keyed by the registry id links every study's pseudonyms back to one person.
        raise Forbidden()
    return (
        select(Participant)
        .where(Participant.status != STATUS_SHREDDED, Participant.site_id == user.site_id)
        .order_by(Participant.id.desc())
    )


def visible_participant(user: User, participant_id: str) -> Participant:
    participant = session().scalar(
        visible_participants(user).where(Participant.participant_id == participant_id)
    )
    if participant is None:
        raise NotFound("There is no participant with this id that you can see.")
    return participant


def participant_for_admin(participant_id: str) -> Participant:
    """Any site's participant, tombstones included: admins record withdrawals by id."""
    participant = session().scalar(
        select(Participant).where(Participant.participant_id == participant_id)
    )
    if participant is None:
        raise NotFound("There is no participant with this id.")
    return participant


def find_visible_by_nhs_number(user: User, nhs_number: str, *, by: Actor) -> Participant:
    """Clinicians' search by NHS number (through the blind index), own site only.

    A hit is audited here; a miss raises NoParticipantWithThisNumber, which is audited as a
    refusal (the request's own transaction is rolled back).
    """
    if not identifiable_to(user):
        raise Forbidden("Only clinicians can search by NHS number.")
    found = find_by_nhs_number(nhs_number)
    if found is None or found.site_id != user.site_id or found.status == STATUS_SHREDDED:
        raise NoParticipantWithThisNumber()
    record_event(
        "participant.search_by_nhs_number",
        by=by,
        outcome="found",
        target_type="participant",
        target_id=found.participant_id,
        participant_id=found.participant_id,
    )
    return found


def page_of(
    statement: Select[Participant], *, page: int, per_page: int
) -> tuple[list[Participant], int]:
    db = session()
    total = db.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    rows = db.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return list(rows), int(total)


def participant_view(
    participant: Participant, *, user: User, by: Actor, purpose: str
) -> dict[str, Any]:
    """The participant as ``user`` may see them: identifiable (audited) or pseudonymised."""
    return participant_views([participant], user=user, by=by, purpose=purpose)[0]


def participant_views(
    participants: Sequence[Participant], *, user: User, by: Actor, purpose: str
) -> list[dict[str, Any]]:
    """Participants (a page of a list) as ``user`` may see them, each identity read
    audited: a few queries for the page, not several for each row."""
    views = pseudonymised_views(participants)
    if identifiable_to(user):
        identities = read_identities(participants, by=by, purpose=purpose)
        for view, participant, identity in zip(views, participants, identities, strict=True):
            view.update(identifiable_fields(participant, identity))
    return views


def identifiable_fields(participant: Participant, identity: Identity) -> dict[str, Any]:
    return {
        "nhs_number": format_nhs_number(identity.nhs_number),
        "given_name": identity.given_name,
        "family_name": identity.family_name,
        "date_of_birth": identity.date_of_birth,
        "postcode": identity.postcode,
        "email": identity.email,
        "phone": identity.phone,
        "enrolled_on": participant.enrolled_on,
        "first_antipsychotic_on": participant.first_antipsychotic_on,
        "eip_accepted_on": participant.eip_accepted_on,
    }


def enrolment_view(
    participant: Participant, enrolment: Mapping[str, Any], *, user: User
) -> dict[str, Any]:
    """Someone just enrolled, as the enrolling user sees them: made from the enrolment and
    the row written, not read back. No stored identity is read, so nothing is audited
    beyond the enrolment itself."""
    consent = enrolment["consent"]
    view = _view(
        participant,
        site=session().get(Site, participant.site_id),
        failed_trials=(0, current_definition().name),  # as the facts row written says
        latest={},
        consent=dict(consent["items"]),
        consent_form_version=consent["form_version"],
    )
    if identifiable_to(user):
        identity = Identity.of_enrolment(participant.participant_id, enrolment)
        view.update(identifiable_fields(participant, identity))
    return view


def pseudonymised_views(participants: Sequence[Participant]) -> list[dict[str, Any]]:
    if not participants:
        return []  # an empty page asks nothing of the database
    db = session()
    pks = [participant.id for participant in participants]
    facts = {
        row.participant_pk: row
        for row in db.scalars(
            select(ParticipantFacts).where(ParticipantFacts.participant_pk.in_(pks))
        )
    }
    # Records are append-only: the last one read for a participant is their latest.
    latest_form = dict(
        db.execute(
            select(ConsentRecord.participant_pk, ConsentForm.version)
            .join(ConsentForm, ConsentRecord.consent_form_id == ConsentForm.id)
            .where(ConsentRecord.participant_pk.in_(pks))
            .order_by(ConsentRecord.id)
        ).all()
    )
    scores = latest_scores_of(pks)
    consents = current_consents(pks)
    site_ids = {participant.site_id for participant in participants}
    sites = {site.id: site for site in db.scalars(select(Site).where(Site.id.in_(site_ids)))}
    return [
        _view(
            participant,
            site=sites.get(participant.site_id),
            failed_trials=(row.failed_adequate_trials, row.failed_trials_definition)
            if (row := facts.get(participant.id))
            else (0, None),
            latest=scores[participant.id],
            consent=consents[participant.id],
            consent_form_version=latest_form.get(participant.id),
        )
        for participant in participants
    ]


def _view(
    participant: Participant,
    *,
    site: Site | None,
    failed_trials: tuple[int, str | None],  # how many, by which definition
    latest: Mapping[str, Assessment],
    consent: dict[str, bool],
    consent_form_version: str | None,
) -> dict[str, Any]:
    return {
        "participant_id": participant.participant_id,
        "cohort": participant.cohort,
        "site": site.code if site else None,
        "status": participant.status,
        "withdrawal_level": participant.withdrawal_level,
        "enrolled_month": participant.enrolled_on,
        "age_band": age_band(participant),
        "sex": participant.sex,
        "gender_identity": participant.gender_identity,
        "ethnicity": participant.ethnicity,
        "ethnicity_group": participant.ethnicity_group,
        "postcode_district": participant.postcode_district,
        "imd_decile": participant.imd_decile,
        "imd_version": participant.imd_version,
        "diagnosis_icd10": participant.diagnosis_icd10,
        "psychosis_onset": participant.psychosis_onset,
        "dup_weeks": participant.dup_weeks,
        "episode_start": participant.episode_start,
        "failed_adequate_trials": failed_trials[0],
        "failed_trials_definition": failed_trials[1],
        "latest_scores": {
            code: {
                "total": assessment.total,
                "band": assessment.band,
                "administered_on": assessment.administered_on,
            }
            for code, assessment in latest.items()
        },
        "consent": consent,
        "consent_form_version": consent_form_version,
    }


def format_nhs_number(digits: str) -> str:
    """NHS numbers are shown 3-3-4."""
    return f"{digits[:3]} {digits[3:6]} {digits[6:]}"
