"""Benchmark of synthetic seeding against raw inserts of the same rows (not a test).

Run from the repository root::

    PYTHONPATH=. .venv/bin/python scripts/bench/seed.py [--participants N] [--batch-size B]
        [--database-url postgresql+psycopg://root@127.0.0.1:5432/postgres]

Times ``registry demo seed --participants N`` on a fresh database (a SQLite file in a
temporary directory; and on PostgreSQL when ``--database-url`` or ``DATABASE_URL`` names a
server, where a ``registry_bench_<random>`` database is made and dropped). The baseline,
measured in the same run on another fresh database of the same backend: a hand-written
executemany of N participant rows of the same width (precomputed values, random bytes for
the sealed columns; no crypto, no validation, no other table), committed per batch like the
seed. The ratio is what safety costs over raw inserts: validation by construction, sealing,
the duplicate check, consent history, facts, the audit chain and the clinical records.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from _common import admin_engine, database_on, sealed_widths
from sqlalchemy import Table, create_engine, func, insert, select, text
from sqlalchemy.pool import NullPool

from registry import create_app
from registry.auth.models import Site
from registry.config import Settings
from registry.crypto.keys import LocalKeyring
from registry.migrations import upgrade
from registry.participants.models import Participant

TARGET_SECONDS_PER_100K = 120.0
TABLES = (
    "participant",
    "participant_key",
    "nhs_number_index",
    "consent_record",
    "consent_item_event",
    "participant_facts",
    "assessment",
    "treatment_trial",
    "audit_event",
)


@contextmanager
def fresh_database(server_url: str | None, tmp: Path) -> Iterator[str]:
    """A new, migrated database: SQLite in ``tmp``, or a new database on the server."""
    if server_url is None:
        url = f"sqlite:///{tmp / f'registry_bench_{secrets.token_hex(4)}.sqlite3'}"
        upgrade(url)
        yield url
        return
    name = f"registry_bench_{secrets.token_hex(6)}"
    admin = admin_engine(server_url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = database_on(server_url, name)
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def raw_rows(count: int) -> list[dict[str, Any]]:
    """Participant rows as the seed writes them, precomputed; sealed columns random bytes."""
    widths = sealed_widths()
    today = dt.date.today()
    return [
        {
            "participant_id": f"P-{i:012d}",
            "cohort": "TRD" if i % 5 < 3 else "EP",
            "site_id": 1,
            "status": "active",
            "created_at": dt.datetime.now(dt.UTC),
            **{column: os.urandom(width) for column, width in widths.items()},
            "birth_year": 1960 + i % 40,
            "birth_month": 1 + i % 12,
            "postcode_district": f"B{1 + i % 76}",
            "enrolled_on": today,
            "enrolled_by_id": None,
            "sex": "female",
            "gender_identity": "2",
            "ethnicity": "J",
            "ethnicity_group": "asian",
            "imd_decile": 1 + i % 10,
            "imd_version": "IoD2019",
            "diagnosis_icd10": "F33.2",
            "psychosis_onset": None,
            "first_antipsychotic_on": None,
            "eip_accepted_on": None,
            "dup_weeks": None,
            "episode_start": today.replace(day=1),
        }
        for i in range(count)
    ]


def time_raw_inserts(url: str, count: int, batch_size: int) -> float:
    rows = raw_rows(count)
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(insert(Site), {"code": "RAW", "name": "Raw baseline"})
        table = cast(Table, Participant.__table__)  # typed FromClause; a model's is a Table
        started = time.perf_counter()
        for start in range(0, count, batch_size):
            with engine.begin() as conn:
                conn.execute(insert(table), rows[start : start + batch_size])
        return time.perf_counter() - started
    finally:
        engine.dispose()


def time_seed(url: str, tmp: Path, count: int, batch_size: int, seed: int) -> tuple[float, str]:
    from registry.cli import main as registry_cli

    keyring = tmp / f"keyring-{secrets.token_hex(4)}.json"
    LocalKeyring.create(keyring)
    settings = Settings.from_mapping(
        {
            "mode": "development",
            "database_url": url,
            "keyring_path": str(keyring),
            "instance_path": str(tmp),
            "expected_population": max(count, 100_000),
        }
    )
    app = create_app(settings)
    args = ["demo", "seed", "--participants", str(count), "--batch-size", str(batch_size)]
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(registry_cli, [*args, "--seed", str(seed)])
    elapsed = time.perf_counter() - started
    if result.exit_code != 0:
        raise SystemExit(f"demo seed failed: {result.output.strip()}")
    with app.app_context():
        engine = app.extensions["registry.db"].engine
        with engine.connect() as conn:
            rows = sum(
                conn.execute(select(func.count()).select_from(text(table))).scalar_one()
                for table in TABLES
            )
        engine.dispose()
    return elapsed, f"{result.stdout.strip().splitlines()[-1]}; {rows / count:.1f} rows each"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="a PostgreSQL server URL (default: DATABASE_URL); SQLite only if neither",
    )
    args = parser.parse_args(argv)
    count = args.participants
    servers: list[tuple[str, str | None]] = [("SQLite", None)]
    if args.database_url:
        servers.append(("PostgreSQL", args.database_url))

    results = []
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for backend, server in servers:
            with fresh_database(server, tmp) as url:
                raw = time_raw_inserts(url, count, args.batch_size)
            with fresh_database(server, tmp) as url:
                seeded, note = time_seed(url, tmp, count, args.batch_size, args.seed)
            results.append((backend, raw, seeded, note))
            print(f"{backend}: raw {raw:.1f} s, seed {seeded:.1f} s ({note})", file=sys.stderr)

    print(f"Python {sys.version.split()[0]}, {count:,} participants, batches of {args.batch_size}")
    print(f"{'backend':<11} {'what':<26} {'seconds':>8} {'per second':>11} {'vs raw':>8}")
    print("-" * 68)
    for backend, raw, seeded, _ in results:
        print(
            f"{backend:<11} {'raw participant INSERTs':<26} {raw:>8.1f} {count / raw:>11,.0f} "
            f"{1.0:>7.1f}x"
        )
        print(
            f"{backend:<11} {'registry demo seed':<26} {seeded:>8.1f} {count / seeded:>11,.0f} "
            f"{seeded / raw:>7.1f}x"
        )
    print("-" * 68)
    for backend, _, seeded, note in results:
        per_100k = seeded * 100_000 / count
        verdict = "within target" if per_100k < TARGET_SECONDS_PER_100K else "OVER target"
        print(
            f"{backend}: {per_100k:.0f} s per 100,000 participants "
            f"(target < {TARGET_SECONDS_PER_100K:.0f} s): {verdict}; {note}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
