"""Benchmark of eligibility counts over a large synthetic population on PostgreSQL (not a test).

Run from the repository root::

    PYTHONPATH=. .venv/bin/python scripts/bench/eligibility.py [--participants N]
        [--database-url postgresql+psycopg://root@127.0.0.1:5432/postgres] [--fresh]
        [--repetitions R] [--explain]

For five typical criteria sets (and the first again as a partner), in the same run:

- engine: ``parse_criteria`` + ``count_statement``, compiled and executed, as in a request;
- hand SQL: the same question written by hand as SQL text (the same contactability and
  cohort conditions, the same date cut-offs), executed on the same connection; both must
  give the same count;
- HTTP: ``POST /api/v1/eligibility/count`` under gunicorn (``registry serve``, 2 workers)
  with an API token over one keep-alive connection; each call also writes its audit
  event, part of the real cost;
- ``EXPLAIN (ANALYZE, BUFFERS)`` of each engine statement: the scans and indexes it uses
  (``--explain`` prints the plans in full);
- partner against researcher (issue #18): each of the five questions asked through
  ``count_eligible``, the action the API calls, by a researcher (the exact count) and by a
  partner (the count released through their organisation's privacy budget: the budget row
  locked, the stored-answer lookup, the ledger summed, a charge appended, OpenDP's noise,
  the published answer stored), each call committed as the request boundary commits it.
  The benchmark's settings turn the consistency window off, so every partner call is
  charged as a fresh question, against an allowance that never runs out.

Median and p95 of R timed repetitions after a warm-up, interleaved so drift hits all alike.
Targets: the engine within 1.5x of the hand SQL, and under 250 ms median (issue #6); a
partner's count within 1.2x of a researcher's (issue #18); over 1,000,000 participants on a
2-core machine.

The population is kept between runs in the database ``registry_bench_eligibility`` on that
server, or the one ``REGISTRY_BENCH_DATABASE`` names (a trial build that leaves the other
alone), with its keyring and settings in ``.cache/bench/<database>/``; it is rebuilt with
``--fresh`` or when it holds another number of participants. It is bulk-loaded with COPY,
not enrolled: each person of the demo generator (``registry.demo.seed``: the same
Birmingham mix, cohorts, scores and treatment histories as ``registry demo seed``) becomes
the rows enrolment writes for them (their identity sealed under a data key of their own,
that key wrapped in ``participant_key``, their NHS number's blind index in
``nhs_number_index`` at the width ``expected_population`` plans for this many people), so
that duplicate checks at enrolment (``scripts/bench/load.py``) meet as many candidates as
in a real registry of this size; and the facts row ``facts_values`` computes from their
consent, latest scores and failed trials, which is all eligibility reads (with ``site``).
There are no consent records or clinical records. The enrolment path itself is
benchmarked by ``scripts/bench/seed.py``.

The NHS numbers are not the demo generator's: its test range (999...) has only some 818,000
valid numbers, and load.py enrols fresh ones from it. Each participant's is instead nine
digits from their primary key and a check digit that fails Modulus 11: nobody's number,
and never one an enrolment brings, since enrolment refuses it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import closing
from dataclasses import dataclass, replace
from itertools import islice
from pathlib import Path
from statistics import median, quantiles
from typing import Any

from _common import (
    admin_engine,
    database_on,
    loaded_note,
    mark_loaded,
    recreate_database,
    serving,
)
from flask import current_app
from psycopg import sql
from sqlalchemy import Select, create_engine, func, select, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from registry import create_app
from registry.assessments.instruments import instrument, score_items
from registry.assessments.treatment import (
    Staging,
    TreatmentFacts,
    current_definition,
)
from registry.audit.actions import Actor
from registry.auth.actions import create_user, issue_token, revoke_token
from registry.auth.models import Site, User
from registry.auth.permissions import Role
from registry.config import Settings
from registry.crypto.keys import LocalKeyring
from registry.db import database, session
from registry.demo.seed import (
    DEMO_SITES,
    PeopleGenerator,
    SyntheticPerson,
    ensure_demo_sites,
)
from registry.eligibility.actions import count_eligible
from registry.eligibility.commands import CountEligible
from registry.eligibility.compiler import Audience, count_statement, months_before
from registry.eligibility.criteria import parse_criteria
from registry.enrolment.actions import participant_columns
from registry.enrolment.commands import Enrol
from registry.facts.derive import facts_values
from registry.migrations import upgrade
from registry.participants.identity import SealedIdentity, nhs_number_index
from registry.participants.models import STATUS_ACTIVE
from registry.participants.synthetic import check_digit
from registry.privacy.mechanism import ROUND_TO, SMALL
from registry.privacy.models import PrivacyCharge

# Another name keeps a trial build (at another size, say) away from the one in use.
DATABASE_NAME = os.environ.get("REGISTRY_BENCH_DATABASE", "registry_bench_eligibility")
WORK_DIR = Path(__file__).resolve().parents[2] / ".cache" / "bench" / DATABASE_NAME
CHUNK = 10_000  # participants per loader task and transaction; a small build still uses 2 cores
TARGET_RATIO = 1.5
TARGET_MEDIAN_MS = 250.0
TARGET_PARTNER_RATIO = 1.2
GUNICORN_WORKERS = 2
# The benchmark asks the same questions many times a minute, which the API and partner
# limits exist to stop; raised here so it can, while every check still runs per request.
# No consistency window: a partner's every question is charged and noised afresh (the
# dearer path), from an allowance the run never exhausts.
BENCH_SETTINGS = """\
[registry]
api_rate_limit = "1000000 per minute"
partner_query_limit = "1000000 per hour"
privacy_allowance = 1000000.0
privacy_consistency_hours = 0
"""


@dataclass(frozen=True, eq=False)  # compared (and hashed) by identity
class Question:
    label: str
    criteria: dict[str, Any]
    # The same question by hand. :aged_N is the latest birth-month start of someone aged N
    # today, :onset_N_months the same for an onset N months ago (see cut_offs).
    where: str


def _clause(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


QUESTIONS = (
    Question(
        "TRD 18-65, PHQ-9 >= 15, >= 2 failed trials",
        {
            "cohort": "TRD",
            "all": [
                _clause("age", "between", [18, 65]),
                _clause("latest_score.PHQ9", ">=", 15),
                _clause("failed_adequate_trials", ">=", 2),
            ],
        },
        "contactable AND cohort = 'TRD'"
        " AND birth_month_start <= :aged_18 AND birth_month_start > :aged_66"
        " AND score_phq9 >= 15 AND failed_adequate_trials >= 2",
    ),
    Question(
        "EP 18-35, onset <= 36 months, PANSS >= 60",
        {
            "cohort": "EP",
            "all": [
                _clause("age", "between", [18, 35]),
                _clause("months_since_onset", "<=", 36),
                _clause("latest_score.PANSS", ">=", 60),
            ],
        },
        "contactable AND cohort = 'EP'"
        " AND birth_month_start <= :aged_18 AND birth_month_start > :aged_36"
        " AND psychosis_onset > :onset_37_months AND score_panss >= 60",
    ),
    Question(
        "TRD, Asian/Black/Mixed/Other, IMD decile <= 3",
        {
            "cohort": "TRD",
            "all": [
                _clause("ethnicity_group", "in", ["asian", "black", "mixed", "other"]),
                _clause("imd_decile", "<=", 3),
            ],
        },
        "contactable AND cohort = 'TRD'"
        " AND ethnicity_group IN ('asian', 'black', 'mixed', 'other') AND imd_decile <= 3",
    ),
    Question(
        "18-65, severe EP or TRD (any), none F31 / no record access",
        {
            "all": [
                _clause("age", "between", [18, 65]),
                {
                    "any": [
                        {
                            "all": [
                                _clause("cohort", "=", "EP"),
                                _clause("latest_score.PANSS", ">=", 90),
                            ]
                        },
                        {
                            "all": [_clause("cohort", "=", "TRD")],
                            "any": [
                                _clause("latest_score.PHQ9", ">=", 20),
                                _clause("latest_score.MADRS", ">=", 35),
                            ],
                        },
                    ]
                },
            ],
            "none": [
                _clause("diagnosis_icd10", "startswith", "F31"),
                _clause("consent.record_access", "=", False),
            ],
        },
        "contactable AND birth_month_start <= :aged_18 AND birth_month_start > :aged_66"
        " AND ((cohort = 'EP' AND score_panss >= 90)"
        " OR (cohort = 'TRD' AND (score_phq9 >= 20 OR score_madrs >= 35)))"
        " AND (diagnosis_icd10 IS NULL OR diagnosis_icd10 NOT LIKE 'F31%')"
        " AND consent_record_access",
    ),
    Question(
        "EP 16-40 at 2 sites, female, consent to samples",
        {
            "cohort": "EP",
            "all": [
                _clause("site", "in", ["RXT", "RQ3"]),
                _clause("sex", "=", "female"),
                _clause("consent.samples", "=", True),
                _clause("age", "between", [16, 40]),
            ],
        },
        "contactable AND cohort = 'EP'"
        " AND site_id IN (SELECT id FROM site WHERE code IN ('RXT', 'RQ3'))"
        " AND sex = 'female' AND consent_samples"
        " AND birth_month_start <= :aged_16 AND birth_month_start > :aged_41",
    ),
)
PARTNER_QUESTION = QUESTIONS[0]


@dataclass(frozen=True, eq=False)  # compared (and hashed) by identity
class Case:
    """A question as one audience asks it."""

    label: str
    question: Question
    audience: Audience

    @property
    def role(self) -> Role:
        return Role.RESEARCHER if self.audience == "researcher" else Role.PARTNER

    @property
    def hand_sql(self) -> str:
        where = self.question.where
        if self.audience == "partner":
            where += " AND consent_commercial_partners"
        return f"SELECT count(*) FROM participant_facts WHERE {where}"  # noqa: S608 - constants

    def statement(self) -> Select[Any]:
        criteria = parse_criteria(self.question.criteria, role=self.role)
        return count_statement(criteria, audience=self.audience)


CASES = (
    *(Case(f"{i}. {q.label}", q, "researcher") for i, q in enumerate(QUESTIONS, start=1)),
    Case("1 as a partner (+ commercial consent)", PARTNER_QUESTION, "partner"),
)


def cut_offs(today: dt.date) -> dict[str, dt.date]:
    """The hand-written queries' dates, worked out as the compiler works out its own."""
    dates = {f"aged_{years}": months_before(today, 12 * years) for years in (16, 18, 36, 41, 66)}
    dates["onset_37_months"] = months_before(today, 37)
    return dates


