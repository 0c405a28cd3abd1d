"""Audit events, the chain head that serialises appends, and the chain checks' answers."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow

GENESIS_MAC = bytes(32)


class AuditEvent(Base):
    """One audited act. Rows are never updated or deleted (database triggers refuse)."""

    __tablename__ = "audit_event"
    # How often this actor asked this question lately (a partner's repeated counts).
    __table_args__ = (
        Index("ix_audit_event_actor_action_target", "actor", "action", "target_id", "at"),
    )

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(
        String(40), comment="ISO 8601 UTC instant exactly as hashed into the MAC"
    )
    actor: Mapped[str] = mapped_column(String(64), comment="user:<id>, cli:<os user>, anonymous")
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str | None] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    participant_id: Mapped[str | None] = mapped_column(String(40), index=True)
    purpose: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    request_id: Mapped[str | None] = mapped_column(String(32))
    details: Mapped[str] = mapped_column(Text, comment="canonical JSON; never personal data")
    prev_mac: Mapped[bytes] = mapped_column(LargeBinary(32))
    mac: Mapped[bytes] = mapped_column(LargeBinary(32))

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action} {self.outcome}>"


class AuditChainHead(Base):
    """A single row holding the chain's tip; appenders lock it, so the chain never forks."""

    __tablename__ = "audit_chain_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int]
    last_mac: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditVerification(Base):
    """One walk of the chain and its answer, kept outside the chain: pages show the latest
    without walking millions of events at every view, and recording a check never moves the
    chain it checked."""

    __tablename__ = "audit_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    verified_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    ok: Mapped[bool]
    events_checked: Mapped[int]
    first_problem: Mapped[str | None] = mapped_column(
        String(300), comment="in words, with event numbers only: never a person"
    )
    # None: run at the command line.
    by_user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    # With `registry audit verify --anchors FILE`: how many anchors the chain matched, and
    # the latest one's event number (None: no anchors were checked).
    anchors_matched: Mapped[int | None]
    latest_anchor_seq: Mapped[int | None]

    def __repr__(self) -> str:
        return f"<AuditVerification {self.id} {'ok' if self.ok else 'broken'}>"
