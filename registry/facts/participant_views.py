"""A participant as a user may see them: the participant row with their latest scores,
current consent, consent-form version and failed trials, and, for a clinician of their own
site, their identity (each read audited).

The participant list's read model: it lives in the facts layer because it reads what
``participants`` sits below (assessments, consents, the facts row).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select

from registry.assessments.models import Assessment
from registry.assessments.treatment import current_definition
from registry.audit.actions import Actor
from registry.auth.models import Site, User
from registry.consents.models import ConsentForm, ConsentRecord
from registry.db import session
from registry.facts.derive import current_consents, latest_scores_of
from registry.participants.identity import Identity, read_identities
from registry.participants.models import Participant, ParticipantFacts
from registry.participants.queries import age_band, format_nhs_number, identifiable_to


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
    participant: Participant,
    *,
    identity: Identity,
    consent: Mapping[str, bool],
    consent_form_version: str,
    user: User,
) -> dict[str, Any]:
    """Someone just enrolled, as the enrolling user sees them: made from the enrolment (its
    identifiers and consent) and the row written, not read back. No stored identity is
    read, so nothing is audited beyond the enrolment itself."""
    view = _view(
        participant,
        site=session().get(Site, participant.site_id),
        failed_trials=(0, current_definition().label),  # as the facts row written says
        latest={},
        consent=dict(consent),
        consent_form_version=consent_form_version,
    )
    if identifiable_to(user):
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
