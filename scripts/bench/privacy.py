"""Benchmark of partners' noisy figures (not a test): utility and the attack (issue #18).

Run from the repository root::

    PYTHONPATH=. python scripts/bench/privacy.py [--draws N] [--targets N]

1. Utility: the error of the published figure ("<10" read as 5, else the rounded noisy
   count) against the true count, at true counts 10, 20, 50, 100, 500 and 1,000: the
   median and 95th percentile of the absolute error over many draws, for the default cost
   per question and two others, with what a question and the whole allowance mean as
   epsilon at the stated delta.
2. The membership attack of issue #18 (tests/privacy/attack.py) as the budget it may spend
   grows: the share of simulated targets whose membership it guesses right, beside the
   ceiling Phi(sqrt(R / 8)) for its statistic, and the old rounding-only rule.
"""

from __future__ import annotations

import argparse
import math
import statistics

from registry.config import Settings
from registry.privacy.mechanism import SMALL, epsilon, noise_scale, noisy_counts, published
from tests.privacy.attack import attack_accuracy, rounding_only, with_noise

TRUE_COUNTS = (10, 20, 50, 100, 500, 1000)


def errors(true_count: int, rho: float, draws: int) -> tuple[float, float]:
    shown = [published(n) for n in noisy_counts([true_count] * draws, rho)]
    error = sorted(abs((5 if s == SMALL else int(s)) - true_count) for s in shown)
    return statistics.median(error), error[int(0.95 * (len(error) - 1))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=20_000)
    parser.add_argument("--targets", type=int, default=2_000)
    args = parser.parse_args()
    settings = Settings()
    delta = settings.privacy_delta
    allowance = settings.privacy_allowance
    print(
        f"defaults: cost {settings.privacy_query_cost} rho a question, allowance {allowance} "
        f"rho per {settings.privacy_period_days} days, delta {delta:g}\n"
    )
    print(f"1. utility: |published - true|, median / 95th percentile, over {args.draws:,} draws")
    head = "".join(f"{n:>12}" for n in TRUE_COUNTS)
    print(f"{'rho a question':>16} {'sd':>5} {'eps/q':>6} {'questions':>9} {'eps/allow':>9}{head}")
    for rho in (0.05, settings.privacy_query_cost, 0.0025):
        cells = "".join(
            "{:>12}".format("{:g} / {:g}".format(*errors(n, rho, args.draws))) for n in TRUE_COUNTS
        )
        questions = int(allowance / rho + 1e-9)
        print(
            f"{rho:>16g} {noise_scale(rho):>5.1f} {epsilon(rho, delta):>6.2f} "
            f"{questions:>9} {epsilon(allowance, delta):>9.2f}{cells}"
        )
    print(
        f"\n2. the membership attack over {args.targets:,} targets, half present "
        f"(cost {settings.privacy_query_cost} a question)"
    )
    print(
        f"{'questions':>9} {'rho spent':>9} {'eps spent':>9} {'ceiling':>8} {'success':>8} "
        f"{'old rule':>8}"
    )
    for pairs in (1, 6, 12, 25, 50, 100):
        spent = 2 * pairs * settings.privacy_query_cost
        ceiling = statistics.NormalDist().cdf(math.sqrt(spent / 8))
        noisy = attack_accuracy(
            with_noise(settings.privacy_query_cost), pairs=pairs, targets=args.targets
        )
        old = attack_accuracy(rounding_only, pairs=pairs, targets=args.targets)
        print(
            f"{2 * pairs:>9} {spent:>9.2f} {epsilon(spent, delta):>9.2f} {ceiling:>8.1%} "
            f"{noisy:>8.1%} {old:>8.1%}"
        )


if __name__ == "__main__":
    main()
