"""Reference populations loaded by admins, and the datasheet's edited sections; both
append-only: a change is a new version, so a published datasheet can be traced."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.db import Base, utcnow


class LoadedReference(Base):
    """One version of a reference population an admin loaded (e.g. an ICB's catchment)."""

    __tablename__ = "reference_population"
    __table_args__ = (UniqueConstraint("reference_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference_id: Mapped[str] = mapped_column(String(64), comment="e.g. icb-2021-bsol")
    version: Mapped[int] = mapped_column(comment="1, 2, ... per reference_id")
    name: Mapped[str] = mapped_column(String(200))
    geography: Mapped[str] = mapped_column(String(200))
    geography_code: Mapped[str | None] = mapped_column(String(16))
    year: Mapped[int]
    source: Mapped[str] = mapped_column(Text)
    shares_csv: Mapped[str] = mapped_column(Text, comment="the CSV as checked and loaded")
    kind: Mapped[str] = mapped_column(
        String(16),
        default="census",
        server_default="census",
        comment="census, need-based or caseload",
    )
    cohort: Mapped[str | None] = mapped_column(
        String(3), comment="the cohort it is the comparator for, if one"
    )
    loaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    loaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class DatasheetSection(Base):
    """One version of a free-text datasheet section for a cohort, as an admin wrote it."""

    __tablename__ = "datasheet_section"
    __table_args__ = (UniqueConstraint("cohort", "section", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    cohort: Mapped[str] = mapped_column(String(3))
    section: Mapped[str] = mapped_column(String(32))
    version: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
