"""Rating-scale assessments and antidepressant treatment trials of a participant.

Clinical rows: deleted with the participant on full withdrawal, so they cascade.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow


class Assessment(Base):
    __tablename__ = "assessment"
    __table_args__ = (
        Index("ix_assessment_latest", "participant_pk", "instrument", "administered_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_pk: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    instrument: Mapped[str] = mapped_column(String(12), comment="e.g. PHQ9")
    scale_version: Mapped[str] = mapped_column(String(16), comment="instruments.toml version")
    administered_on: Mapped[dt.date]
    items: Mapped[list[int] | None] = mapped_column(JSON, comment="null when only a total")
    total: Mapped[int]
    subscales: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    band: Mapped[str] = mapped_column(String(40))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<Assessment {self.instrument} {self.administered_on} total={self.total}>"


class TreatmentTrial(Base):
    """One antidepressant trial in the current episode (TRD)."""

    __tablename__ = "treatment_trial"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_pk: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), index=True
    )
    drug: Mapped[str] = mapped_column(String(80))
    started_on: Mapped[dt.date] = mapped_column(comment="month precision: its first day")
    adequate_dose: Mapped[bool] = mapped_column(Boolean)
    weeks: Mapped[int]
    outcome: Mapped[str] = mapped_column(
        String(20), comment="response, partial_response, non_response or intolerance"
    )
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<TreatmentTrial {self.started_on} {self.outcome}>"
