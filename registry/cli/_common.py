"""What every command shares: its transactions, how a refusal becomes one line on stderr,
and progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import click

from registry.db import session
from registry.errors import RegistryError

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def transaction() -> Iterator[None]:
    """Commit what the block wrote when it ends; if it raises, roll back, and turn a refusal
    into one line on stderr (exit 1)."""
    db = session()
    try:
        yield
    except RegistryError as exc:
        db.rollback()
        details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())
        raise click.ClickException(f"{exc.message} {details}".strip()) from None
    except BaseException:
        db.rollback()
        raise
    db.commit()


def one_transaction(command: Callable[P, R]) -> Callable[P, R]:
    """The whole command as one transaction."""

    @wraps(command)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction():
            return command(*args, **kwargs)

    return wrapped


def progress_bar(*, length: int, label: str) -> ProgressBar[int]:
    """A progress bar on stderr, so stdout keeps only what the command reports."""
    return click.progressbar(length=length, label=label, file=sys.stderr)
