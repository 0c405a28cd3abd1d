"""Tests for the truncated blind index and its width planner.

``find_colliding_nhs_numbers`` is imported by later database tests: it yields two valid
synthetic NHS numbers whose truncated indexes collide, to prove searches re-check candidates.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import math
from collections.abc import Callable, Iterator

import pytest

from registry.crypto.blind_index import blind_index, plan_index_bits

INDEX_KEY = hashlib.sha256(b"test blind-index key").digest()
OTHER_INDEX_KEY = hashlib.sha256(b"another blind-index key").digest()
WEIGHTS = range(10, 1, -1)  # NHS Modulus 11: digits 1-9 weighted 10..2


def nhs_check_digit(first_nine: str) -> int | None:
    """The Modulus 11 check digit for nine digits, or None when none exists (remainder 1)."""
    total = sum(int(digit) * weight for digit, weight in zip(first_nine, WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(number: str) -> bool:
    if len(number) != 10 or not number.isascii() or not number.isdigit():
        return False
    return nhs_check_digit(number[:9]) == int(number[9])


def synthetic_nhs_numbers() -> Iterator[str]:
    """Valid NHS numbers in the 999 range (never issued to patients), in ascending order."""
    for serial in range(1_000_000):
        first_nine = f"999{serial:06d}"
        check = nhs_check_digit(first_nine)
        if check is not None:
            yield f"{first_nine}{check}"


def synthetic_nhs_numbers_upto(count: int) -> list[str]:
    return list(itertools.islice(synthetic_nhs_numbers(), count))


def find_colliding_nhs_numbers(key: bytes | Callable[[bytes], bytes], bits: int) -> tuple[str, str]:
    """The first two synthetic NHS numbers whose ``bits``-bit blind indexes are equal."""
    seen: dict[int, str] = {}
    for number in synthetic_nhs_numbers():
        index = blind_index(key, number, bits=bits)
        if index in seen:
            return seen[index], number
        seen[index] = number
    raise LookupError("no collision in the 999 range")  # unreachable for bits <= 20


# -- the NHS number helpers the collision search relies on ----------------------------------


@pytest.mark.parametrize("number", ["9434765919", "9990123454", "9990000018"])
def test_is_valid_nhs_number_known_good_returns_true(number: str) -> None:
    assert is_valid_nhs_number(number)


@pytest.mark.parametrize("number", ["9434765918", "999012345", "99901234545", "999012345x"])
def test_is_valid_nhs_number_bad_check_or_shape_returns_false(number: str) -> None:
    assert not is_valid_nhs_number(number)


def test_nhs_check_digit_remainder_one_has_no_check_digit() -> None:
    # A weighted sum with remainder 1 would need check digit 10: such numbers do not exist.
    first_nine = next(
        f"999{serial:06d}"
        for serial in range(1000)
        if sum(int(d) * w for d, w in zip(f"999{serial:06d}", WEIGHTS, strict=True)) % 11 == 1
    )
    generated_up_to_it = itertools.takewhile(
        lambda number: number[:9] <= first_nine, synthetic_nhs_numbers()
    )

    assert nhs_check_digit(first_nine) is None
    assert first_nine not in {number[:9] for number in generated_up_to_it}


def test_synthetic_nhs_numbers_are_valid_and_in_999_range() -> None:
    numbers = synthetic_nhs_numbers_upto(500)

    assert all(is_valid_nhs_number(n) and n.startswith("999") for n in numbers)
    assert len(set(numbers)) == 500


# -- planner --------------------------------------------------------------------------------


def test_plan_index_bits_100k_population_gives_15_bits() -> None:
    population = 100_000

    bits = plan_index_bits(population)

    assert bits == 15
    assert 2 <= population / 2**bits <= math.sqrt(population)


def test_plan_index_bits_1m_population_gives_18_bits() -> None:
    assert plan_index_bits(1_000_000) == 18


@pytest.mark.parametrize(
    "population", [16, 17, 100, 1000, 4096, 4097, 65_535, 100_000, 10**6, 10**7, 3 * 10**8]
)
def test_plan_index_bits_unclamped_is_largest_width_with_2_to_sqrt_rows_per_value(
    population: int,
) -> None:
    bits = plan_index_bits(population, min_bits=1, max_bits=63)

    rows_per_value = population / 2**bits
    assert 2 <= rows_per_value <= math.sqrt(population)
    assert population / 2 ** (bits + 1) < 2  # one more bit would break the lower bound


def test_plan_index_bits_is_monotone_in_population() -> None:
    populations = [*range(1, 5000), *(10**k + d for k in range(4, 13) for d in (-1, 0, 1))]

    widths = [plan_index_bits(p) for p in populations]

    assert widths == sorted(widths)
    assert widths[0] < widths[-1]


@pytest.mark.parametrize(
    ("population", "kwargs", "expected"),
    [
        (1, {}, 8),
        (10, {}, 8),
        (10**12, {}, 32),
        (100_000, {"max_bits": 12}, 12),
        (100_000, {"min_bits": 16}, 16),
        (100_000, {"min_bits": 12, "max_bits": 12}, 12),
    ],
)
def test_plan_index_bits_out_of_bounds_result_is_clamped(
    population: int, kwargs: dict[str, int], expected: int
) -> None:
    assert plan_index_bits(population, **kwargs) == expected


@pytest.mark.parametrize(
    ("population", "kwargs"),
    [(0, {}), (-5, {}), (100, {"min_bits": 20, "max_bits": 10}), (100, {"max_bits": 64})],
)
def test_plan_index_bits_invalid_arguments_raise_value_error(
    population: int, kwargs: dict[str, int]
) -> None:
    with pytest.raises(ValueError):
        plan_index_bits(population, **kwargs)


# -- blind index ----------------------------------------------------------------------------


def test_blind_index_same_inputs_give_same_index() -> None:
    first = blind_index(INDEX_KEY, "9990123454", bits=15)

    second = blind_index(INDEX_KEY, "9990123454", bits=15)

    assert first == second


def test_blind_index_is_top_bits_of_hmac_sha256() -> None:
    digest = hmac.new(INDEX_KEY, b"9990123454", hashlib.sha256).digest()
    expected = int.from_bytes(digest, "big") >> (256 - 15)

    assert blind_index(INDEX_KEY, "9990123454", bits=15) == expected


def test_blind_index_narrower_width_is_prefix_of_wider() -> None:
    wide = blind_index(INDEX_KEY, "9990123454", bits=32)

    assert blind_index(INDEX_KEY, "9990123454", bits=12) == wide >> 20


@pytest.mark.parametrize("bits", [1, 8, 12, 15, 31, 32, 63])
def test_blind_index_values_fall_within_bit_range(bits: int) -> None:
    indexes = [blind_index(INDEX_KEY, n, bits=bits) for n in synthetic_nhs_numbers_upto(2000)]

    assert all(0 <= index < 2**bits for index in indexes)
    assert max(indexes) >= 2 ** (bits - 1)  # the top bit is actually used


def test_blind_index_31_and_63_bits_fit_postgres_integer_and_bigint() -> None:
    numbers = synthetic_nhs_numbers_upto(2000)

    assert all(blind_index(INDEX_KEY, n, bits=31) <= 2**31 - 1 for n in numbers)
    assert all(blind_index(INDEX_KEY, n, bits=63) <= 2**63 - 1 for n in numbers)


def test_blind_index_different_keys_give_different_indexes() -> None:
    numbers = synthetic_nhs_numbers_upto(100)

    with_key = [blind_index(INDEX_KEY, n, bits=32) for n in numbers]
    with_other_key = [blind_index(OTHER_INDEX_KEY, n, bits=32) for n in numbers]

    assert sum(a == b for a, b in zip(with_key, with_other_key, strict=True)) == 0


def test_blind_index_different_values_spread_over_buckets() -> None:
    numbers = synthetic_nhs_numbers_upto(4000)

    buckets = {blind_index(INDEX_KEY, n, bits=8) for n in numbers}

    assert len(buckets) == 256  # 4000 values over 256 buckets: all hit (p(miss) ~ 1e-4)


@pytest.mark.parametrize("bits", [0, 64, -1])
def test_blind_index_bits_outside_1_to_63_raise_value_error(bits: int) -> None:
    with pytest.raises(ValueError):
        blind_index(INDEX_KEY, "9990123454", bits=bits)


def test_blind_index_short_key_raises_value_error() -> None:
    with pytest.raises(ValueError, match="key"):
        blind_index(b"short", "9990123454", bits=15)


def test_find_colliding_nhs_numbers_12_bits_returns_valid_colliding_pair() -> None:
    first, second = find_colliding_nhs_numbers(INDEX_KEY, 12)

    assert first != second
    assert is_valid_nhs_number(first) and first.startswith("999")
    assert is_valid_nhs_number(second) and second.startswith("999")
    assert blind_index(INDEX_KEY, first, bits=12) == blind_index(INDEX_KEY, second, bits=12)
    # The collision comes from truncation, not from the HMAC: the full-width indexes differ.
    assert blind_index(INDEX_KEY, first, bits=63) != blind_index(INDEX_KEY, second, bits=63)


def test_find_colliding_nhs_numbers_is_deterministic_per_key() -> None:
    assert find_colliding_nhs_numbers(INDEX_KEY, 12) == find_colliding_nhs_numbers(INDEX_KEY, 12)
    assert find_colliding_nhs_numbers(INDEX_KEY, 12) != find_colliding_nhs_numbers(
        OTHER_INDEX_KEY, 12
    )
