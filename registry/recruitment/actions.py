"""Recruitment's writes: submit, decide, confirm and close a request; record a contact's
outcome; take a participant off every list. Each is audited in its own transaction.

The honest broker's rules live here: the partner never picks people, the registry does,
at approval, once (the lists are frozen); only contactable people who agreed to
commercial partners are listed; contact-fatigue limits hold people back; and anyone who
withdraws or changes their consent afterwards leaves every list at once.
"""

from __future__ import annotations

import datetime as dt
import secrets
import typing
from collections.abc import Mapping
from typing import Any

from flask import current_app
from sqlalchemy import (
    Integer,
    String,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    select,
    text,
    update,
)

from registry import clock
from registry.audit.actions import Actor, record_event
from registry.auth.models import User
from registry.db import database, session, utcnow
from registry.eligibility.catalogue import CATALOGUE_VERSION
from registry.eligibility.criteria import normalised, parse_criteria
from registry.errors import Conflict, Forbidden, NotFound, ValidationFailed
from registry.participants.identity import lock_participant
from registry.participants.models import STATUS_SHREDDED, Participant, ParticipantFacts
from registry.recruitment.commands import DecideRequest, SubmitRequest
from registry.recruitment.listing import ListSize, list_rows, list_size
from registry.recruitment.models import (
    APPROACHED_OUTCOMES,
    APPROVED,
    CLOSED,
    HELD_BACK,
    HOLDING_STATUSES,
    OPEN,
    REJECTED,
    REMOVED_CONSENT_CHANGED,
    REMOVED_WITHDRAWN,
    SUBMITTED,
    TO_CONTACT,
    ContactEvent,
    RecruitmentContact,
    RecruitmentRequest,
)
from registry.recruitment.schemas import DEFAULT_WINDOW
from registry.signals import consent_changed, participant_withdrawn

# pg_advisory_xact_lock key space for freezing lists: two approvals at once must not both
# put the same person on their lists past the fatigue limit.
FREEZE_LOCK = 0x52454331  # "REC1"


class ListTooSmall(Conflict):
    """Approval would freeze a list of fewer people than the minimum. Audited, like other
    refusals that say something about who is enrolled; the figures go to the admin only."""

    audited = True

    def __init__(self, size: ListSize, *, request_id: str) -> None:
        people = "person" if size.listed == 1 else "people"
        super().__init__(
            "list_too_small",
            f"This list is too small to approve: it would hold {size.listed} {people}, and a "
            f"list needs at least {size.minimum}. With so few, the partner's figures about "
            "the list would describe the people on it.",
        )
        self.audit_details = {
            "request": request_id,
            "listed": size.listed,
            "minimum": size.minimum,
        }


def submit_request(command: SubmitRequest, *, user: User, by: Actor) -> RecruitmentRequest:
    """A partner's request, from fields checked by ``RequestArgs``; the criteria are checked
    here, against the partner's own catalogue."""
    try:
        criteria = parse_criteria(command.criteria, role=user.role)
    except ValidationFailed as exc:
        raise ValidationFailed(
            {
                f"criteria.{path}" if path != "_schema" else "criteria": msgs
                for path, msgs in exc.fields.items()
            }
        ) from None
    start = command.contact_from or clock.today()
    request = RecruitmentRequest(
        request_id=secrets.token_hex(8),
        status=SUBMITTED,
        study_title=command.study_title.strip(),
        sponsor=command.sponsor.strip(),
        ethics_reference=command.ethics_reference,
        # parse_criteria has taken the document, so it is an object.
        criteria=dict(typing.cast(Mapping[str, Any], command.criteria)),
        catalogue_version=CATALOGUE_VERSION,
        target=command.target,
        contact_from=start,
        contact_until=command.contact_until or start + DEFAULT_WINDOW,
        lay_summary=(command.lay_summary or "").strip() or None,
        partner_id=user.id,
        organisation=user.organisation,
    )
    session().add(request)
    session().flush()
    record_event(
        "recruitment.submit",
        by=by,
        target_type="recruitment_request",
        target_id=request.request_id,
        details={
            "ethics_reference": request.ethics_reference,
            "criteria": normalised(criteria),
            "target": request.target,
        },
    )
    return request


