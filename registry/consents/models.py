"""Consent-form (participant information sheet) versions, per cohort."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, LargeBinary, String, UniqueConstraint
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
