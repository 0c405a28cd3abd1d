"""``registry import``: bulk data from files."""

from __future__ import annotations

import csv
import sys
from functools import partial
from pathlib import Path

import click
from flask.cli import with_appcontext

from registry.audit.actions import Actor
from registry.cli._common import progress_bar, transaction
from registry.cli.batches import run_in_batches
from registry.enrolment import importing


@click.group("import")
def import_group() -> None:
    """Bulk data from files."""


@import_group.command(
    "participants",
    epilog="Columns: "
    + ", ".join(importing.COLUMNS)
    + ". Required in the header: "
    + ", ".join(importing.REQUIRED_COLUMNS)
    + ".",
)
@click.argument(
    "csv_file",
    metavar="FILE.csv",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=importing.DEFAULT_BATCH_SIZE,
    show_default=True,
    help="Participants per transaction.",
)
@with_appcontext
def import_participants(csv_file: Path, batch_size: int) -> None:
    """Enrol the people in a CSV file: a header row, then one person per row, the columns
    being the API enrolment body flattened (consent items as consent_<item>: yes/no).

    Every row is checked first; bad rows are reported by line number and field (never by
    value) and the good ones enrolled, a batch per transaction. People already enrolled are
    skipped. Exit 0 if no row was rejected, 1 if some were, 2 if the header is wrong.
    """
    try:
        rows = importing.read_rows(csv_file)
    except UnicodeDecodeError:
        raise click.BadParameter("the file is not UTF-8 text", param_hint="FILE.csv") from None
    except (importing.ImportFileError, csv.Error) as exc:
        raise click.BadParameter(str(exc), param_hint="FILE.csv") from None
    with progress_bar(length=len(rows), label="checking rows") as bar:
        checked = importing.check_rows(rows, progress=bar.update)
    del rows  # the loaded rows are all the import needs from here
    actor = Actor.command_line()
    report = checked.report
    with progress_bar(length=len(checked.rows), label="enrolling") as bar:
        run_in_batches(
            checked.rows,
            batch_size=batch_size,
            step=partial(importing.import_batch, report=report, by=actor),
            progress=bar.update,
        )
    with transaction():
        importing.record_import(report, by=actor)
    for line in report.rejected_lines():
        click.echo(line)
    if report.already_enrolled:
        lines = ", ".join(map(str, report.already_enrolled))
        click.echo(f"already enrolled, skipped: lines {lines}")
    click.echo(report.summary())
    if report.rejected:
        sys.exit(1)