def decide_request(
    request: RecruitmentRequest, command: DecideRequest, *, by: Actor
) -> RecruitmentRequest:
    """Approve (freezing the lists in this transaction) or reject a submitted request.
    Approval is refused if the frozen list is smaller than the minimum (``ListTooSmall``);
    with a cap, at most that many of those who would be listed are, chosen at random."""
    locked = _lock(request)
    if locked.status != SUBMITTED:
        raise Conflict("request_already_decided", f"This request is already {locked.status}.")
    minimum = list_size(0, 0).minimum
    if command.decision == "approve" and command.cap is not None and command.cap < minimum:
        # A capped list is still a list: the minimum protects the people on it.
        raise ValidationFailed(
            {"cap": [f"A list needs at least {minimum} people: give a cap of {minimum} or more."]}
        )
    now = utcnow()
    locked.decided_by_id = by.user_id
    locked.decided_at = now
    locked.decision_note = (command.note or "").strip() or None
    if command.decision == "reject":
        locked.status = REJECTED
        record_event(
            "recruitment.reject",
            by=by,
            target_type="recruitment_request",
            target_id=locked.request_id,
        )
        return locked
    if locked.contact_until < clock.today():
        raise Conflict("contact_window_over", "The study's contact window has already ended.")
    frozen = _freeze_lists(locked, now)
    eligible = frozen.listed
    if command.cap is not None and frozen.listed > command.cap:
        frozen = _keep_at_random(locked, command.cap)
    locked.list_cap = command.cap
    if frozen.too_small:
        # Refused after freezing, so that the count is of what was frozen, under the lock;
        # the savepoint or the request boundary undoes it.
        raise ListTooSmall(frozen, request_id=locked.request_id)
    two_person = current_app.config["SETTINGS"].recruitment_two_person_rule
    locked.status = APPROVED if two_person else OPEN
    if not two_person:
        locked.opened_at = now
    record_event(
        "recruitment.approve",
        by=by,
        target_type="recruitment_request",
        target_id=locked.request_id,
        details={
            "listed": frozen.listed,
            "held_back": frozen.held_back,
            "cap": command.cap,
            "eligible": eligible,
            "awaiting_confirmation": two_person,
        },
    )
    return locked


def confirm_request(request: RecruitmentRequest, *, by: Actor) -> RecruitmentRequest:
    """Two-person rule: a second admin, not the one who approved, opens the lists."""
    locked = _lock(request)
    if locked.status != APPROVED:
        raise Conflict("not_awaiting_confirmation", "This request is not awaiting confirmation.")
    if locked.decided_by_id == by.user_id:
        raise Forbidden("A second admin must confirm: you approved this request.")
    locked.confirmed_by_id = by.user_id
    locked.status = OPEN
    locked.opened_at = utcnow()
    record_event(
        "recruitment.confirm", by=by, target_type="recruitment_request", target_id=locked.request_id
    )
    return locked


def close_request(request: RecruitmentRequest, *, by: Actor) -> RecruitmentRequest:
    """Close an approved or open request: its lists stop, and stop holding anyone."""
    locked = _lock(request)
    if locked.status not in HOLDING_STATUSES:
        raise Conflict(
            "request_not_open",
            f"Only an approved or open request can be closed; this one is {locked.status}.",
        )
    locked.status = CLOSED
    locked.closed_at = utcnow()
    locked.closed_by_id = by.user_id
    record_event(
        "recruitment.close", by=by, target_type="recruitment_request", target_id=locked.request_id
    )
    return locked


def record_outcome(contact: RecruitmentContact, *, status: str, by: Actor) -> RecruitmentContact:
    """A clinician's outcome for one person on an open list."""
    participant = session().get(Participant, contact.participant_pk)
    assert participant is not None
    # The participant's lock orders this against a withdrawal taking them off the lists.
    lock_participant(participant)
    session().refresh(contact)
    if contact.removed_at is not None or contact.status == HELD_BACK:
        raise NotFound("This person is not on the list.")
    now = utcnow()
    contact.status = status
    contact.status_at = now
    contact.status_by_id = by.user_id
    if status in APPROACHED_OUTCOMES and contact.approached_at is None:
        contact.approached_at = now
    session().add(ContactEvent(contact_id=contact.id, status=status, at=now, by_id=by.user_id))
    request = session().get(RecruitmentRequest, contact.request_pk)
    assert request is not None
    record_event(
        "recruitment.outcome",
        by=by,
        target_type="recruitment_request",
        target_id=request.request_id,
        participant_id=participant.participant_id,
        details={"status": status},
    )
    return contact