# -- the population ------------------------------------------------------------------------


def bench_environment(url: str, participants: int) -> dict[str, str]:
    """Settings for this process and for gunicorn alike, as environment variables, for a
    population of ``participants``."""
    config = WORK_DIR / "registry.toml"
    config.write_text(BENCH_SETTINGS)
    return {
        "REGISTRY_CONFIG": str(config),
        "REGISTRY_MODE": "development",
        "DATABASE_URL": url,
        "REGISTRY_KEYRING": str(WORK_DIR / "keyring.json"),
        "REGISTRY_INSTANCE_PATH": str(WORK_DIR / "instance"),
        "REGISTRY_WORKERS": str(GUNICORN_WORKERS),
        # The blind index width a registry of this size plans (18 bits at 1,000,000), for
        # the rows loaded and those enrolled later alike.
        "REGISTRY_EXPECTED_POPULATION": str(participants),
    }


def ensure_population(server_url: str, count: int, *, fresh: bool, seed: int) -> str:
    """Make (or reuse) the benchmark database with ``count`` participants; say what was done."""
    url = database_on(server_url, DATABASE_NAME)
    WORK_DIR.mkdir(parents=True, exist_ok=True, mode=0o700)
    keyring = WORK_DIR / "keyring.json"
    # Written on the database once it is loaded and vacuumed: a half-made one never matches.
    wanted_note = f"eligibility benchmark: {count} participants with identities, seed {seed}"
    admin = admin_engine(server_url)
    note = loaded_note(admin, DATABASE_NAME)
    if fresh:
        reason = "--fresh"
    elif note is None:
        reason = "it did not exist"
    elif not keyring.exists():
        # Its audit chain was signed with a key that is gone: start again rather than mix.
        reason = f"its keyring {keyring} is missing"
    elif note != wanted_note:
        reason = f"it held {note!r}" if note else "an earlier load did not finish"
    else:
        upgrade(url)  # a migration added since it was loaded (an index, say)
        return f"reused {DATABASE_NAME} ({wanted_note}; --fresh rebuilds it)"

    recreate_database(admin, DATABASE_NAME)
    keyring.unlink(missing_ok=True)
    LocalKeyring.create(keyring)
    upgrade(url)
    environment = bench_environment(url, count)
    app = create_app(Settings.load(environment))
    with app.app_context():
        ensure_demo_sites(by=Actor.command_line())
        session().commit()
    app.extensions["registry.db"].engine.dispose()

    started = time.perf_counter()
    _load(environment, count, seed)
    loaded_in = time.perf_counter() - started
    started = time.perf_counter()
    _settle(url)
    settled_in = time.perf_counter() - started
    mark_loaded(admin, DATABASE_NAME, wanted_note)
    admin.dispose()
    return (
        f"built {DATABASE_NAME} ({reason}): {count:,} participants loaded in {loaded_in:.0f} s "
        f"({count / loaded_in:,.0f}/s), then VACUUM ANALYZE {settled_in:.0f} s"
    )


