"""Data-access grants, the researchers on them, and the record of every extract made.

A grant is an approved study's licence to the data: which cohorts, which variables, which
consent items each participant must have given, how dates are generalised, and until when.
Its ``study_key`` keys the study pseudonyms and the date shifts, so two studies' extracts
cannot be linked on either; a renewal of the same study carries the key over.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow

DATE_MONTH = "month"
DATE_SHIFT = "shift"
DATE_POLICIES = (DATE_MONTH, DATE_SHIFT)

ACTIVE = "active"
EXPIRED = "expired"
REVOKED = "revoked"

TITLE_MAX = 200
ETHICS_REFERENCE_MAX = 32


class DataAccessGrant(Base):
    """One approved study's access to pseudonymised extracts."""

    __tablename__ = "data_access_grant"

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[str] = mapped_column(
        String(24), unique=True, comment="random public id; sequential ids would be guessable"
    )
    study_key: Mapped[str] = mapped_column(
        String(32),
        index=True,
        comment="random; keys study pseudonyms and date shifts; shared only by renewals",
    )
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    ethics_reference: Mapped[str] = mapped_column(
        String(ETHICS_REFERENCE_MAX), comment="IRAS ID or REC reference"
    )
    cohorts: Mapped[list[str]] = mapped_column(JSON, comment="approved cohorts, e.g. [TRD]")
    variables: Mapped[list[str]] = mapped_column(
        JSON, comment="approved catalogue variables, e.g. participants.sex"
    )
    consent_items: Mapped[list[str]] = mapped_column(
        JSON, comment="items each participant must currently have granted"
    )
    date_policy: Mapped[str] = mapped_column(String(8), comment="month or shift")
    max_shift_days: Mapped[int | None] = mapped_column(
        comment="shift policy: offsets are 1..N days either way, secret, per participant"
    )
    catalogue_version: Mapped[str] = mapped_column(String(16))
    expires_on: Mapped[dt.date] = mapped_column(comment="last day extracts may be made")
    renews_id: Mapped[int | None] = mapped_column(
        ForeignKey("data_access_grant.id"), comment="the earlier grant of the same study"
    )
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    def status_on(self, day: dt.date) -> str:
        if self.revoked_at is not None:
            return REVOKED
        return EXPIRED if day > self.expires_on else ACTIVE

    def __repr__(self) -> str:
        return f"<DataAccessGrant {self.grant_id}>"


class GrantResearcher(Base):
    """A researcher named on a grant; removal is kept (when, by whom), not deleted."""

    __tablename__ = "grant_researcher"
    __table_args__ = (UniqueConstraint("grant_pk", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    grant_pk: Mapped[int] = mapped_column(ForeignKey("data_access_grant.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    added_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[dt.datetime | None]
    removed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class DataExport(Base):
    """One extract as released: what it held, file by file. Append-only evidence."""

    __tablename__ = "data_export"

    id: Mapped[int] = mapped_column(primary_key=True)
    export_id: Mapped[str] = mapped_column(String(24), unique=True, comment="random public id")
    grant_pk: Mapped[int] = mapped_column(ForeignKey("data_access_grant.id"), index=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id"), comment="null when made with the registry export command"
    )
    channel: Mapped[str] = mapped_column(String(8), comment="api, web or cli")
    file_format: Mapped[str] = mapped_column(String(8), comment="csv or parquet")
    participants: Mapped[int]
    variables: Mapped[list[str]] = mapped_column(JSON)
    files: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, comment="name, rows, bytes and SHA-256 of each file"
    )
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<DataExport {self.export_id}>"
