"""Backup, restore and the check that a restore is whole.

PostgreSQL: ``pg_dump --format=custom`` and ``pg_restore`` (triggers come back after the
data, so the append-only rules hold again once the restore ends). SQLite: the online
backup API, consistent while the app runs. The keyring is never in a backup: the database
without its keys reveals no identity, and a backup is only useful with them; keep the
keyring's own copies apart (see the README's runbook).
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, func, inspect, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from registry.audit.actions import verify_chain
from registry.crypto.errors import CryptoError
from registry.db import session
from registry.participants.identity import unseal_identity
from registry.participants.models import (
    SEALED_COLUMNS,
    STATUS_SHREDDED,
    NhsNumberIndex,
    Participant,
    ParticipantKey,
)


class BackupError(RuntimeError):
    """A backup or restore that cannot go ahead; the message says why."""


def backup(database_url: str, out: Path) -> None:
    url = make_url(database_url)
    if out.exists():
        raise BackupError(f"{out} exists; a backup never overwrites a file")
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(_sqlite_path(url)) as source, sqlite3.connect(out) as target:
            source.backup(target)
        return
    _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--file={out}"], url)


def restore(backup_file: Path, database_url: str) -> None:
    """Into a database with no tables: a restore never merges into live data."""
    if not backup_file.is_file():
        raise BackupError(f"no backup at {backup_file}")
    url = make_url(database_url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        tables = inspect(engine).get_table_names()
    finally:
        engine.dispose()
    if tables:
        raise BackupError("the target database has tables; restore into a new, empty one")
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(backup_file) as source, sqlite3.connect(_sqlite_path(url)) as target:
            source.backup(target)
        return
    _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", str(backup_file)], url)


@dataclass(frozen=True)
class RestoreCheck:
    audit_intact: bool
    audit_events: int
    participants: int
    decrypted: int
    shredded: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.audit_intact and not self.problems


def check_restore(progress: Callable[[int], None] | None = None) -> RestoreCheck:
    """The audit chain verifies, every participant's identity decrypts with the keyring,
    and every shredded participant stays shredded (no key, no index, no sealed value)."""
    db = session()
    chain = verify_chain(db)
    problems: list[str] = []
    if not chain.intact:
        problems.append(f"audit chain broken at seq {chain.first_broken_seq}")
    decrypted = shredded = total = 0
    for participant in db.scalars(select(Participant).order_by(Participant.id)).yield_per(500):
        total += 1
        if participant.status == STATUS_SHREDDED:
            shredded += 1
            if not _stays_shredded(participant):
                problems.append(
                    f"shredded participant {participant.participant_id} has key material"
                )
        else:
            try:
                unseal_identity(participant)
                decrypted += 1
            except CryptoError:
                problems.append(f"participant {participant.participant_id} does not decrypt")
        if progress is not None:
            progress(1)
    return RestoreCheck(chain.intact, chain.events, total, decrypted, shredded, tuple(problems))


def participant_count() -> int:
    return int(session().scalar(select(func.count()).select_from(Participant)) or 0)


def _stays_shredded(participant: Participant) -> bool:
    db = session()
    return (
        db.get(ParticipantKey, participant.id) is None
        and db.get(NhsNumberIndex, participant.id) is None
        and all(getattr(participant, column) is None for column in SEALED_COLUMNS)
    )


def _sqlite_path(url: URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up or restored")
    return url.database


def _run(command: list[str], url: URL) -> None:
    """Run a PostgreSQL client with the URL's connection; the password goes by environment,
    never on the command line where ps would show it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    args = [
        *command,
        f"--host={url.host or '127.0.0.1'}",
        f"--port={url.port or 5432}",
        f"--username={url.username or os.environ.get('USER', 'postgres')}",
        f"--dbname={url.database}",
    ]
    # A fixed program and arguments from the configured URL, as a list: no shell involved.
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise BackupError(f"{command[0]} failed: {last}")
