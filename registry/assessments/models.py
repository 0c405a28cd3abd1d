"""Rating-scale assessments and antidepressant treatment trials of a participant.

Clinical rows: deleted with the participant on full withdrawal, so they cascade.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Numeric, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow

# Why a record was voided: codes only, so no free text that might name someone reaches the
# record or the audit log. The words are what the timeline and pages say.
VOID_REASONS = {
    "wrong_participant": "entered against the wrong patient",
    "entered_twice": "entered twice",
    "wrong_details": "entered with wrong details (recorded again correctly)",
    "not_done": "recorded but not actually done",
}


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
    risk_prompt_shown_at: Mapped[dt.datetime | None] = mapped_column(
        comment="when the page asked the clinician to follow the risk procedure (PHQ-9 item 9)"
    )
    voided_at: Mapped[dt.datetime | None] = mapped_column(
        comment="set when voided: it then counts nowhere, and the timeline keeps it"
    )
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    void_reason: Mapped[str | None] = mapped_column(
        String(24), comment="VOID_REASONS in assessments/models.py"
    )

    def __repr__(self) -> str:
        return f"<Assessment {self.instrument} {self.administered_on} total={self.total}>"


class TreatmentTrial(Base):
    """One treatment trial in the current episode (TRD): a drug (antidepressant, augmenting
    or combined agent) from the coded list, or a non-drug treatment (ECT, rTMS, therapy)."""

    __tablename__ = "treatment_trial"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_pk: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), index=True
    )
    modality: Mapped[str] = mapped_column(
        String(24), default="antidepressant", comment="treatment.toml modalities"
    )
    drug: Mapped[str | None] = mapped_column(
        String(80), comment="drugs.toml name; free text on rows from before 0015 it matched none"
    )
    drug_code: Mapped[str | None] = mapped_column(
        String(20), comment="dm+d VTM code; null for non-drug modalities or an unconfirmed code"
    )
    drug_list_version: Mapped[str | None] = mapped_column(String(16))
    dose: Mapped[float | None] = mapped_column(Numeric(10, 3, asdecimal=False))
    dose_unit: Mapped[str | None] = mapped_column(String(10), comment="mg, microgram, sessions")
    started_on: Mapped[dt.date] = mapped_column(comment="month precision: its first day")
    ended_on: Mapped[dt.date | None] = mapped_column(comment="month precision; null if ongoing")
    adequate_dose: Mapped[bool] = mapped_column(Boolean)
    weeks: Mapped[int]
    adherence: Mapped[str] = mapped_column(
        String(10), default="unknown", comment="adequate, partial, poor or unknown"
    )
    outcome: Mapped[str] = mapped_column(
        String(20), comment="response, partial_response, non_response or intolerance"
    )
    response_percent: Mapped[int | None] = mapped_column(
        comment="improvement from baseline in %, negative if worse"
    )
    stop_reason: Mapped[str | None] = mapped_column(String(20))
    not_recovered: Mapped[list[str] | None] = mapped_column(
        JSON, comment="rows from before 0015: the new fields the old record could not give"
    )
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    voided_at: Mapped[dt.datetime | None] = mapped_column(
        comment="set when voided: it then counts nowhere, and the timeline keeps it"
    )
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    void_reason: Mapped[str | None] = mapped_column(
        String(24), comment="VOID_REASONS in assessments/models.py"
    )

    def __repr__(self) -> str:
        return f"<TreatmentTrial {self.modality} {self.started_on} {self.outcome}>"