def _load(environment: dict[str, str], count: int, seed: int) -> None:
    """COPY the population in chunks, one process per core making and writing them."""
    chunks = [(first, min(CHUNK, count - first + 1)) for first in range(1, count + 1, CHUNK)]
    loaded = 0
    with ProcessPoolExecutor(
        max_workers=os.cpu_count() or 1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_loader,
        initargs=(environment,),
    ) as pool:
        futures = [pool.submit(_load_chunk, first, size, seed) for first, size in chunks]
        for future in as_completed(futures):
            loaded += future.result()
            print(f"\rloaded {loaded:,} of {count:,}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)


def _start_loader(environment: dict[str, str]) -> None:
    # facts_values reads the trial definition from the app's settings.
    create_app(Settings.load(environment)).app_context().push()


def _load_chunk(first_pk: int, size: int, seed: int) -> int:
    today = dt.date.today()
    now = dt.datetime.now(dt.UTC)
    definition = current_definition()
    engine: Engine = database().engine
    with engine.connect() as conn:
        site_ids = {code: site_id for code, site_id in conn.execute(select(Site.code, Site.id))}
    # One stream per chunk, so chunks can be made in parallel; one seed, one population.
    people = PeopleGenerator(
        seed=seed * 1_000_000_000 + first_pk,
        today=today,
        settings=current_app.config["SETTINGS"],
        definition=definition,
    )
    # Written in this order: the keys and index rows refer to the participant rows.
    tables: dict[str, list[dict[str, Any]]] = {
        "participant": [],
        "participant_key": [],
        "nhs_number_index": [],
        "participant_facts": [],
    }
    for pk, person in enumerate(islice(people, size), start=first_pk):
        enrolment = replace(person.enrolment, nhs_number=bench_nhs_number(pk))
        # As enrol_batch writes them: sealed identity, wrapped data key, blind index row.
        sealed = SealedIdentity.seal(enrolment.identity(f"P-BENCH{pk:09d}"))
        row = participant_row(pk, enrolment, sealed, site_ids, today=today, now=now)
        index_value, bits = nhs_number_index(enrolment.nhs_number)
        tables["participant"].append(row)
        tables["participant_key"].append({"participant_pk": pk, **sealed.key_row})
        tables["nhs_number_index"].append(
            {"participant_pk": pk, "index_value": index_value, "bits": bits}
        )
        tables["participant_facts"].append(
            facts_values(
                row,
                consent=enrolment.consent.items.by_item(),
                latest_scores=latest_totals(person),
                treatment=TreatmentFacts(
                    definition.failed_treatments(person.trials, row["episode_start"]),
                    # Not staged: the bench's queries never select on the Maudsley score.
                    Staging(None, "Not staged by the bench."),
                ),
            )
        )
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert connection is not None  # a checked-out connection always has one
        with connection.cursor() as cursor:
            for table, rows in tables.items():
                columns = list(rows[0])
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                with cursor.copy(statement) as copy:
                    for values in rows:
                        copy.write_row(tuple(values.values()))
        connection.commit()
    finally:
        raw.close()
    return size


def bench_nhs_number(pk: int) -> str:
    """Participant ``pk``'s NHS number, one that fails Modulus 11 (see the module docstring)."""
    first_nine = f"{pk:09d}"
    check = check_digit(first_nine)  # None: no tenth digit makes these nine valid
    return f"{first_nine}{0 if check is None else (check + 1) % 10}"


def participant_row(
    pk: int,
    enrolment: Enrol,
    sealed: SealedIdentity,
    site_ids: Mapping[str, int],
    *,
    today: dt.date,
    now: dt.datetime,
) -> dict[str, Any]:
    """The participant row enrolment would write, under the benchmark's own primary key."""
    assert enrolment.site is not None  # the generator names each person's site
    return {
        "id": pk,
        "participant_id": sealed.participant_id,
        **participant_columns(enrolment, site_id=site_ids[enrolment.site], enrolled_on=today),
        "status": STATUS_ACTIVE,
        "created_at": now,
        **sealed.columns,
    }


def latest_totals(person: SyntheticPerson) -> dict[str, int]:
    """Each instrument's latest total by date, a later entry winning a tie: as the facts
    refresh reads them."""
    by_date = sorted(person.assessments, key=lambda assessment: assessment.administered_on)
    latest = {assessment.instrument: assessment for assessment in by_date}
    return {code: score_items(instrument(code), a.items).total for code, a in latest.items()}


def _settle(url: str) -> None:
    """Set the id sequence past the loaded ids, and VACUUM ANALYZE: statistics for the
    planner and a visibility map, as autovacuum would leave a table that settled."""
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        conn.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('participant', 'id'), "
                "(SELECT max(id) FROM participant))"
            )
        )
        conn.execute(
            text(
                "VACUUM (ANALYZE) participant, participant_key, nhs_number_index, "
                "participant_facts, site"
            )
        )
    engine.dispose()


