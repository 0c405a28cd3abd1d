"""Appending to the audit chain, and verifying it."""

from __future__ import annotations

import getpass
import hmac
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from flask import g, has_request_context
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from registry.audit.models import GENESIS_MAC, AuditChainHead, AuditEvent, AuditVerification
from registry.crypto import key_provider
from registry.crypto.keys import AUDIT_MAC_PURPOSE
from registry.db import session, table_of, utcnow

if TYPE_CHECKING:  # audit sits below auth (README, Layout): the type only
    from registry.auth.models import User

AUDIT_KEY_PURPOSE = AUDIT_MAC_PURPOSE

# Keys that would carry a participant's identity; details must never hold them.
FORBIDDEN_DETAIL_KEYS = frozenset(
    {
        "nhs_number",
        "given_name",
        "family_name",
        "name",
        "date_of_birth",
        "postcode",
        "email",
        "phone",
        "address",
        "password",
        "token",
        "totp_code",
    }
)


class AuditDetailError(ValueError):
    """An action tried to put something that may identify a person into the audit log."""


@dataclass(frozen=True)
class Actor:
    """Who did it, as the audit log names them."""

    label: str
    role: str | None = None
    user_id: int | None = None

    @classmethod
    def for_user(cls, user: User) -> Actor:
        return cls(label=f"user:{user.id}", role=user.role.value, user_id=user.id)

    @classmethod
    def command_line(cls) -> Actor:
        return cls(label=f"cli:{getpass.getuser()}"[:64])

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(label="anonymous")


@dataclass(frozen=True)
class AuditEntry:
    """One event to append, before it has a place in the chain."""

    action: str
    outcome: str = "success"
    target_type: str | None = None
    target_id: str | int | None = None
    participant_id: str | None = None
    purpose: str | None = None
    details: Mapping[str, Any] | None = None


def record_event(action: str, *, by: Actor, **entry: Any) -> AuditEvent:
    """Append one event in the caller's transaction, under the chain-head lock."""
    return record_events([AuditEntry(action, **entry)], by=by)[0]


def keep_on_record(action: str, *, by: Actor, **entry: Any) -> None:
    """Queue an event that must be recorded even though the request fails (a refusal): the
    request boundary rolls the request back, then appends what was kept, and commits."""
    kept: list[tuple[Actor, AuditEntry]] = g.setdefault("kept_on_record", [])
    kept.append((by, AuditEntry(action, **entry)))


def append_kept_records() -> bool:
    """Append the events this request kept on record (``keep_on_record``), in order, in the
    caller's transaction; whether there were any."""
    kept: list[tuple[Actor, AuditEntry]] = g.pop("kept_on_record", [])
    for actor, entry in kept:
        record_events([entry], by=actor)
    return bool(kept)


def record_events(entries: Sequence[AuditEntry], *, by: Actor) -> list[AuditEvent]:
    """Append events in order under one chain-head lock (bulk enrolment audits each person).

    Core statements rather than the unit of work: every request appends, and the lock is
    held from here to the commit, so the less work after taking it the better.
    """
    if not entries:
        return []  # nothing to chain, so no lock to take
    details = [_canonical(_checked_details(entry.details or {})) for entry in entries]
    db = session()
    last_seq, last_mac = db.execute(
        select(AuditChainHead.last_seq, AuditChainHead.last_mac)
        .where(AuditChainHead.id == 1)
        .with_for_update()
    ).one()
    at = utcnow().isoformat(timespec="microseconds")
    request_id = _request_id()
    events = []
    for entry, details_json in zip(entries, details, strict=True):
        event = AuditEvent(
            seq=last_seq + 1,
            at=at,
            actor=by.label,
            role=by.role,
            action=entry.action,
            target_type=entry.target_type,
            target_id=None if entry.target_id is None else str(entry.target_id),
            participant_id=entry.participant_id,
            purpose=entry.purpose,
            outcome=entry.outcome,
            request_id=request_id,
            details=details_json,
            prev_mac=last_mac,
        )
        event.mac = _mac(event)
        events.append(event)
        last_seq, last_mac = event.seq, event.mac
    db.execute(insert(table_of(AuditEvent)), [_columns(event) for event in events])
    db.execute(
        update(table_of(AuditChainHead))
        .where(AuditChainHead.id == 1)
        .values(last_seq=last_seq, last_mac=last_mac)
    )
    return events


