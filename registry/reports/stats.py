"""Proportions with honest uncertainty: the Wilson score interval, and representation
ratios (cohort share / reference share) with the interval carried through."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054  # two-sided 95%
UNDER_REPRESENTED = "under-represented"
UNCERTAIN = "uncertain"


def wilson_interval(k: int, n: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for k successes in n trials (Wilson 1927); (0, 1) if n is
    0. Unlike the normal approximation it stays inside [0, 1] and behaves for small k."""
    if n <= 0:
        return 0.0, 1.0
    if not 0 <= k <= n:
        raise ValueError("need 0 <= k <= n")
    p = k / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Representation:
    share: float  # cohort share, 0-1
    ci_low: float
    ci_high: float
    reference_share: float | None  # 0-1
    ratio: float | None
    ratio_low: float | None
    ratio_high: float | None

    def status(self, threshold: float) -> str | None:
        """Judged on the interval, not the point ratio: "under-represented" when even its
        upper bound is below the threshold (a convention, set in the settings),
        "uncertain" when the interval contains the threshold, otherwise None. A small
        group's point ratio alone would flag chance."""
        if self.ratio_low is None or self.ratio_high is None:
            return None
        if self.ratio_high < threshold:
            return UNDER_REPRESENTED
        if self.ratio_low <= threshold:
            return UNCERTAIN
        return None


def representation(k: int, n: int, reference_percent: float | None) -> Representation:
    """The cohort's share k/n against a reference share (in percent), treating the census
    figure as exact: its own sampling error is negligible beside a cohort's."""
    share = k / n if n else 0.0
    low, high = wilson_interval(k, n)
    if not reference_percent or n == 0:
        return Representation(
            share, low, high, (reference_percent or 0) / 100 or None, None, None, None
        )
    reference = reference_percent / 100
    return Representation(
        share, low, high, reference, share / reference, low / reference, high / reference
    )