# -- measuring -----------------------------------------------------------------------------


PATHS = ("engine", "hand", "http")
Samples = dict[str, list[float]]  # milliseconds by path


def time_counts(
    conn: Connection,
    server: http.client.HTTPConnection,
    tokens: Mapping[Role, str],
    *,
    warmup: int,
    repetitions: int,
) -> tuple[dict[Case, Samples], dict[Case, int]]:
    """Milliseconds per count by each path, interleaved; and each case's true count."""
    params = cut_offs(dt.date.today())
    hand = {case: text(case.hand_sql) for case in CASES}
    count_by: dict[str, Callable[[Case], int | str]] = {
        "engine": lambda case: int(conn.execute(case.statement()).scalar_one()),
        "hand": lambda case: int(conn.execute(hand[case], params).scalar_one()),
        "http": lambda case: _post_count(server, tokens[case.role], case),
    }
    counts = {}
    for case in CASES:
        answers = {path: count(case) for path, count in count_by.items()}
        true_count = counts[case] = int(answers["engine"])
        if answers["hand"] != true_count or not _agrees(case, true_count, answers["http"]):
            raise SystemExit(f"{case.label}: the paths disagree: {answers}")
        for _ in range(warmup):
            for count in count_by.values():
                count(case)
    samples: dict[Case, Samples] = {case: {path: [] for path in PATHS} for case in CASES}
    for _ in range(repetitions):
        for case in CASES:
            for path, count in count_by.items():
                started = time.perf_counter()
                count(case)
                samples[case][path].append((time.perf_counter() - started) * 1000)
    return samples, counts


