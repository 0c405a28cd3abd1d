"""Reads of consent-form versions, of who needs re-consent, and of one participant's
consent history and timeline."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Select, and_, func, or_, select, true

from registry import clock
from registry.assessments.models import Assessment, TreatmentTrial
from registry.audit.actions import Actor, record_event
from registry.audit.models import AuditEvent
from registry.audit.queries import audit_events
from registry.auth.models import Site, User
from registry.auth.permissions import Role
from registry.consents.items import CONSENT_ITEMS
from registry.consents.models import ConsentForm, ConsentItemEvent, ConsentRecord, Withdrawal
from registry.db import session
from registry.participants.models import COHORTS, STATUS_ACTIVE, Participant


def consent_forms(cohort: str | None = None) -> Select[ConsentForm]:
    statement = select(ConsentForm).order_by(
        ConsentForm.cohort, ConsentForm.effective_on.desc(), ConsentForm.id.desc()
    )
    if cohort:
        statement = statement.where(ConsentForm.cohort == cohort)
    return statement


def current_form(cohort: str, on: dt.date | None = None) -> ConsentForm | None:
    """The version in force on a day: the latest already effective."""
    day = on or clock.today()
    return session().scalar(consent_forms(cohort).where(ConsentForm.effective_on <= day).limit(1))


def current_form_ids(on: dt.date | None = None) -> set[int]:
    """Ids of the versions in force, one per cohort that has any."""
    return {form.id for cohort in COHORTS if (form := current_form(cohort, on))}


# -- who needs re-consent -------------------------------------------------------------------


def latest_signed_form(participant: Participant) -> ConsentForm | None:
    """The form version of the participant's latest consent record."""
    return session().scalar(
        select(ConsentForm)
        .join(ConsentRecord, ConsentRecord.consent_form_id == ConsentForm.id)
        .where(ConsentRecord.participant_pk == participant.id)
        .order_by(ConsentRecord.id.desc())
        .limit(1)
    )


def superseding_form(participant: Participant) -> ConsentForm | None:
    """The version in force for their cohort, when it is not the one they last signed.

    A version can be signed only once it is in force, and the one in force is the latest
    that is, so any other version they signed is an older one.
    """
    in_force = current_form(participant.cohort)
    signed = latest_signed_form(participant)
    if in_force is None or signed is None or signed.id == in_force.id:
        return None
    return in_force


def requires_reconsent(participant: Participant) -> bool:
    return superseding_form(participant) is not None


@dataclass(frozen=True)
class ReconsentRow:
    participant_id: str
    cohort: str
    signed_version: str
    signed_on: dt.date
    current_version: str


@dataclass(frozen=True)
class ReconsentSite:
    code: str
    name: str
    participants: list[ReconsentRow]


def participants_requiring_reconsent(adding: NewVersion | None = None) -> list[ReconsentSite]:
    """Per site, participants still taking part whose latest consent is on a version older
    than the one in force for their cohort. Participant ids only: no identities.

    Anyone who has withdrawn, at any level, is left out: they are not approached again.

    With ``adding``, a version not yet added: who would be on this list, in its cohort, once
    it is in force (on its date, or now if that has come), if it would be in force then.
    The check before adding a version counts with this, so its figure is this page's.
    """
    in_force: dict[str, tuple[int | None, str]]
    if adding is None:
        in_force = {
            cohort: (form.id, form.version) for cohort in COHORTS if (form := current_form(cohort))
        }
    else:
        later = superseded_by(adding)
        in_force = {adding.cohort: (later.id, later.version) if later else (None, adding.version)}
    if not in_force:
        return []
    latest = (
        select(ConsentRecord.participant_pk, func.max(ConsentRecord.id).label("record_id"))
        .group_by(ConsentRecord.participant_pk)
        .subquery()
    )
    rows = session().execute(
        select(
            Participant.participant_id,
            Participant.cohort,
            ConsentForm.version,
            ConsentRecord.signed_on,
            Site.code,
            Site.name,
        )
        .join(latest, latest.c.participant_pk == Participant.id)
        .join(ConsentRecord, ConsentRecord.id == latest.c.record_id)
        .join(ConsentForm, ConsentForm.id == ConsentRecord.consent_form_id)
        .join(Site, Site.id == Participant.site_id)
        .where(Participant.status == STATUS_ACTIVE, Participant.withdrawal_level.is_(None))
        .where(
            or_(
                *(
                    and_(
                        Participant.cohort == cohort,
                        # A version not yet added: no one has signed it.
                        ConsentRecord.consent_form_id != form_id if form_id else true(),
                    )
                    for cohort, (form_id, _) in in_force.items()
                )
            )
        )
        .order_by(Site.code, Participant.cohort, Participant.participant_id)
    )
    sites: dict[str, ReconsentSite] = {}
    for participant_id, cohort, version, signed_on, code, name in rows:
        site = sites.setdefault(code, ReconsentSite(code, name, []))
        site.participants.append(
            ReconsentRow(participant_id, cohort, version, signed_on, in_force[cohort][1])
        )
    return list(sites.values())


