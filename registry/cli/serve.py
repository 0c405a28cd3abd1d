"""``registry serve``: gunicorn, with the project's configuration."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent


@click.command("serve", context_settings={"ignore_unknown_options": True})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve(gunicorn_args: tuple[str, ...]) -> None:
    """Serve with gunicorn (config/gunicorn.conf.py); extra arguments go to gunicorn."""
    config = PROJECT_ROOT / "config" / "gunicorn.conf.py"
    argv = [
        sys.executable,
        "-m",
        "gunicorn",
        "-c",
        str(config),
        *gunicorn_args,
        "registry.wsgi:app",
    ]
    os.execv(argv[0], argv)  # noqa: S606 - replacing this process with gunicorn is the point
