"""Helpers shared by the benchmarks in this directory (not a test, not part of the app)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import NullPool

from registry.crypto.fields import FieldCipher, FieldContext, new_dek
from registry.participants.models import SEALED_COLUMNS

# Representative plaintexts, to size the random stand-ins for each sealed column.
SAMPLE_IDENTITY = {
    "nhs_number_sealed": "9990123454",
    "given_name_sealed": "Harpreet",
    "family_name_sealed": "Williams",
    "date_of_birth_sealed": "1987-03-14",
    "postcode_sealed": "B15 2TT",
    "email_sealed": "harpreet.williams123@example.org",
    "phone_sealed": "07700900123",
}


def sealed_widths() -> dict[str, int]:
    """Bytes a real seal of a typical value takes, per sealed participant column."""
    cipher = FieldCipher(new_dek())
    widths = {
        column: len(cipher.seal(value, context=FieldContext("participant", column, "P-1")))
        for column, value in SAMPLE_IDENTITY.items()
    }
    assert set(widths) == set(SEALED_COLUMNS)
    return widths


def admin_engine(server_url: str) -> Engine:
    """An autocommit engine on the server's ``postgres`` database, to create and drop others."""
    return create_engine(
        make_url(server_url).set(database="postgres"),
        isolation_level="AUTOCOMMIT",
        poolclass=NullPool,
    )


def loaded_note(admin: Engine, name: str) -> str | None:
    """What a benchmark wrote on database ``name`` once its population was loaded ("" if
    the load did not finish; None if there is no such database)."""
    with admin.connect() as conn:
        note: str | None = conn.scalar(
            text(
                "SELECT coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database "
                "WHERE datname = :name"
            ),
            {"name": name},
        )
    return note


def recreate_database(admin: Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))


def mark_loaded(admin: Engine, name: str, note: str) -> None:
    """Say on the database what was loaded, once it all was: a half-made one never matches."""
    with admin.connect() as conn:
        conn.execute(text(f"COMMENT ON DATABASE \"{name}\" IS '{note}'"))


def database_on(server_url: str, name: str) -> str:
    """The URL of database ``name`` on the server ``server_url`` names."""
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


@contextmanager
def serving(environment: dict[str, str], log_path: Path) -> Iterator[int]:
    """``registry serve`` (gunicorn) on a free loopback port with these settings; its
    port, and stopped afterwards. Its log goes to ``log_path``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    registry = Path(sys.executable).with_name("registry")
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603 - our own console script
            [str(registry), "serve", "--bind", f"127.0.0.1:{port}"],
            env={**os.environ, **environment},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"gunicorn did not start; see {log_path}")
            time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