@dataclass(frozen=True)
class NewVersion:
    """A consent-form version an admin is about to add."""

    cohort: str
    version: str
    effective_on: dt.date


def superseded_by(adding: NewVersion) -> ConsentForm | None:
    """A version already added that will be in force instead of ``adding`` when its date
    comes (one effective later than it, by then): adding it then changes no one's consent."""
    on = max(adding.effective_on, clock.today())
    existing = current_form(adding.cohort, on)
    if existing is not None and existing.effective_on > adding.effective_on:
        return existing
    return None


# -- one participant's history --------------------------------------------------------------


@dataclass(frozen=True)
class Staff:
    """Who did something, as a member of staff (never a participant)."""

    name: str
    role: str


@dataclass(frozen=True)
class ItemChange:
    item: str
    before: bool | None  # None: not answered before
    after: bool


@dataclass(frozen=True)
class ConsentEntry:
    id: int
    kind: str
    form_version: str
    signed_on: dt.date
    recorded_at: dt.datetime
    taken_by: Staff | None  # None: it came in by bulk import
    capacity: str
    consultee_type: str | None
    items: dict[str, bool]  # the answers given in this signing, in form order
    changes: list[ItemChange]  # what differs from the answers in force before it


@dataclass(frozen=True)
class WithdrawalEntry:
    recorded_at: dt.datetime
    level: str
    reason_code: str
    reason_recorded: bool  # the free text itself is sealed, and never shown here
    requested_by: str
    consultee_type: str | None
    recorded_by: Staff | None


@dataclass(frozen=True)
class EventEntry:
    seq: int
    at: str
    actor: str
    staff: Staff | None
    action: str
    purpose: str | None
    outcome: str


@dataclass(frozen=True)
class Timeline:
    """What the registry holds and did about one participant, for a subject-access request
    or before a withdrawal. No identifier is decrypted to build it."""

    participant_id: str
    cohort: str
    site_code: str
    site_name: str
    status: str
    enrolled_on: dt.date | None
    withdrawal_level: str | None
    withdrawn_at: dt.datetime | None
    consent_form_version: str | None
    current_form_version: str | None
    requires_reconsent: bool
    consent: dict[str, bool]
    consents: list[ConsentEntry]
    withdrawals: list[WithdrawalEntry]
    assessments: list[Assessment]
    treatment_trials: list[TreatmentTrial]
    events: list[EventEntry]


TIMELINE_ACTION = "participant.timeline"


def consent_history(participant: Participant) -> list[ConsentEntry]:
    """Every consent record, oldest first, each with its answers and what it changed."""
    db = session()
    records = db.execute(
        select(ConsentRecord, ConsentForm.version)
        .join(ConsentForm, ConsentForm.id == ConsentRecord.consent_form_id)
        .where(ConsentRecord.participant_pk == participant.id)
        .order_by(ConsentRecord.id)
    ).all()
    answers: dict[int, dict[str, bool]] = defaultdict(dict)
    for record_id, item, granted in db.execute(
        select(ConsentItemEvent.record_id, ConsentItemEvent.item, ConsentItemEvent.granted)
        .where(ConsentItemEvent.participant_pk == participant.id)
        .order_by(ConsentItemEvent.id)
    ):
        answers[record_id][item] = granted
    staff = _staff({record.taken_by_id for record, _ in records})
    in_force: dict[str, bool] = {}
    history = []
    for record, version in records:
        given = answers[record.id]
        items = {item: given[item] for item in _in_form_order(given)}
        changes = [
            ItemChange(item, in_force.get(item), granted)
            for item, granted in items.items()
            if in_force.get(item) != granted
        ]
        in_force.update(items)
        history.append(
            ConsentEntry(
                id=record.id,
                kind=record.kind,
                form_version=version,
                signed_on=record.signed_on,
                recorded_at=record.recorded_at,
                taken_by=staff.get(record.taken_by_id) if record.taken_by_id else None,
                capacity=record.capacity,
                consultee_type=record.consultee_type,
                items=items,
                changes=changes,
            )
        )
    return history


