"""Declarative base, naming convention, UTC timestamps and the per-request session.

The request (or CLI command) owns the transaction: actions only flush; ``commit`` happens
once at the boundary (see ``registry.__init__``) and any error rolls everything back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import DateTime, MetaData, Select, Table, create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on both databases (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use registry.db.utcnow()")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _configure_sqlite(engine: Engine) -> None:
    """Make SQLite transactions real: foreign keys on, WAL, and BEGIN IMMEDIATE.

    pysqlite's own transaction handling defers BEGIN and breaks SAVEPOINTs, so we emit
    BEGIN ourselves (SQLAlchemy's documented recipe). IMMEDIATE takes the write lock at the
    start, which serialises writers: the embedded database's equivalent of the row and
    advisory locks used on PostgreSQL (audit chain head, duplicate detection).
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA busy_timeout = 30000")
        # Overwrite freed pages, so a shredded participant's ciphertext does not linger.
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """Engine and session factory for one app; kept in ``app.extensions``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_postgresql(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def init_app(self, app: Flask) -> None:
        app.extensions["registry.db"] = self
        app.teardown_appcontext(_close_session)


def database() -> Database:
    db: Database = current_app.extensions["registry.db"]
    return db


def table_of(model: type[Base]) -> Table:
    """A model's table, for Core statements where the ORM's per-row work would cost more
    than the round trip (hot paths: enrolment, the audit append)."""
    table = model.__table__
    assert isinstance(table, Table)  # each model maps one table
    return table


def session() -> Session:
    """The session of the current request or command, opened on first use."""
    if "db_session" not in g:
        g.db_session = database().sessionmaker()
    db_session: Session = g.db_session
    return db_session


@contextmanager
def attempt() -> Iterator[None]:
    """Run an action that may refuse after writing something (a saved query before its first
    version) in a savepoint: if it raises, what it wrote is undone there and then, so a page
    that shows the refusal reads the database as stored. The transaction itself stays the
    request boundary's to commit or roll back."""
    with session().begin_nested():
        yield


def count_of(statement: Select[Any]) -> int:
    """How many rows ``statement`` finds, in one query, whatever its ordering."""
    counted = select(func.count()).select_from(statement.order_by(None).subquery())
    return int(session().scalar(counted) or 0)


def rows_of(statement: Select[Any], *, first: int, size: int) -> list[Any]:
    """``size`` rows of ``statement`` from the ``first`` (counting from 0): one page."""
    return list(session().scalars(statement.limit(size).offset(first)))


def _close_session(exc: BaseException | None) -> None:
    db_session: Session | None = g.pop("db_session", None)
    if db_session is not None:
        if exc is not None:
            db_session.rollback()
        db_session.close()