def _agrees(case: Case, true_count: int, answer: int | str) -> bool:
    """A researcher's answer is the exact count; a partner's is noisy, so only its published
    form can be checked."""
    if case.audience == "researcher":
        return answer == true_count
    return answer == SMALL or (isinstance(answer, int) and answer % ROUND_TO == 0)


ASKERS = (Role.RESEARCHER, Role.PARTNER)
ByAsker = dict[Role, list[float]]  # milliseconds by who asked


def time_actions(
    users: Mapping[Role, User], *, warmup: int, repetitions: int
) -> dict[Question, ByAsker]:
    """Milliseconds per ``count_eligible`` call (committed, as a request is) for a researcher
    and a partner asking the same questions, interleaved, the first asker alternating."""
    commands = {question: CountEligible(question.criteria, breakdown=()) for question in QUESTIONS}

    def ask(question: Question, role: Role) -> None:
        user = users[role]
        count_eligible(commands[question], user=user, by=Actor.for_user(user))
        session().commit()

    for _ in range(warmup):
        for question in QUESTIONS:
            for role in ASKERS:
                ask(question, role)
    samples: dict[Question, ByAsker] = {q: {role: [] for role in ASKERS} for q in QUESTIONS}
    for repetition in range(repetitions):
        for question in QUESTIONS:
            for role in ASKERS if repetition % 2 == 0 else ASKERS[::-1]:
                started = time.perf_counter()
                ask(question, role)
                samples[question][role].append((time.perf_counter() - started) * 1000)
    return samples


