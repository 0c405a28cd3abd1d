"""What every command shares: its transaction, how a refusal becomes one line on stderr,
and progress bars."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, ParamSpec, TypeVar

import click

from registry.db import session
from registry.errors import RegistryError

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

P = ParamSpec("P")
R = TypeVar("R")


def one_transaction(command: Callable[P, R]) -> Callable[P, R]:
    """Commit when the command succeeds; otherwise roll back and say why in one line."""

    @wraps(command)
    def wrapped(*args: P.args, **kwargs: P.kwargs) -> R:
        db = session()
        try:
            result = command(*args, **kwargs)
        except RegistryError as exc:
            db.rollback()
            details = "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.fields.items())
            raise click.ClickException(f"{exc.message} {details}".strip()) from None
        except BaseException:
            db.rollback()
            raise
        db.commit()
        return result

    return wrapped


def progress_bar(*, length: int, label: str) -> ProgressBar[int]:
    """A progress bar on stderr, so stdout keeps only what the command reports."""
    return click.progressbar(length=length, label=label, file=sys.stderr)
