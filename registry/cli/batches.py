"""The batch runner: the one owner of the transactions of a command that works through
more than one transaction should hold (bulk import, demo seeding).

The domain steps it calls only flush, like every action; it commits after each batch, so a
failure loses at most the batch in progress and never half of one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import TypeVar

from registry.cli._common import transaction

T = TypeVar("T")


def run_in_batches(
    items: Iterable[T],
    *,
    batch_size: int,
    step: Callable[[list[T]], None],
    progress: Callable[[int], None],
) -> None:
    """Call ``step`` on ``items`` a batch at a time, each batch its own transaction: committed
    when the step returns, then counted on ``progress``. A step that raises rolls back its
    own batch and stops the run; the batches before it stay committed."""
    remaining = iter(items)
    while batch := list(islice(remaining, batch_size)):
        with transaction():
            step(batch)
        progress(len(batch))
