"""The migrations are the only way a schema is made: they must match the models exactly."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.util.exc import CommandError

from registry.migrations import check
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
