"""Benchmark of a whole-participant read with the keys in a file vs in SoftHSM2 (not a test).

Run from the repository root (needs Debian's softhsm2)::

    PYTHONPATH=. python scripts/bench/hsm.py [--iterations N] [--repeats N]

The baseline, the keyring file, is measured in the same run, interleaved with the token, and
the token's figures are given as ratios to it. A read is what ``read_identities`` does per
participant: get the data key (cold: unwrap it through the provider; warm: from the
data-key cache, as a page does within ``dek_cache.TTL_SECONDS``), open the 7 sealed
identifier fields, and MAC the audit event the read appends. Each figure is the median of
several repeats. SoftHSM2 is a library in this process: a network HSM adds a round trip
per provider call (see the note printed at the end).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from crypto import PARTICIPANT_FIELDS, median_ns

from registry.crypto.fields import FieldCipher, FieldContext, length_prefixed, new_dek, seal_field
from registry.crypto.keys import AUDIT_MAC_PURPOSE, BLIND_INDEX_PURPOSE, KeyProvider, LocalKeyring
from registry.participants import dek_cache

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
PARTICIPANT = "P-000001"
AUDIT_ROW = b'{"action":"participant.read_identity","actor":"bench",...}' + bytes(32)
NETWORK_ROUND_TRIP_MS = (1.0, 5.0)  # an estimate for a network HSM, not measured here


def softhsm_provider(directory: Path) -> KeyProvider:
    """A fresh SoftHSM2 token with the registry's keys made in it."""
    (directory / "tokens").mkdir(parents=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {directory / 'tokens'}\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)  # before the library loads
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            *("softhsm2-util", "--init-token", "--free", "--label", "bench"),
            *("--pin", "1234", "--so-pin", "5678"),
        ],
        check=True,
        capture_output=True,
    )
    pin = directory / "pin"
    pin.write_text("1234")
    from registry.crypto.pkcs11 import Pkcs11Provider

    provider, _ = Pkcs11Provider.open(SOFTHSM_MODULE, "bench", pin, create_if_missing=True)
    return provider


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--iterations", type=int, default=3000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if not Path(SOFTHSM_MODULE).is_file():
        print(f"{SOFTHSM_MODULE} not found: apt-get install softhsm2", file=sys.stderr)
        return 1

    work = Path(tempfile.mkdtemp(prefix="bench-hsm-"))
    providers: dict[str, KeyProvider] = {
        "file": LocalKeyring.create(work / "keyring.json"),
        "softhsm": softhsm_provider(work / "hsm"),
    }
    dek = new_dek()
    dek_aad = length_prefixed(b"dek", PARTICIPANT.encode(), (1).to_bytes(4, "big"))
    row = [
        (context, seal_field(dek, "9990123454", context=context))
        for column in PARTICIPANT_FIELDS
        for context in [FieldContext("participant", f"{column}_sealed", PARTICIPANT)]
    ]

    bodies: dict[str, Callable[[], object]] = {}
    for name, provider in providers.items():
        wrapped = provider.wrap(dek, associated_data=dek_aad)

        def cold(provider: KeyProvider = provider, wrapped: bytes = wrapped) -> None:
            cipher = FieldCipher(provider.unwrap(wrapped, associated_data=dek_aad))
            for context, blob in row:
                cipher.open(blob, context=context)
            provider.mac(AUDIT_MAC_PURPOSE, AUDIT_ROW)

        def warm(provider: KeyProvider = provider) -> None:
            key = dek_cache.get(PARTICIPANT, 1, generation=0)
            if key is None:  # the entry's TTL ran out during the run: as a page would
                dek_cache.put(PARTICIPANT, 1, key := dek, generation=0)
            cipher = FieldCipher(key)
            for context, blob in row:
                cipher.open(blob, context=context)
            provider.mac(AUDIT_MAC_PURPOSE, AUDIT_ROW)

        def unwrap(provider: KeyProvider = provider, wrapped: bytes = wrapped) -> None:
            provider.unwrap(wrapped, associated_data=dek_aad)

        def mac(provider: KeyProvider = provider) -> None:
            provider.mac(BLIND_INDEX_PURPOSE, b"9990123454")

        bodies.update(
            {
                f"{name}:cold": cold,
                f"{name}:warm": warm,
                f"{name}:unwrap": unwrap,
                f"{name}:mac": mac,
            }
        )
    dek_cache.put(PARTICIPANT, 1, dek, generation=0)

    started = time.perf_counter()
    ns = median_ns(bodies, args.iterations, args.repeats)
    elapsed = time.perf_counter() - started

    print(
        f"Python {sys.version.split()[0]}, {args.iterations:,} iterations, median of "
        f"{args.repeats}; SoftHSM2 in-process ({SOFTHSM_MODULE})"
    )
    print(f"{'per participant read':<44} {'file us':>9} {'SoftHSM us':>11} {'ratio':>7}")
    print("-" * 74)
    labels = {
        "cold": "cold: unwrap + 7 fields + audit MAC",
        "warm": "warm: cached key + 7 fields + audit MAC",
        "unwrap": "one unwrap (provider call)",
        "mac": "one HMAC (provider call)",
    }
    for key, label in labels.items():
        base, token = ns[f"file:{key}"] / 1000, ns[f"softhsm:{key}"] / 1000
        print(f"{label:<44} {base:>9.1f} {token:>11.1f} {token / base:>6.2f}x")
    print("-" * 74)
    low, high = NETWORK_ROUND_TRIP_MS
    print(
        f"a network HSM (estimate, not measured: {low:.0f}-{high:.0f} ms a round trip) would "
        f"make a cold read ~{2 * low:.0f}-{2 * high:.0f} ms (2 calls) and a warm read "
        f"~{low:.0f}-{high:.0f} ms (1 call: the audit MAC)"
    )
    print(f"benchmark took {elapsed:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
