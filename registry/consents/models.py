"""Consent-form (participant information sheet) versions, per cohort."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Index, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow


class ConsentForm(Base):
    """One approved version of a cohort's consent form and information sheet.

    The document itself is kept (and its SHA-256) so that what a participant saw can always
    be shown again, exactly.
    """

    __tablename__ = "consent_form"
    __table_args__ = (UniqueConstraint("cohort", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort: Mapped[str] = mapped_column(String(3))
    version: Mapped[str] = mapped_column(String(32), comment="e.g. TRD-PIS-2.0")
    effective_on: Mapped[dt.date] = mapped_column(comment="first day it may be used")
    file_name: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(64))
    document: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<ConsentForm {self.cohort} {self.version}>"


CAPACITY_CONFIRMED = "confirmed"
CAPACITY_CONSULTEE = "consultee"
CONSULTEE_TYPES = ("personal", "nominated")  # Mental Capacity Act 2005 s32(2) and s32(3)


class ConsentRecord(Base):
    """One signing: the form version the person saw, when, who took it, and how.

    Append-only (database triggers refuse UPDATE and DELETE): consent history outlives
    every later change, withdrawal included.
    """

    __tablename__ = "consent_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    consent_form_id: Mapped[int] = mapped_column(ForeignKey("consent_form.id"))
    kind: Mapped[str] = mapped_column(String(16), comment="enrolment, reconsent or change")
    signed_on: Mapped[dt.date]
    taken_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), comment="null when it came in by bulk import"
    )
    capacity: Mapped[str] = mapped_column(String(16), comment="confirmed or consultee")
    consultee_type: Mapped[str | None] = mapped_column(String(16), comment="personal, nominated")
    consultee_name_sealed: Mapped[bytes | None] = mapped_column(
        LargeBinary, comment="under the participant's data key"
    )
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<ConsentRecord {self.id} {self.kind}>"


class ConsentItemEvent(Base):
    """One item's answer in a signing. Current consent for an item is its latest event."""

    __tablename__ = "consent_item_event"
    __table_args__ = (Index("ix_consent_item_event_participant_item", "participant_pk", "item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("consent_record.id"))
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    item: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool] = mapped_column(Boolean)

    def __repr__(self) -> str:
        return f"<ConsentItemEvent {self.item}={self.granted}>"


WITHDRAWAL_REASONS = (
    "participant_request",
    "consultee_advice",
    "clinical_team_advice",
    "other",
)
REQUESTED_BY = ("participant", "consultee")


class Withdrawal(Base):
    """One withdrawal, or a step to a stricter level. Append-only, like consent history,
    and kept after a full withdrawal: with the tombstone it is the record that they left."""

    __tablename__ = "withdrawal"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    level: Mapped[str] = mapped_column(String(20))
    reason_code: Mapped[str] = mapped_column(String(24))
    reason_sealed: Mapped[bytes | None] = mapped_column(
        LargeBinary, comment="free text under the participant's data key; dropped for full"
    )
    requested_by: Mapped[str] = mapped_column(String(16), comment="participant or consultee")
    consultee_type: Mapped[str | None] = mapped_column(String(16))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Withdrawal {self.id} {self.level}>"
