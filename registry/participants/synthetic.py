"""Synthetic NHS numbers: the 999 test range, never issued to a patient, Modulus 11 valid."""

from __future__ import annotations

import random
from collections.abc import Iterator

_WEIGHTS = range(10, 1, -1)


def check_digit(first_nine: str) -> int | None:
    """The Modulus 11 check digit for nine digits; None when no valid number has them."""
    remainder = sum(int(d) * w for d, w in zip(first_nine, _WEIGHTS, strict=True)) % 11
    check = (11 - remainder) % 11
    return None if check == 10 else check


# The generator below draws 900,000 of the test range's million stems, and about 1 in 11
# has no valid check digit: some 818,000 numbers, whatever the seed. Promise fewer.
SYNTHETIC_NHS_NUMBERS = 800_000


def synthetic_nhs_numbers(rng: random.Random) -> Iterator[str]:
    """Distinct valid test-range numbers (999 000 0000 to 999 999 9999), in random order."""
    seen: set[int] = set()
    while len(seen) < 900_000:
        body = rng.randrange(1_000_000)
        if body in seen:
            continue
        seen.add(body)
        first_nine = f"999{body:06d}"
        check = check_digit(first_nine)
        if check is not None:
            yield f"{first_nine}{check}"
