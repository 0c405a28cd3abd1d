"""Alembic environment: the URL comes from registry.migrations (or -x url=… on the CLI)."""

from __future__ import annotations

from alembic import context

import registry.models  # noqa: F401 - registers every table on Base.metadata
from registry.db import Base, UTCDateTime, make_engine

config = context.config
url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
    "sqlalchemy.url"
)
if not url:
    raise SystemExit("no database URL: use `registry db upgrade` or `alembic -x url=…`")


def render_item(type_: str, obj: object, autogen_context: object) -> str | bool:
    """Render our UTC datetime type as the plain column type it stores, so revisions never
    import application code."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def run_migrations_online() -> None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
                compare_type=True,
                render_item=render_item,
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


run_migrations_online()
