"""The privacy budget of each partner organisation: what it may spend, what it spent (an
append-only ledger), and the answers it was given, kept for the consistency window."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Float, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow

ORGANISATION_MAX = 200
QUESTION_MAX = 64


class PrivacyBudget(Base):
    """One row per organisation that has asked: its allowance, and the row locked while a
    question is charged, so two questions cannot both spend the last of it."""

    __tablename__ = "privacy_budget"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(
        String(ORGANISATION_MAX), unique=True, comment="a partner organisation, or one account"
    )
    allowance: Mapped[float | None] = mapped_column(
        Float, comment="zCDP rho per rolling period; null takes the setting's default"
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PrivacyCharge(Base):
    """One question's cost to its organisation's budget. Never changed or deleted: the
    sum over the rolling period is what was spent (triggers and grants keep it so)."""

    __tablename__ = "privacy_charge"
    __table_args__ = (Index("ix_privacy_charge_organisation_at", "organisation", "charged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(ORGANISATION_MAX))
    question: Mapped[str] = mapped_column(
        String(QUESTION_MAX), comment="digest of the normalised question"
    )
    purpose: Mapped[str] = mapped_column(String(64), comment="what was released, e.g. eligibility")
    cost: Mapped[float] = mapped_column(Float, comment="zCDP rho")
    charged_by: Mapped[str] = mapped_column(String(200), comment="the actor's audit label")
    charged_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class PublishedAnswer(Base):
    """What an organisation was told for a question, returned again unchanged (at no cost)
    within the consistency window rather than drawn afresh or recomputed."""

    __tablename__ = "privacy_published_answer"
    __table_args__ = (
        Index("ix_privacy_published_answer_question", "organisation", "question", "published_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation: Mapped[str] = mapped_column(String(ORGANISATION_MAX))
    question: Mapped[str] = mapped_column(String(QUESTION_MAX))
    answer: Mapped[dict[str, Any]] = mapped_column(JSON, comment="the published figures only")
    published_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
