"""The noise and the published form of partners' figures. Pure: no database, no Flask.

A question's true figures are a vector of disjoint counts (one count, or a breakdown's cells
with one more cell for people whose category is unknown): adding or removing one person
changes one cell by one, so the vector's L2 sensitivity is 1 however many cells it has, and
a breakdown costs what one count costs (parallel composition). OpenDP adds discrete Gaussian
noise calibrated to a zero-concentrated DP cost ``rho`` (zCDP; costs add up across
questions, which the ledger does).

Totals and margins are sums of the noisy cells, never released separately: they cost
nothing more and agree with the cells they summarise (before each is rounded for show).

Then post-processing, which costs no privacy: a negative figure becomes 0, a figure below
``THRESHOLD`` is shown as ``SMALL`` ("<10"), any other is rounded to the nearest
``ROUND_TO``. Rounding keeps the familiar form and hides the last digit's noise, which would
otherwise invite reading it as exact.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache
from typing import Final

import opendp.prelude as dp

# OpenDP keeps measurements whose proofs are still under review behind this flag; the
# discrete Gaussian on integer vectors is one of them.
dp.enable_features("contrib")

THRESHOLD: Final = 10
ROUND_TO: Final = 5
SMALL: Final = f"<{THRESHOLD}"

Published = int | str


@lru_cache(maxsize=16)
def _gaussian(rho: float) -> dp.Measurement:
    """The discrete Gaussian on integer vectors whose cost for one person is at most
    ``rho`` (OpenDP searches the scale, so its own privacy map is what holds)."""
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=int)
    measurement: dp.Measurement = dp.binary_search_chain(
        lambda scale: space >> dp.m.then_gaussian(scale=scale), d_in=1, d_out=rho
    )
    return measurement


def noise_scale(rho: float) -> float:
    """The noise's standard deviation at cost ``rho``: 1 / sqrt(2 rho)."""
    return 1 / math.sqrt(2 * rho)


def noisy_counts(true_counts: Sequence[int], rho: float) -> list[int]:
    """The true counts, each with fresh, independent noise, at a total cost of ``rho``."""
    if rho <= 0:
        raise ValueError("a release must cost something: rho > 0")
    if not true_counts:
        return []
    noisy: list[int] = _gaussian(rho)([int(n) for n in true_counts])
    return noisy


def published(noisy: int) -> Published:
    """What a partner sees of one noisy figure: 0 for a negative one, "<10" below ten,
    otherwise the nearest multiple of five (ties cannot happen with integers and 5)."""
    clamped = max(0, noisy)
    if clamped < THRESHOLD:
        return SMALL
    return (clamped + ROUND_TO // 2) // ROUND_TO * ROUND_TO


def epsilon(rho: float, delta: float) -> float:
    """A zCDP cost as (epsilon, delta)-DP, by OpenDP's conversion: what ``rho`` means to
    someone who reads epsilons, at the stated delta."""
    if rho <= 0:
        return 0.0
    space = dp.atom_domain(T=int), dp.absolute_distance(T=int)
    measurement = dp.m.make_gaussian(*space, scale=noise_scale(rho))
    as_approximate = dp.c.make_fix_delta(dp.c.make_zCDP_to_approxDP(measurement), delta)
    eps, _ = as_approximate.map(1)  # type: ignore[no-untyped-call]  # OpenDP leaves it bare
    return float(eps)
