"""The membership attack of issue #18, simulated on counts: compare count(P) with
count(any[P, all T]) for padding sets P, where T picks one known person. Shared by the test
and scripts/bench/privacy.py."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence

from registry.privacy.mechanism import SMALL, Published, noisy_counts, published

Release = Callable[[Sequence[int]], list[Published]]


def with_noise(rho: float) -> Release:
    """Each question released as a partner gets it: fresh noise at ``rho``, then published."""
    return lambda counts: [published(n) for n in noisy_counts(counts, rho)]


def rounding_only(counts: Sequence[int]) -> list[Published]:
    """The rule before issue #18: no noise, "<10" and rounding to 5."""
    return [published(n) for n in counts]


def _value(figure: Published) -> int:
    return 5 if figure == SMALL else int(figure)


def attack_accuracy(release: Release, *, pairs: int, targets: int, seed: int = 18) -> float:
    """The share of simulated targets (half present, half absent) whose membership the
    attacker guesses right from ``pairs`` question pairs each (so 2 x pairs questions).
    The attacker sums the published differences: present adds one to every second count.
    With rounding only, any difference proves presence (the issue's one-sided rule); the
    sum's threshold of half a person a pair is the best guess under symmetric noise."""
    chooser = random.Random(seed)
    right = 0
    for target in range(targets):
        present = target % 2
        bases = [chooser.randint(15, 60) for _ in range(pairs)]  # "EP, age >= k" for some k
        asked = [n for base in bases for n in (base, base + present)]
        answers = release(asked)
        differences = [_value(answers[2 * i + 1]) - _value(answers[2 * i]) for i in range(pairs)]
        guess = sum(differences) > pairs / 2 if release is not rounding_only else any(differences)
        right += guess == bool(present)
    return right / targets
