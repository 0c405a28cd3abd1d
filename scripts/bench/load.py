"""Load test: mixed traffic from many simulated users against gunicorn on PostgreSQL, over
the 1,000,000-participant benchmark population (not a test).

Run from the repository root::

    PYTHONPATH=. .venv/bin/python scripts/bench/load.py
        [--database-url postgresql+psycopg://root@127.0.0.1:5432/postgres]
        [--users 16] [--enrol-seconds 20] [--mixed-seconds 60] [--max-requests 100000]

The population is the eligibility benchmark's (``scripts/bench/eligibility.py`` builds or
reuses ``registry_bench_eligibility``). ``registry serve`` runs on a loopback port with its
configured workers; ``--users`` threads, each with a keep-alive connection and its own
token's role, send requests back to back:

1. enrolment only, to find how many enrolments a second the server sustains;
2. mixed traffic: enrolments (clinician), identifiable views and PHQ-9 entries for people
   enrolled in this run (clinician), and eligibility counts of the benchmark's five
   questions (researcher).

Reported per endpoint: requests, throughput, median and 99th-percentile latency, and
errors (any status other than the one expected; the target is none). Afterwards the
audit chain is verified from its first event. Targets (issue #10): at least 200
enrolments a second, and eligibility counts under 250 ms median at 1,000,000
participants, on a 2-core machine (the client threads share the cores with the server).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from statistics import median, quantiles
from typing import Any

from _common import serving
from eligibility import (
    DATABASE_NAME,
    QUESTIONS,
    WORK_DIR,
    bench_environment,
    bench_tokens,
    ensure_population,
)

from registry import create_app
from registry.audit.actions import Actor, verify_chain
from registry.auth.actions import revoke_token
from registry.auth.permissions import Role
from registry.config import Settings
from registry.consents.items import CONSENT_ITEMS
from registry.db import session
from registry.demo.seed import ensure_demo_consent_forms
from registry.participants.identity import enrolled_among
from registry.participants.synthetic import synthetic_nhs_numbers

TARGET_ENROLMENTS_PER_SECOND = 200.0
TARGET_COUNT_MEDIAN_MS = 250.0
MAX_ENROLMENTS = 60_000
PHQ9_ITEMS = [2, 2, 1, 2, 1, 2, 1, 1, 0]
# Mixed traffic: (operation, weight).
MIX = (("enrol", 0.40), ("view", 0.25), ("assessment", 0.20), ("count", 0.15))


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, operation: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[operation].append(seconds * 1000)
            if error:
                self.errors[operation].append(error)


class Traffic:
    """What the simulated users send; shared by the threads (the lists are thread-safe
    enough under the GIL for append and random choice)."""

    def __init__(self, tokens: dict[Role, list[str]], numbers: list[str]) -> None:
        # Each simulated user has a token of its own, as real users do: one shared token
        # would serialise every request on the update of its last use.
        self.tokens = tokens
        self.numbers = numbers
        self.numbers_lock = threading.Lock()
        self.enrolled: list[str] = []

    def next_number(self) -> str:
        with self.numbers_lock:
            return self.numbers.pop()

    def request(
        self, connection: http.client.HTTPConnection, role: Role, method: str, path: str,
        body: dict[str, Any] | None, expected: int,
    ) -> tuple[int, Any, str | None]:  # fmt: skip
        user = int(threading.current_thread().name.rsplit("-", 1)[-1])
        headers = {"Authorization": f"Bearer {self.tokens[role][user]}"}
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        data = response.read()
        error = None if response.status == expected else f"{response.status} {data[:200]!r}"
        return response.status, json.loads(data) if data else None, error

    def enrol(self, connection: http.client.HTTPConnection, rng: random.Random) -> str | None:
        cohort = rng.choice(("EP", "TRD"))
        status, body, error = self.request(
            connection, Role.CLINICIAN, "POST", "/api/v1/participants",
            _enrolment(cohort, self.next_number(), rng), 201,
        )  # fmt: skip
        if status == 201:
            self.enrolled.append(body["participant_id"])
        return error

    def view(self, connection: http.client.HTTPConnection, rng: random.Random) -> str | None:
        if not self.enrolled:
            return self.enrol(connection, rng)
        participant_id = rng.choice(self.enrolled)
        path = f"/api/v1/participants/{participant_id}"
        return self.request(connection, Role.CLINICIAN, "GET", path, None, 200)[2]

    def assessment(self, connection: http.client.HTTPConnection, rng: random.Random) -> str | None:
        if not self.enrolled:
            return self.enrol(connection, rng)
        participant_id = rng.choice(self.enrolled)
        body = {"instrument": "PHQ9", "administered_on": "2026-11-20", "items": PHQ9_ITEMS}
        path = f"/api/v1/participants/{participant_id}/assessments"
        return self.request(connection, Role.CLINICIAN, "POST", path, body, 201)[2]

    def count(self, connection: http.client.HTTPConnection, rng: random.Random) -> str | None:
        body = {"criteria": rng.choice(QUESTIONS).criteria}
        return self.request(
            connection, Role.RESEARCHER, "POST", "/api/v1/eligibility/count", body, 200
        )[2]


def _enrolment(cohort: str, nhs_number: str, rng: random.Random) -> dict[str, Any]:
    clinical = (
        {"diagnosis_icd10": "F33.2", "episode_start": "2025-06"}
        if cohort == "TRD"
        else {"diagnosis_icd10": "F20.0", "psychosis_onset": "2025-09"}
    )
    return {
        "cohort": cohort,
        "nhs_number": nhs_number,
        "given_name": "Load",
        "family_name": f"Test{rng.randrange(10**6)}",
        "date_of_birth": "1990-04-12" if cohort == "TRD" else "2001-02-03",
        "postcode": "B15 2TT",
        "sex": rng.choice(("female", "male")),
        "gender_identity": "2",
        "ethnicity": rng.choice("AHJKMN"),
        "imd_decile": rng.randrange(1, 11),
        "imd_version": "IoD2019",
        "consent": {
            "form_version": f"{cohort}-PIS-2.0",
            "signed_on": "2026-11-20",
            "items": dict.fromkeys(CONSENT_ITEMS, True),
        },
        "clinical": clinical,
    }


def run_phase(
    port: int, traffic: Traffic, *, users: int, seconds: float, max_requests: int,
    choose: Callable[[random.Random], str],
) -> tuple[Results, float]:  # fmt: skip
    """``users`` threads sending requests back to back until the time or count runs out."""
    results = Results()
    sent = 0
    sent_lock = threading.Lock()
    deadline = time.monotonic() + seconds
    start = threading.Barrier(users + 1)

    def user(index: int) -> None:
        nonlocal sent
        rng = random.Random(index)  # noqa: S311 - simulated traffic, not a secret
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        while time.monotonic() < deadline:
            with sent_lock:
                if sent >= max_requests:
                    return
                sent += 1
            operation = choose(rng)
            began = time.perf_counter()
            try:
                error = getattr(traffic, operation)(connection, rng)
            except (OSError, http.client.HTTPException) as exc:
                error = f"{type(exc).__name__}: {exc}"
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            results.record(operation, time.perf_counter() - began, error)
        connection.close()

    threads = [threading.Thread(target=user, args=(i,), name=f"user-{i}") for i in range(users)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return results, time.perf_counter() - began


def weighted(mix: tuple[tuple[str, float], ...]) -> Callable[[random.Random], str]:
    operations = [name for name, _ in mix]
    weights = [weight for _, weight in mix]
    return lambda rng: rng.choices(operations, weights)[0]


def report(title: str, results: Results, elapsed: float) -> None:
    print(f"\n### {title} ({elapsed:.1f} s)\n")
    print("| endpoint | requests | per second | median ms | p99 ms | errors |")
    print("|---|--:|--:|--:|--:|--:|")
    for operation, latencies in sorted(results.latencies.items()):
        p99 = quantiles(latencies, n=100)[98] if len(latencies) >= 2 else latencies[0]
        print(
            f"| {operation} | {len(latencies):,} | {len(latencies) / elapsed:.1f} | "
            f"{median(latencies):.1f} | {p99:.1f} | {len(results.errors[operation])} |"
        )
    for operation, errors in results.errors.items():
        for error in errors[:3]:
            print(f"  {operation} error: {error}")


def fresh_numbers(count: int) -> list[str]:
    """Synthetic NHS numbers nobody in the registry has (earlier runs enrolled some)."""
    generator = synthetic_nhs_numbers(random.Random(secrets.randbits(64)))  # noqa: S311
    candidates = [next(generator) for _ in range(count * 2)]
    taken = enrolled_among(candidates)
    return [number for number in candidates if number not in taken][:count]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"))
    parser.add_argument("--participants", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--enrol-seconds", type=float, default=20)
    parser.add_argument("--mixed-seconds", type=float, default=60)
    parser.add_argument("--max-requests", type=int, default=100_000)
    args = parser.parse_args(argv)
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url must name a PostgreSQL server")

    print(ensure_population(args.database_url, args.participants, fresh=False, seed=1))
    url = args.database_url.rsplit("/", 1)[0] + f"/{DATABASE_NAME}"
    environment = bench_environment(url, args.participants)
    app = create_app(Settings.load(environment))
    with app.app_context():
        ensure_demo_consent_forms(by=Actor.command_line())
        issued = [bench_tokens((Role.CLINICIAN, Role.RESEARCHER), n) for n in range(args.users)]
        # Enough for every request to be an enrolment, up to what a run can plausibly send.
        numbers = fresh_numbers(min(args.max_requests, MAX_ENROLMENTS))
        session().commit()
    traffic = Traffic(
        {
            role: [tokens[role][1] for tokens in issued]
            for role in (Role.CLINICIAN, Role.RESEARCHER)
        },
        numbers,
    )
    print(f"load {os.getloadavg()[0]:.1f} at the start; {args.users} users")
    try:
        with serving(environment, WORK_DIR / "gunicorn-load.log") as port:
            enrol_only, enrol_elapsed = run_phase(
                port, traffic, users=args.users, seconds=args.enrol_seconds,
                max_requests=args.max_requests, choose=lambda rng: "enrol",
            )  # fmt: skip
            mixed, mixed_elapsed = run_phase(
                port, traffic, users=args.users, seconds=args.mixed_seconds,
                max_requests=args.max_requests, choose=weighted(MIX),
            )  # fmt: skip
    finally:
        with app.app_context():
            for tokens in issued:
                for token_id, _ in tokens.values():
                    revoke_token(token_id, by=Actor.command_line())
            session().commit()
    print(f"load {os.getloadavg()[0]:.1f} at the end")
    report("enrolment only", enrol_only, enrol_elapsed)
    report("mixed traffic", mixed, mixed_elapsed)

    with app.app_context():
        chain = verify_chain(session())
    print(f"\naudit chain {'intact' if chain.intact else 'BROKEN'}: {chain.events:,} events")
    enrolments = len(enrol_only.latencies["enrol"]) / enrol_elapsed
    counts = mixed.latencies.get("count", [])
    count_median = median(counts) if counts else float("nan")
    errors = sum(len(e) for e in enrol_only.errors.values()) + sum(
        len(e) for e in mixed.errors.values()
    )
    print(
        f"enrolments {enrolments:.0f}/s (target {TARGET_ENROLMENTS_PER_SECOND:.0f}); "
        f"count median under mixed load {count_median:.0f} ms "
        f"(target {TARGET_COUNT_MEDIAN_MS:.0f}); errors {errors} (target 0)"
    )
    return 0 if chain.intact and errors == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