def charges_in_ledger(organisation: str) -> int:
    """How many charges the organisation's ledger holds: what each partner call sums."""
    return int(
        session().scalar(select(func.count()).where(PrivacyCharge.organisation == organisation))
        or 0
    )


def _post_count(connection: http.client.HTTPConnection, token: str, case: Case) -> int | str:
    body = json.dumps({"criteria": case.question.criteria})
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    connection.request("POST", "/api/v1/eligibility/count", body=body, headers=headers)
    response = connection.getresponse()
    payload = response.read()
    if response.status != 200:
        raise SystemExit(f"{case.label}: HTTP {response.status} {payload[:300]!r}")
    count: int | str = json.loads(payload)["count"]
    return count


BENCH_ORGANISATION = "Benchmark Ltd"


def bench_user(role: Role, number: int = 0) -> User:
    """Benchmark user ``number`` of ``role``, made on first use; clinicians work at the first
    demo site, partners for ``BENCH_ORGANISATION``."""
    email = f"bench-{role.value}{number or ''}@example.org"
    user = session().scalar(select(User).where(User.email == email))
    if user is None:
        user = create_user(
            email=email,
            name=f"Benchmark {role.value}",
            role=role,
            site_code=DEMO_SITES[0][0] if role is Role.CLINICIAN else None,
            organisation=BENCH_ORGANISATION if role is Role.PARTNER else None,
            by=Actor.command_line(),
        ).user
    return user


def bench_tokens(
    roles: tuple[Role, ...] = (Role.RESEARCHER, Role.PARTNER), number: int = 0
) -> dict[Role, tuple[int, str]]:
    """A fresh one-day API token (id, secret) for benchmark user ``number`` of each role."""
    actor = Actor.command_line()
    tokens = {}
    for role in roles:
        user = bench_user(role, number)
        issued = issue_token(user, name="benchmark", expires_days=1, by=actor)
        tokens[role] = (issued.token.id, issued.secret)
    session().commit()
    return tokens


# -- plans ---------------------------------------------------------------------------------


def explain(conn: Connection, statement: Select[Any], *, as_text: bool) -> Any:
    compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    form = "TEXT" if as_text else "JSON"
    result = conn.exec_driver_sql(
        f"EXPLAIN (ANALYZE, BUFFERS, FORMAT {form}) {compiled}", compiled.params
    )
    return "\n".join(result.scalars()) if as_text else result.scalar_one()[0]


