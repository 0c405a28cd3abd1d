"""Recruitment requests, their frozen contact lists, and each contact's outcomes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow

# A request's life: a partner submits; an admin approves (freezing the lists) or rejects;
# lists open at once, or when a second admin confirms; an admin or the partner closes it.
SUBMITTED = "submitted"
APPROVED = "approved"
REJECTED = "rejected"
OPEN = "open"
CLOSED = "closed"
REQUEST_STATUSES = (SUBMITTED, APPROVED, REJECTED, OPEN, CLOSED)
# Lists of these requests hold their participants, for contact fatigue.
HOLDING_STATUSES = (APPROVED, OPEN)

# A contact's outcomes, as clinicians record them (API.md), after "to_contact".
TO_CONTACT = "to_contact"
HELD_BACK = "held_back"
NOT_APPROPRIATE = "not_appropriate"
OUTCOMES = (
    "approached",
    "declined",
    "interested",
    "referred",
    "enrolled_in_study",
    "unreachable",
    NOT_APPROPRIATE,
)
CONTACT_STATUSES = (TO_CONTACT, *OUTCOMES)
# An outcome that means the person was spoken to counts as an approach (contact fatigue, the
# funnel). Not "unreachable", and not "not appropriate to approach": a clinician's judgement
# not to approach them is the opposite of an approach.
APPROACHED_OUTCOMES = frozenset(OUTCOMES) - {"unreachable", NOT_APPROPRIATE}

# Why a matching participant was not put on a list (contact fatigue).
ON_TOO_MANY_LISTS = "on_too_many_lists"
APPROACHED_TOO_OFTEN = "approached_too_often"
HOLD_BACK_REASONS = (ON_TOO_MANY_LISTS, APPROACHED_TOO_OFTEN)

# Why a listed participant left the lists after approval.
REMOVED_WITHDRAWN = "withdrawn"
REMOVED_CONSENT_CHANGED = "consent_changed"

TITLE_MAX = 200
SPONSOR_MAX = 200
LAY_SUMMARY_MAX = 2000
NOTE_MAX = 2000


class RecruitmentRequest(Base):
    """A partner's request to approach matching participants about one study."""

    __tablename__ = "recruitment_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[str] = mapped_column(
        String(24), unique=True, comment="random public id; sequential ids would be guessable"
    )
    status: Mapped[str] = mapped_column(String(16), default=SUBMITTED, index=True)
    study_title: Mapped[str] = mapped_column(String(TITLE_MAX))
    sponsor: Mapped[str] = mapped_column(String(SPONSOR_MAX))
    ethics_reference: Mapped[str] = mapped_column(String(16), comment="IRAS ID")
    criteria: Mapped[dict[str, Any]] = mapped_column(JSON, comment="the document as validated")
    catalogue_version: Mapped[str] = mapped_column(String(16))
    target: Mapped[int] = mapped_column(comment="participants the study hopes to recruit")
    contact_from: Mapped[dt.date]
    contact_until: Mapped[dt.date]
    lay_summary: Mapped[str | None] = mapped_column(Text, comment="read to the patient")

    partner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    organisation: Mapped[str | None] = mapped_column(
        String(200), index=True, comment="the partner's at submission: who may follow it"
    )
    submitted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[dt.datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    list_cap: Mapped[int | None] = mapped_column(
        comment="at most this many listed, chosen at random among those eligible at approval"
    )
    confirmed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), comment="the second admin, under the two-person rule"
    )
    opened_at: Mapped[dt.datetime | None]
    closed_at: Mapped[dt.datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    def __repr__(self) -> str:
        return f"<RecruitmentRequest {self.request_id} {self.status}>"


class RecruitmentContact(Base):
    """One matching participant on a request's frozen list, or held back from it."""

    __tablename__ = "recruitment_contact"
    __table_args__ = (
        UniqueConstraint("request_pk", "participant_pk"),
        Index("ix_recruitment_contact_request_site", "request_pk", "site_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("recruitment_request.id"))
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"))
    status: Mapped[str] = mapped_column(String(20), comment="to_contact, an outcome, or held_back")
    held_back_reason: Mapped[str | None] = mapped_column(String(24))
    listed_at: Mapped[dt.datetime]
    status_at: Mapped[dt.datetime]
    status_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approached_at: Mapped[dt.datetime | None] = mapped_column(
        comment="first outcome that meant they were spoken to; counts toward contact fatigue"
    )
    removed_at: Mapped[dt.datetime | None] = mapped_column(
        comment="left every list (withdrawal, consent change): never shown or counted again"
    )
    removed_reason: Mapped[str | None] = mapped_column(String(24))


class ContactEvent(Base):
    """A contact's status history, for the funnel over time."""

    __tablename__ = "recruitment_contact_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("recruitment_contact.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class ContactListVisit(Base):
    """When a user last looked at a request's list, so the list can show what is new."""

    __tablename__ = "recruitment_list_visit"
    __table_args__ = (UniqueConstraint("request_pk", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_pk: Mapped[int] = mapped_column(ForeignKey("recruitment_request.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    seen_at: Mapped[dt.datetime]
