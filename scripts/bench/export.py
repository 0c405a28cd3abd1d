"""Benchmark of researchers' extracts over a large synthetic population (not a test).

Run from the repository root::

    PYTHONPATH=. .venv/bin/python scripts/bench/export.py [--participants N]
        [--database-url postgresql+psycopg://root@127.0.0.1:5432/postgres] [--fresh]

Seeds N participants with ``registry demo seed`` (the enrolment path: consent records,
assessments, trials, facts), then ``VACUUM ANALYZE`` as autovacuum would have done by
the time anyone exports. On PostgreSQL (``--database-url`` or ``DATABASE_URL``) the
population is kept between runs in the database ``registry_bench_export`` (keyring in
``.cache/bench/``), rebuilt with ``--fresh`` or when it holds another number of people;
without a server, a SQLite file in a temporary directory. Each run records a new
data-access grant for every variable in the catalogue, both
cohorts, no consent item required beyond joining (so that everyone is in it) and dates
shifted (the costlier policy), and names a researcher on it. Then, each in a process of
its own so that its peak memory is its own (``ru_maxrss`` of that child, ``os.wait4``):

- baseline: ``registry keys status`` (the interpreter, Flask, SQLAlchemy, the app);
- ``registry export --format csv`` and ``--format parquet`` (the command, progress bar on);
- the API: ``POST /api/v1/grants/<id>/exports`` through the app's test client, the ZIP
  streamed to a file as a server would send it;
- FHIR: ``GET /api/v1/grants/<id>/fhir?per_page=500``, the first page.

Target (issue #9): 100,000 participants within 60 s and under 500 MB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import admin_engine, loaded_note, mark_loaded, recreate_database
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from registry.crypto.keys import LocalKeyring
from registry.migrations import upgrade

TARGET_SECONDS = 60.0
TARGET_MB = 500.0
REGISTRY = str(Path(sys.executable).with_name("registry"))


DATABASE_NAME = "registry_bench_export"
WORK_DIR = Path(__file__).resolve().parents[2] / ".cache" / "bench" / DATABASE_NAME


@contextmanager
def population(server_url: str | None, count: int, *, fresh: bool) -> Iterator[tuple[str, Path]]:
    """(database URL, work directory) holding ``count`` seeded participants."""
    if server_url is None:
        with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp_name:
            tmp = Path(tmp_name)
            url = f"sqlite:///{tmp / 'registry_bench.sqlite3'}"
            upgrade(url)
            LocalKeyring.create(tmp / "keyring.json")
            _seed(url, tmp, count)
            yield url, tmp
        return
    url = make_url(server_url).set(database=DATABASE_NAME).render_as_string(hide_password=False)
    wanted_note = f"export benchmark: {count} participants"
    admin = admin_engine(server_url)
    note = loaded_note(admin, DATABASE_NAME)
    if fresh or note != wanted_note or not (WORK_DIR / "keyring.json").exists():
        recreate_database(admin, DATABASE_NAME)
        WORK_DIR.mkdir(parents=True, exist_ok=True)
        (WORK_DIR / "keyring.json").unlink(missing_ok=True)
        LocalKeyring.create(WORK_DIR / "keyring.json")
        upgrade(url)
        _seed(url, WORK_DIR, count)
        mark_loaded(admin, DATABASE_NAME, wanted_note)
    else:
        upgrade(url)
        print(f"reusing {DATABASE_NAME} ({wanted_note}; --fresh rebuilds it)", file=sys.stderr)
    admin.dispose()
    yield url, WORK_DIR


def _seed(url: str, work: Path, count: int) -> None:
    print(f"seeding {count:,} participants...", file=sys.stderr)
    seconds, _, _ = measured(
        [REGISTRY, "demo", "seed", "--participants", str(count)], environment(url, work, count)
    )
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE" if url.startswith("postgresql") else "ANALYZE"))
    engine.dispose()
    print(f"seeded in {seconds:.0f} s", file=sys.stderr)


def environment(url: str, work: Path, count: int) -> dict[str, str]:
    return {
        **os.environ,
        "REGISTRY_MODE": "development",
        "DATABASE_URL": url,
        "REGISTRY_KEYRING": str(work / "keyring.json"),
        "REGISTRY_INSTANCE_PATH": str(work / "instance"),
        "REGISTRY_EXPECTED_POPULATION": str(max(count, 100_000)),
        "REGISTRY_LOG_LEVEL": "WARNING",
        "PYTHONPATH": os.pathsep.join(filter(None, [os.getcwd(), os.environ.get("PYTHONPATH")])),
    }


def measured(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """(seconds, peak resident MB, stdout) of a child process; it must succeed."""
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and console script
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    assert child.stdout is not None
    output = child.stdout.read()
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:3])} failed ({child.returncode}): {output[-500:]}")
    return elapsed, usage.ru_maxrss / 1024, output  # Linux: ru_maxrss is in KiB


def set_up_grant(env: dict[str, str]) -> tuple[str, str]:
    """Record the grant and a researcher with a token; (grant id, token)."""
    from registry import create_app
    from registry.audit.actions import Actor
    from registry.auth import actions as auth_actions
    from registry.auth.permissions import Role
    from registry.config import Settings
    from registry.db import session
    from registry.exports.actions import create_grant
    from registry.exports.catalogue import VARIABLES
    from registry.exports.commands import CreateGrant

    app = create_app(Settings.load(env))
    with app.test_request_context():
        by = Actor.command_line()
        researcher = auth_actions.create_user(
            email=f"bench.researcher.{secrets.token_hex(4)}@example.nhs.uk",
            name="Bench Researcher",
            role=Role.RESEARCHER,
            password=secrets.token_urlsafe(24),
            by=by,
        ).user
        token = auth_actions.issue_token(researcher, name="bench", expires_days=1, by=by).secret
        grant = create_grant(
            CreateGrant(
                title="Benchmark study",
                ethics_reference="1004567",
                cohorts=["EP", "TRD"],
                variables=list(VARIABLES),
                consent_items=[],
                date_policy="shift",
                max_shift_days=180,
                expires_on=dt.date.today() + dt.timedelta(days=30),
                researchers=[researcher.email],
                renews=None,
            ),
            by=by,
        )
        session().commit()
        grant_id = grant.grant_id
    app.extensions["registry.db"].engine.dispose()
    return grant_id, token


def child(mode: str, grant_id: str, token: str, out: Path) -> None:
    """In a fresh interpreter: one request through the app, the response to ``out``."""
    from registry import create_app

    app = create_app()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    if mode == "api":
        response = client.post(
            f"/api/v1/grants/{grant_id}/exports", json={"format": "csv"}, headers=headers
        )
    else:
        response = client.get(f"/api/v1/grants/{grant_id}/fhir?per_page=500", headers=headers)
    if response.status_code != 200:
        raise SystemExit(f"{mode}: {response.status_code} {response.get_data(as_text=True)[:300]}")
    size = 0
    with out.open("wb") as file:
        for chunk in response.iter_encoded():  # streamed, as a WSGI server sends it
            file.write(chunk)
            size += len(chunk)
    response.close()
    print(json.dumps({"bytes": size}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=100_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="a PostgreSQL server URL (default: DATABASE_URL); SQLite if neither",
    )
    parser.add_argument("--fresh", action="store_true", help="seed the population again")
    parser.add_argument("--child", choices=("api", "fhir"), help=argparse.SUPPRESS)
    parser.add_argument("--grant", help=argparse.SUPPRESS)
    parser.add_argument("--token", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.grant, args.token, args.out)
        return 0

    count = args.participants
    backend = "PostgreSQL" if args.database_url else "SQLite"
    with (
        population(args.database_url, count, fresh=args.fresh) as (url, work),
        tempfile.TemporaryDirectory(prefix="registry-bench-out-") as out_name,
    ):
        tmp = Path(out_name)
        env = environment(url, work, count)
        grant_id, token = set_up_grant(env)
        results = [("baseline: registry keys status", *measured([REGISTRY, "keys", "status"], env))]
        manifests = {}
        for file_format in ("csv", "parquet"):
            out = tmp / f"extract-{file_format}"
            command = [REGISTRY, "export", "--grant", grant_id, "--out", str(out)]
            seconds, mb, _ = measured([*command, "--format", file_format], env)
            manifests[file_format] = json.loads((out / "manifest.json").read_text())
            results.append((f"registry export --format {file_format}", seconds, mb, ""))
        for mode, label in (
            ("api", "API: POST .../exports (csv, ZIP)"),
            ("fhir", "API: GET .../fhir?per_page=500"),
        ):
            out = tmp / f"{mode}.out"
            seconds, mb, output = measured(
                [sys.executable, __file__, "--child", mode, "--grant", grant_id,
                 "--token", token, "--out", str(out)],
                env,
            )  # fmt: skip
            results.append((label, seconds, mb, json.loads(output)["bytes"]))

    csv_manifest = manifests["csv"]
    print(f"Python {sys.version.split()[0]}, {backend}, {count:,} participants seeded")
    print(f"load average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(
        f"extract: {csv_manifest['participants']:,} participants; rows: "
        + ", ".join(f"{f['name']} {f['rows']:,}" for f in csv_manifest["files"])
    )
    for file_format, manifest in manifests.items():
        total = sum(f["bytes"] for f in manifest["files"])
        print(f"{file_format} files: {total / 1e6:.1f} MB")
    print(f"{'what':<38} {'seconds':>8} {'peak MB':>8}")
    print("-" * 56)
    for label, seconds, mb, _ in results:
        print(f"{label:<38} {seconds:>8.1f} {mb:>8.0f}")
    print("-" * 56)
    for label, seconds, mb, _ in results[1:4]:
        verdict = "within target" if seconds < TARGET_SECONDS and mb < TARGET_MB else "OVER target"
        print(
            f"{label}: {seconds:.1f} s for {csv_manifest['participants']:,} participants "
            f"(target < {TARGET_SECONDS:.0f} s), peak {mb:.0f} MB (< {TARGET_MB:.0f}): {verdict}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