def _nodes(plan: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def plan_summary(explained: Mapping[str, Any]) -> tuple[str, str, str]:
    """(scans, indexes, cost): what each scan reads, the indexes used, time and buffers."""
    nodes = list(_nodes(explained["Plan"]))
    scans = []
    for node in nodes:
        if "Relation Name" in node or "Index Name" in node:
            scan = ("Parallel " if node["Parallel Aware"] else "") + node["Node Type"]
            if "Relation Name" in node:
                scan += f" on {node['Relation Name']}"
            if "Index Name" in node:
                scan += f" using {node['Index Name']}"
            scans.append(scan)
    indexes = sorted({node["Index Name"] for node in nodes if "Index Name" in node})
    workers = max((node.get("Workers Launched", 0) for node in nodes), default=0)
    top = explained["Plan"]
    cost = (
        f"{explained['Execution Time']:.0f} ms, {workers} parallel workers, buffers "
        f"{top['Shared Hit Blocks']:,} hit / {top['Shared Read Blocks']:,} read"
    )
    if "JIT" in explained:
        cost += f", JIT {explained['JIT']['Timing']['Total']:.0f} ms"
    return "; ".join(scans), ", ".join(indexes) or "none", cost


# -- report --------------------------------------------------------------------------------


def _p95(values: list[float]) -> float:
    return quantiles(values, n=20, method="inclusive")[-1]


def _spread(values: list[float]) -> str:
    return f"{median(values):.1f} | {_p95(values):.1f}"


def _ratio(samples: Samples) -> float:
    return median(samples["engine"]) / median(samples["hand"])


def report(
    samples: Mapping[Case, Samples],
    counts: Mapping[Case, int],
    plans: Mapping[Case, tuple[str, str, str]],
    *,
    participants: int,
    repetitions: int,
    server: str,
) -> None:
    print(
        f"\n### Eligibility counts over {participants:,} participants\n\n"
        f"{server}. Median and p95 of {repetitions} runs, in milliseconds. HTTP: one "
        f"keep-alive connection to gunicorn ({GUNICORN_WORKERS} workers); each call also checks "
        "the token and rate limits and appends its audit event (partners: and the "
        "privacy budget's charge, noise and stored answer).\n"
    )
    print(
        "| query | matches | engine median | engine p95 | hand SQL median | hand SQL p95 "
        "| engine / hand | HTTP median | HTTP p95 |"
    )
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for case in CASES:
        s = samples[case]
        print(
            f"| {case.label} | {counts[case]:,} | {_spread(s['engine'])} | {_spread(s['hand'])} "
            f"| {_ratio(s):.2f}x | {_spread(s['http'])} |"
        )
    every = {path: [ms for case in CASES for ms in samples[case][path]] for path in PATHS}
    print(
        f"| all of the above | | {_spread(every['engine'])} | {_spread(every['hand'])} "
        f"| {_ratio(every):.2f}x | {_spread(every['http'])} |"
    )

    print("\n| query | plan of the engine statement | indexes | EXPLAIN ANALYZE |")
    print("|---|---|---|---|")
    for case in CASES:
        scans, indexes, cost = plans[case]
        print(f"| {case.label} | {scans} | {indexes} | {cost} |")

    worst = max(_ratio(samples[case]) for case in CASES)
    slowest = max(median(samples[case]["engine"]) for case in CASES)
    print(
        f"\nengine / hand SQL: worst query {worst:.2f}x, overall {_ratio(every):.2f}x "
        f"(target <= {TARGET_RATIO}x): {_verdict(worst <= TARGET_RATIO)}"
    )
    print(
        f"engine median: slowest query {slowest:.1f} ms, overall {median(every['engine']):.1f} ms "
        f"(target < {TARGET_MEDIAN_MS:.0f} ms): {_verdict(slowest < TARGET_MEDIAN_MS)}"
    )


def report_partner(samples: Mapping[Question, ByAsker], *, repetitions: int, charges: int) -> None:
    print(
        "\n### A partner's count against a researcher's (the same questions, same run)\n\n"
        f"`count_eligible` as the API calls it, committed; median and p95 of {repetitions} "
        "runs, in milliseconds. The partner's every call is a fresh question: charged to the "
        f"ledger (its organisation's holds {charges:,} charges at the end), noised and stored.\n"
    )
    print(
        "| question | researcher median | researcher p95 | partner median | partner p95 "
        "| partner / researcher |"
    )
    print("|---|--:|--:|--:|--:|--:|")
    for number, question in enumerate(QUESTIONS, start=1):
        s = samples[question]
        print(
            f"| {number}. {question.label} | {_spread(s[Role.RESEARCHER])} "
            f"| {_spread(s[Role.PARTNER])} | {_asker_ratio(s):.2f}x |"
        )
    every = {role: [ms for q in QUESTIONS for ms in samples[q][role]] for role in ASKERS}
    print(
        f"| all of the above | {_spread(every[Role.RESEARCHER])} | {_spread(every[Role.PARTNER])} "
        f"| {_asker_ratio(every):.2f}x |"
    )
    worst = max(_asker_ratio(samples[q]) for q in QUESTIONS)
    print(
        f"\npartner / researcher: worst question {worst:.2f}x, overall "
        f"{_asker_ratio(every):.2f}x (target <= {TARGET_PARTNER_RATIO}x): "
        f"{_verdict(worst <= TARGET_PARTNER_RATIO)}"
    )


def _asker_ratio(samples: Mapping[Role, list[float]]) -> float:
    return median(samples[Role.PARTNER]) / median(samples[Role.RESEARCHER])


def _verdict(ok: bool) -> str:
    return "within target" if ok else "OVER target"


def describe_server(conn: Connection) -> str:
    described = str(conn.scalar(text("SELECT version()"))).split(" on ")[0]
    for setting in ("shared_buffers", "work_mem", "max_parallel_workers_per_gather", "jit"):
        described += f", {setting} {conn.scalar(text(f'SHOW {setting}'))}"
    load = os.getloadavg()[0]
    return f"{described}; {os.cpu_count()} cores, load average {load:.1f} at the start"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--participants", type=int, default=1_000_000)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="a PostgreSQL server URL (default: DATABASE_URL)",
    )
    parser.add_argument("--fresh", action="store_true", help="rebuild the population")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--repetitions", type=int, default=21)
    parser.add_argument("--explain", action="store_true", help="print every plan in full")
    args = parser.parse_args(argv)
    if not (args.database_url or "").startswith("postgresql"):
        parser.error("give a PostgreSQL server with --database-url or DATABASE_URL")
    if args.participants < 1 or args.repetitions < 2:
        parser.error("need at least 1 participant and 2 repetitions")

    done = ensure_population(args.database_url, args.participants, fresh=args.fresh, seed=args.seed)
    print(done, file=sys.stderr)
    environment = bench_environment(
        database_on(args.database_url, DATABASE_NAME), args.participants
    )
    app = create_app(Settings.load(environment))
    with app.app_context():
        tokens = bench_tokens()
        engine: Engine = database().engine
        try:
            with (
                engine.connect() as conn,
                serving(environment, WORK_DIR / "gunicorn.log") as port,
                closing(http.client.HTTPConnection("127.0.0.1", port, timeout=60)) as server,
            ):
                described = describe_server(conn)
                samples, counts = time_counts(
                    conn,
                    server,
                    {role: secret for role, (_, secret) in tokens.items()},
                    warmup=args.warmup,
                    repetitions=args.repetitions,
                )
                partner_samples = time_actions(
                    {role: bench_user(role) for role in ASKERS},
                    warmup=args.warmup,
                    repetitions=args.repetitions,
                )
                charges = charges_in_ledger(BENCH_ORGANISATION)
                plans = {}
                for case in CASES:
                    plans[case] = plan_summary(explain(conn, case.statement(), as_text=False))
                    if args.explain:
                        plan = explain(conn, case.statement(), as_text=True)
                        print(f"\n-- {case.label}\n{plan}")
        finally:
            for token_id, _ in tokens.values():
                revoke_token(token_id, by=Actor.command_line())
            session().commit()
            engine.dispose()
    # Other work on the machine shows in every figure: say how busy it was.
    described += f"; {os.getloadavg()[0]:.1f} at the end"

    print(done)
    report(
        samples,
        counts,
        plans,
        participants=args.participants,
        repetitions=args.repetitions,
        server=described,
    )
    report_partner(partner_samples, repetitions=args.repetitions, charges=charges)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