def _columns(event: AuditEvent) -> dict[str, Any]:
    return {column.key: getattr(event, column.key) for column in AuditEvent.__table__.columns}


@dataclass(frozen=True)
class ChainReport:
    intact: bool
    events: int
    first_broken_seq: int | None = None
    problem: str | None = None


VERIFY_ACTION = "audit.verify"


def record_verification(
    report: ChainReport,
    *,
    by: Actor,
    anchors_matched: int | None = None,
    latest_anchor_seq: int | None = None,
) -> AuditVerification:
    """Keep a check's answer outside the chain (appending it would move the chain it
    checked): pages show the latest rather than walking millions of events at every view."""
    problem = None
    if not report.intact:
        where = "" if report.first_broken_seq is None else f"at event {report.first_broken_seq}: "
        problem = f"{where}{report.problem or 'the chain is broken'}"[:300]
    verification = AuditVerification(
        ok=report.intact,
        events_checked=report.events,
        first_problem=problem,
        by_user_id=by.user_id,
        anchors_matched=anchors_matched,
        latest_anchor_seq=latest_anchor_seq,
    )
    session().add(verification)
    session().flush()
    return verification


def verify_chain(db: Session, *, batch_size: int = 5000) -> ChainReport:
    """Walk the chain in order; report the first event that was edited, removed or moved."""
    expected_seq = 1
    prev_mac = GENESIS_MAC
    count = 0
    for event in _events_in_order(db, batch_size):
        if event.seq != expected_seq:
            return ChainReport(False, count, expected_seq, f"event {expected_seq} is missing")
        if not hmac.compare_digest(event.prev_mac, prev_mac):
            return ChainReport(False, count, event.seq, "link to the previous event is broken")
        if not hmac.compare_digest(event.mac, _mac(event)):
            return ChainReport(False, count, event.seq, "event content does not match its MAC")
        prev_mac = event.mac
        expected_seq += 1
        count += 1
    head = db.get(AuditChainHead, 1)
    if head is None or head.last_seq > count:
        return ChainReport(False, count, count + 1, "events after the last one found were removed")
    if head.last_seq < count:
        # Events cannot be removed without the owner's rights, but the head can be moved.
        return ChainReport(
            False, count, head.last_seq + 1, "the chain head was moved back (rewound)"
        )
    if not hmac.compare_digest(head.last_mac, prev_mac):
        return ChainReport(False, count, count, "the chain head does not match the last event")
    return ChainReport(True, count)


def _events_in_order(db: Session, batch_size: int) -> Iterator[AuditEvent]:
    last = 0
    while True:
        batch = (
            db.execute(
                select(AuditEvent)
                .where(AuditEvent.seq > last)
                .order_by(AuditEvent.seq)
                .limit(batch_size)
            )
            .scalars()
            .all()
        )
        if not batch:
            return
        yield from batch
        last = batch[-1].seq
        db.expunge_all()


def _mac(event: AuditEvent) -> bytes:
    row = {
        "seq": event.seq,
        "at": event.at,
        "actor": event.actor,
        "role": event.role,
        "action": event.action,
        "target_type": event.target_type,
        "target_id": event.target_id,
        "participant_id": event.participant_id,
        "purpose": event.purpose,
        "outcome": event.outcome,
        "request_id": event.request_id,
        "details": event.details,
    }
    message = _canonical(row).encode("utf-8") + event.prev_mac
    return key_provider().mac(AUDIT_KEY_PURPOSE, message)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _checked_details(details: Mapping[str, Any]) -> Mapping[str, Any]:
    for key, value in details.items():
        if key.lower() in FORBIDDEN_DETAIL_KEYS:
            raise AuditDetailError(f"audit details may not contain {key!r}")
        if isinstance(value, Mapping):
            _checked_details(value)
    return details


def _request_id() -> str | None:
    if has_request_context():
        request_id: str | None = g.get("request_id")
        return request_id
    return None
