"""Benchmark of the field-encryption primitives (not a test).

Run from the repository root::

    PYTHONPATH=. python scripts/bench/crypto.py [--iterations N] [--repeats N]

Compares seal_field + open_field on a short identifier with bare AESGCM encrypt + decrypt
(fresh random nonce, fixed associated data of the same length) in the same process, and
measures decrypting a "whole participant": unwrap the DEK, open 7 fields, compute 1 blind
index. Each figure is the median of several repeats, interleaved so drift hits all alike.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from registry.crypto.blind_index import blind_index
from registry.crypto.fields import (
    FieldCipher,
    FieldContext,
    length_prefixed,
    new_dek,
    open_field,
    seal_field,
)
from registry.crypto.keys import LocalKeyring

IDENTIFIER = "9990123454"
TARGET_RATIO = 2.0
PARTICIPANT_FIELDS = (
    "nhs_number",
    "family_name",
    "given_name",
    "date_of_birth",
    "postcode",
    "email",
    "phone",
)


def time_loop(body: Callable[[], object], iterations: int) -> float:
    """Nanoseconds per call of ``body``, with the garbage collector held off."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(iterations):
            body()
        elapsed = time.perf_counter_ns() - start
    finally:
        gc.enable()
    return elapsed / iterations


def median_ns(
    bodies: dict[str, Callable[[], object]], iterations: int, repeats: int
) -> dict[str, float]:
    for body in bodies.values():  # warm-up: caches, branch predictors, CPU frequency
        time_loop(body, max(iterations // 20, 1000))
    samples: dict[str, list[float]] = {name: [] for name in bodies}
    for _ in range(repeats):
        for name, body in bodies.items():
            samples[name].append(time_loop(body, iterations))
    return {name: statistics.median(values) for name, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)

    dek = new_dek()
    context = FieldContext("participants", "nhs_number", "P-000001")
    plaintext = IDENTIFIER.encode()
    # Same length as the real associated data, so the comparison isolates the format's cost.
    header = seal_field(dek, b"", context=context)[:7]
    aad = os.urandom(len(length_prefixed(header, b"participants", b"nhs_number", b"P-000001")))
    aesgcm = AESGCM(dek)

    cipher = FieldCipher(dek)  # what the registry builds once per participant

    def ours() -> None:
        cipher.open(cipher.seal(IDENTIFIER, context=context), context=context)

    def ours_per_call() -> None:
        open_field(dek, seal_field(dek, IDENTIFIER, context=context), context=context)

    def raw_reused() -> None:
        nonce = os.urandom(12)
        aesgcm.decrypt(nonce, aesgcm.encrypt(nonce, plaintext, aad), aad)

    def raw_per_call() -> None:
        nonce = os.urandom(12)
        AESGCM(dek).decrypt(nonce, AESGCM(dek).encrypt(nonce, plaintext, aad), aad)

    # A whole participant: wrapped DEK plus 7 sealed fields, and one NHS-number blind index.
    keyring = LocalKeyring.create(Path(tempfile.mkdtemp()) / "keyring.json")
    index_key = keyring.subkey("blind-index/nhs_number/v1")
    dek_aad = length_prefixed(b"dek", b"P-000001", b"1")
    wrapped = keyring.wrap(dek, associated_data=dek_aad)
    row = [
        (FieldContext("participants", column, "P-000001"), seal_field(dek, IDENTIFIER, context=c))
        for column in PARTICIPANT_FIELDS
        for c in [FieldContext("participants", column, "P-000001")]
    ]

    def whole_participant() -> None:
        participant_cipher = FieldCipher(keyring.unwrap(wrapped, associated_data=dek_aad))
        for field_context, blob in row:
            participant_cipher.open(blob, context=field_context)
        blind_index(index_key, IDENTIFIER, bits=15)

    started = time.perf_counter()
    per_op = median_ns(
        {"ours": ours, "ours_call": ours_per_call, "raw": raw_reused, "raw_new": raw_per_call},
        args.iterations,
        args.repeats,
    )
    participant_ns = median_ns(
        {"whole": whole_participant}, max(args.iterations // 10, 1), args.repeats
    )["whole"]
    elapsed = time.perf_counter() - started

    ratio = per_op["ours"] / per_op["raw"]
    verdict = "within target" if ratio <= TARGET_RATIO else "OVER target"
    rows = [
        ("FieldCipher seal + open (per participant)", per_op["ours"], f"{ratio:.2f}x"),
        (
            "seal_field + open_field (key per call)",
            per_op["ours_call"],
            f"{per_op['ours_call'] / per_op['raw']:.2f}x",
        ),
        ("raw AESGCM enc+dec (object reused)", per_op["raw"], "1.00x"),
        (
            "raw AESGCM enc+dec (new object each)",
            per_op["raw_new"],
            f"{per_op['raw_new'] / per_op['raw']:.2f}x",
        ),
    ]
    print(
        f"Python {sys.version.split()[0]}, {args.iterations:,} iterations, "
        f"median of {args.repeats}; identifier {IDENTIFIER!r}, AAD {len(aad)} bytes"
    )
    print(f"{'operation':<40} {'us/op':>8} {'vs raw':>8}")
    print("-" * 58)
    for name, ns, versus in rows:
        print(f"{name:<40} {ns / 1000:>8.2f} {versus:>8}")
    print("-" * 58)
    print(f"format overhead ratio {ratio:.2f}x (target <= {TARGET_RATIO:.0f}x): {verdict}")
    print(
        f"whole participant (unwrap DEK + open {len(row)} fields + 1 blind index): "
        f"{participant_ns / 1000:.1f} us -> {1e9 / participant_ns:,.0f} participants/s"
    )
    print(f"benchmark took {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
