"""0015 keeps the trials recorded before the coded history readable: a name on the list
takes its name and code, every row becomes an antidepressant trial, and each row lists what
its old record could not give."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Date,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    insert,
    select,
)

from registry.db import make_engine
from registry.migrations import upgrade
from tests.conftest import fresh_database

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _filler(column: Any) -> Any:
    """A value of the column's type for a column the test does not care about."""
    kind = column.type
    if isinstance(kind, Boolean):
        return False
    if isinstance(kind, Integer):
        return 1
    if isinstance(kind, DateTime):
        return NOW
    if isinstance(kind, Date):
        return dt.date(2025, 6, 1)
    if isinstance(kind, JSON):
        return {}
    if isinstance(kind, LargeBinary):
        return b"x"
    if isinstance(kind, String):
        return "x"[: kind.length or 1]
    raise AssertionError(f"no filler for {column}")


def add_row(connection: Connection, tables: MetaData, name: str, **values: Any) -> int:
    """Insert a row, filling each required column not given (and a parent row for each
    required foreign key); its id."""
    table: Table = tables.tables[name]
    row = dict(values)
    for column in table.columns:
        if column.name in row or column.nullable or column.primary_key:
            continue
        if column.server_default is not None:
            continue
        if column.foreign_keys:
            (fk,) = column.foreign_keys
            row[column.name] = add_row(connection, tables, fk.column.table.name)
        else:
            row[column.name] = _filler(column)
    return int(connection.execute(insert(table).values(row).returning(table.c.id)).scalar_one())


def test_trials_from_before_0015_are_mapped_and_marked(tmp_path: Path) -> None:
    with fresh_database(tmp_path, migrated=False) as url:
        upgrade(url, "0012")
        engine = make_engine(url)
        try:
            tables = MetaData()
            tables.reflect(engine)
            with engine.begin() as connection:
                person = add_row(connection, tables, "participant", cohort="TRD")
                old = {"participant_pk": person, "adequate_dose": True, "weeks": 8}
                for name in ("sertraline", "lustral", "lithium", "st john's wort"):
                    add_row(
                        connection,
                        tables,
                        "treatment_trial",
                        **old,
                        drug=name,
                        started_on=dt.date(2025, 7, 1),
                        outcome="non_response",
                        recorded_at=NOW,
                    )

            upgrade(url)

            after = MetaData()
            after.reflect(engine, only=["treatment_trial"])
            trials = after.tables["treatment_trial"]
            with engine.connect() as connection:
                rows = connection.execute(
                    select(
                        trials.c.drug,
                        trials.c.drug_code,
                        trials.c.modality,
                        trials.c.adherence,
                        trials.c.not_recovered,
                    ).order_by(trials.c.id)
                ).all()
        finally:
            engine.dispose()
    never = ["dose", "ended_on", "adherence", "response_percent", "stop_reason"]
    assert [tuple(row) for row in rows] == [
        ("sertraline", "777521008", "antidepressant", "unknown", never),
        ("sertraline", "777521008", "antidepressant", "unknown", never),  # a brand name
        # On the list, but no antidepressant: likely an augmentation the old form could
        # not say; lithium's code is still to confirm.
        ("lithium", None, "antidepressant", "unknown", ["modality", *never]),
        ("st john's wort", None, "antidepressant", "unknown", ["drug_code", *never]),
    ]
