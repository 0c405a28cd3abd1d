"""Saved eligibility queries: a named criteria document and its append-only versions."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.db import Base, utcnow

NAME_MAX = 120


class SavedQuery(Base):
    """Who wrote it and who may see it; the criteria live in its versions."""

    __tablename__ = "saved_query"

    id: Mapped[int] = mapped_column(primary_key=True)
    query_id: Mapped[str] = mapped_column(
        String(24), unique=True, comment="random public id; sequential ids would be guessable"
    )
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    owner_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    organisation: Mapped[str | None] = mapped_column(
        String(200),
        index=True,
        comment="the owner's at creation; null means it can never be shared",
    )
    # Every query is saved with its owner's role. The default is there because SQLite adds
    # a NOT NULL column only with one (migration 0011); no role is empty, so a row that
    # kept it would be shared with no one.
    owner_role: Mapped[str] = mapped_column(
        String(16),
        server_default="",
        comment="the owner's at creation; shared only with this role of the organisation",
    )
    shared: Mapped[bool] = mapped_column(default=False, comment="visible to its organisation")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    versions: Mapped[list[SavedQueryVersion]] = relationship(
        order_by="SavedQueryVersion.version", lazy="selectin", back_populates="saved_query"
    )

    def __repr__(self) -> str:
        return f"<SavedQuery {self.query_id}>"


class SavedQueryVersion(Base):
    """One version of a saved query's criteria; never edited, a change is a new version."""

    __tablename__ = "saved_query_version"
    __table_args__ = (UniqueConstraint("saved_query_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    saved_query_id: Mapped[int] = mapped_column(ForeignKey("saved_query.id"))
    version: Mapped[int] = mapped_column(comment="1, 2, ... within its saved query")
    criteria: Mapped[dict[str, Any]] = mapped_column(
        JSON, comment="the validated document as sent, and its normalised text"
    )
    breakdown: Mapped[list[str]] = mapped_column(JSON)
    catalogue_version: Mapped[str] = mapped_column(
        String(16), comment="the field catalogue it was written against"
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    saved_query: Mapped[SavedQuery] = relationship(back_populates="versions")