def timeline(participant: Participant, *, by: Actor, purpose: str) -> Timeline:
    """The participant's timeline; the viewing is audited first, so it lists itself."""
    record_event(
        TIMELINE_ACTION,
        by=by,
        target_type="participant",
        target_id=participant.participant_id,
        participant_id=participant.participant_id,
        purpose=purpose,
    )
    db = session()
    site = db.get(Site, participant.site_id)
    assert site is not None  # a foreign key
    withdrawals = db.scalars(
        select(Withdrawal)
        .where(Withdrawal.participant_pk == participant.id)
        .order_by(Withdrawal.id)
    ).all()
    assessments = db.scalars(
        select(Assessment)
        .where(Assessment.participant_pk == participant.id)
        .order_by(Assessment.administered_on, Assessment.id)
    ).all()
    trials = db.scalars(
        select(TreatmentTrial)
        .where(TreatmentTrial.participant_pk == participant.id)
        .order_by(TreatmentTrial.started_on, TreatmentTrial.id)
    ).all()
    events = db.scalars(
        audit_events(participant_id=participant.participant_id)
        .order_by(None)
        .order_by(AuditEvent.seq)
    ).all()
    staff = _staff(
        {w.recorded_by_id for w in withdrawals} | {_user_id(event.actor) for event in events}
    )
    history = consent_history(participant)
    in_force = current_form(participant.cohort)
    signed = history[-1].form_version if history else None
    consent: dict[str, bool] = {}
    for entry in history:
        consent.update(entry.items)
    return Timeline(
        participant_id=participant.participant_id,
        cohort=participant.cohort,
        site_code=site.code,
        site_name=site.name,
        status=participant.status,
        enrolled_on=participant.enrolled_on,
        withdrawal_level=participant.withdrawal_level,
        withdrawn_at=participant.withdrawn_at,
        consent_form_version=signed,
        current_form_version=in_force.version if in_force else None,
        requires_reconsent=in_force is not None
        and signed is not None
        and signed != in_force.version,
        consent={item: consent[item] for item in _in_form_order(consent)},
        consents=history,
        withdrawals=[
            WithdrawalEntry(
                recorded_at=w.recorded_at,
                level=w.level,
                reason_code=w.reason_code,
                reason_recorded=w.reason_sealed is not None,
                requested_by=w.requested_by,
                consultee_type=w.consultee_type,
                recorded_by=staff.get(w.recorded_by_id) if w.recorded_by_id else None,
            )
            for w in withdrawals
        ],
        assessments=list(assessments),
        treatment_trials=list(trials),
        events=[
            EventEntry(
                seq=event.seq,
                at=event.at,
                actor=event.actor,
                staff=staff.get(_user_id(event.actor)),
                action=event.action,
                purpose=event.purpose,
                outcome=event.outcome,
            )
            for event in events
        ],
    )


def _in_form_order(answers: Mapping[str, bool]) -> list[str]:
    known = [item for item in CONSENT_ITEMS if item in answers]
    return known + sorted(set(answers) - set(known))


def _user_id(actor: str) -> int:
    """The user id in an audit actor label ("user:12"); 0 for any other actor."""
    kind, _, number = actor.partition(":")
    return int(number) if kind == "user" and number.isdigit() else 0


def _staff(user_ids: Iterable[int | None]) -> dict[int, Staff]:
    wanted = {user_id for user_id in user_ids if user_id}
    if not wanted:
        return {}
    rows = session().execute(select(User.id, User.name, User.role).where(User.id.in_(wanted)))
    return {user_id: Staff(name, Role(role).value) for user_id, name, role in rows}