def leave_contact_lists(participant: Participant, *, reason: str, by: Actor) -> int:
    """Take the participant off every list, for good: not shown, not counted, ever again.

    Called under the participant's lock by the withdrawal and consent actions, in their
    transaction, so a withdrawn person is never on a list a clinician can open.
    """
    db = session()
    mine = RecruitmentContact.participant_pk == participant.id
    removed = int(
        db.scalar(select(func.count()).where(mine, RecruitmentContact.removed_at.is_(None))) or 0
    )
    if participant.status == STATUS_SHREDDED:
        # A full withdrawal leaves no trace of the approaches either.
        contact_ids = select(RecruitmentContact.id).where(mine)
        db.execute(delete(ContactEvent).where(ContactEvent.contact_id.in_(contact_ids)))
        db.execute(delete(RecruitmentContact).where(mine))
    elif removed:
        db.execute(
            update(RecruitmentContact)
            .where(mine, RecruitmentContact.removed_at.is_(None))
            .values(removed_at=utcnow(), removed_reason=reason)
        )
    if removed:
        record_event(
            "recruitment.leave_lists",
            by=by,
            target_type="participant",
            target_id=participant.participant_id,
            participant_id=participant.participant_id,
            details={"reason": reason, "lists": removed},
        )
    return removed


def still_contactable(participant_pk: int) -> bool:
    """Whether the participant may still be on a partner's list: contactable, and agreeing
    to commercial partners (every recruitment request comes from a partner)."""
    facts = session().get(ParticipantFacts, participant_pk)
    return bool(facts and facts.contactable and facts.consent_commercial_partners)


# -- freezing ----------------------------------------------------------------------------------


def _freeze_lists(request: RecruitmentRequest, now: dt.datetime) -> ListSize:
    """INSERT … SELECT the matching, contactable participants into the request's list, in
    one statement, holding back those the contact-fatigue limits protect; what it froze."""
    db = session()
    if database().is_postgresql:
        db.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": FREEZE_LOCK})
    matching = list_rows(request, now).subquery()
    contact = RecruitmentContact.__table__.c
    db.execute(
        insert(RecruitmentContact).from_select(
            [
                "request_pk",
                "participant_pk",
                "site_id",
                "status",
                "held_back_reason",
                "listed_at",
                "status_at",
            ],
            select(
                cast(literal(request.id), Integer),
                matching.c.participant_pk,
                matching.c.site_id,
                case(
                    (matching.c.reason.is_(None), literal(TO_CONTACT, String)),
                    else_=literal(HELD_BACK, String),
                ),
                matching.c.reason,
                literal(now, contact.listed_at.type),
                literal(now, contact.status_at.type),
            ),
        )
    )
    counts: dict[str, int] = dict(
        db.execute(
            select(contact.status, func.count())
            .where(contact.request_pk == request.id)
            .group_by(contact.status)
        ).all()
    )
    held_back = int(counts.get(HELD_BACK, 0))
    return list_size(int(sum(counts.values())) - held_back, held_back)


def _keep_at_random(request: RecruitmentRequest, cap: int) -> ListSize:
    """Keep ``cap`` of the people just listed, each equally likely to be kept (a uniform
    sample of the whole eligible set, from the operating system's randomness), and take the
    rest off before the list is ever seen: who was chosen is what stays frozen. Those held
    back by the contact limits stay recorded as held back."""
    db = session()
    contact = RecruitmentContact.__table__.c
    listed = list(
        db.scalars(
            select(contact.id)
            .where(contact.request_pk == request.id, contact.status == TO_CONTACT)
            .order_by(contact.id)
        )
    )
    kept = set(secrets.SystemRandom().sample(listed, cap))
    dropped = [contact_id for contact_id in listed if contact_id not in kept]
    for start in range(0, len(dropped), _BATCH):
        db.execute(
            delete(RecruitmentContact).where(contact.id.in_(dropped[start : start + _BATCH]))
        )
    held_back = int(
        db.scalar(
            select(func.count()).where(
                contact.request_pk == request.id, contact.status == HELD_BACK
            )
        )
        or 0
    )
    return list_size(len(kept), held_back)


# Ids per DELETE … IN (…): well under SQLite's limit on bound parameters.
_BATCH = 500


def _lock(request: RecruitmentRequest) -> RecruitmentRequest:
    return (
        session()
        .execute(
            select(RecruitmentRequest)
            .where(RecruitmentRequest.id == request.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        .scalar_one()
    )


# -- reactions to consent and withdrawal (registry.signals), in the sender's transaction -------


@consent_changed.connect
def _leave_if_no_longer_contactable(participant: Participant, *, by: Actor) -> None:
    if not still_contactable(participant.id):
        leave_contact_lists(participant, reason=REMOVED_CONSENT_CHANGED, by=by)


@participant_withdrawn.connect
def _leave_on_withdrawal(participant: Participant, *, by: Actor) -> None:
    leave_contact_lists(participant, reason=REMOVED_WITHDRAWN, by=by)
