"""The migrations are the only way a schema is made: they must match the models exactly."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from alembic.util.exc import CommandError
from sqlalchemy import MetaData, insert, select

from registry.db import make_engine
from registry.migrations import check, upgrade
from tests.conftest import fresh_database


def test_models_and_migrations_do_not_drift(tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        check(url)  # raises CommandError listing every difference


def test_drift_is_detected(tmp_path: Path) -> None:
    from sqlalchemy import Column, Integer, Table

    from registry.db import Base

    with fresh_database(tmp_path) as url:
        extra = Table("drift_probe", Base.metadata, Column("id", Integer, primary_key=True))
        try:
            with pytest.raises(CommandError, match="New upgrade operations detected"):
                check(url)
        finally:
            Base.metadata.remove(extra)


def test_saved_queries_from_before_0011_take_their_owners_role(tmp_path: Path) -> None:
    """0011 keeps each saved query's owner role: queries already saved (with versions
    referring to them) get their owner's, so sharing stays within one role from the start."""
    now = dt.datetime.now(dt.UTC)
    with fresh_database(tmp_path, migrated=False) as url:
        upgrade(url, "0010")
        engine = make_engine(url)
        try:
            tables = MetaData()
            tables.reflect(engine, only=["user_account", "saved_query", "saved_query_version"])
            users, queries, versions = (
                tables.tables[name]
                for name in ("user_account", "saved_query", "saved_query_version")
            )
            owners = {}
            with engine.begin() as connection:
                for role in ("researcher", "partner"):
                    owners[role] = connection.execute(
                        insert(users)
                        .values(
                            email=f"{role}@example.nhs.uk",
                            name=role,
                            role=role,
                            organisation="Example Pharma Ltd",
                            password_hash="-",
                            session_generation=0,
                            password_must_change=False,
                            is_active=True,
                            created_at=now,
                        )
                        .returning(users.c.id)
                    ).scalar_one()
                    query_pk = connection.execute(
                        insert(queries)
                        .values(
                            query_id=f"q-{role}",
                            name="Adults",
                            owner_id=owners[role],
                            organisation="Example Pharma Ltd",
                            shared=True,
                            created_at=now,
                        )
                        .returning(queries.c.id)
                    ).scalar_one()
                    connection.execute(
                        insert(versions).values(
                            saved_query_id=query_pk,
                            version=1,
                            criteria={"document": {}, "normalised": "{}"},
                            breakdown=[],
                            catalogue_version="2026-1",
                            author_id=owners[role],
                            created_at=now,
                        )
                    )

            upgrade(url)

            tables = MetaData()
            tables.reflect(engine, only=["saved_query"])
            saved = tables.tables["saved_query"]
            with engine.connect() as connection:
                roles = dict(connection.execute(select(saved.c.owner_id, saved.c.owner_role)).all())
        finally:
            engine.dispose()
    assert roles == {owners["researcher"]: "researcher", owners["partner"]: "partner"}
