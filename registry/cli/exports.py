"""``registry export``: a data-access grant's extract, written to a directory."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import click
from flask.cli import with_appcontext

from registry.audit.actions import Actor
from registry.cli._common import one_transaction, progress_bar
from registry.exports import actions as export_actions
from registry.exports import extract
from registry.exports import queries as export_queries


@click.command("export")
@click.option("--grant", "grant_id", required=True, metavar="GRANT_ID", help="The grant's id.")
@click.option(
    "--out",
    "out_dir",
    required=True,
    metavar="DIR",
    type=click.Path(file_okay=False, path_type=Path),
    help="A new or empty directory for the files.",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(extract.FORMATS),
    default=extract.CSV,
    show_default=True,
    help="parquet needs the optional pyarrow package.",
)
@with_appcontext
@one_transaction
def export(grant_id: str, out_dir: Path, file_format: str) -> None:
    """Write the extract of a data-access grant into DIR: one file per table,
    data_dictionary.csv and manifest.json (rows and SHA-256 per file), rows keyed by the
    study pseudonym. Refused (exit 1) once the grant has expired or been revoked. Audited,
    like every extract."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise click.BadParameter("the directory is not empty", param_hint="--out")
    grant = export_queries.grant_by_id(grant_id)
    export_queries.ensure_usable(grant)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    # Written beside DIR first, so a failure part-way leaves no half extract in it.
    with tempfile.TemporaryDirectory(dir=out_dir.parent, prefix=".registry-export-") as tmp:
        with progress_bar(length=1, label="exporting") as bar:

            def steps(total: int) -> None:  # known once who is in the extract is read
                bar.length = max(total, 1)

            outcome = export_actions.run_export(
                grant,
                directory=Path(tmp),
                file_format=file_format,
                channel="cli",
                by=Actor.command_line(),
                progress=bar.update,
                on_population=steps,
            )
        out_dir.mkdir(exist_ok=True)
        for name in outcome.extract.names:
            os.replace(Path(tmp) / name, out_dir / name)
    files = ", ".join(f"{file.name} {file.rows}" for file in outcome.extract.files)
    click.echo(
        f"extract {outcome.record.export_id} of grant {grant.grant_id}: "
        f"{outcome.extract.participants} participants in {out_dir} ({files}); "
        f"manifest.json sha256 {outcome.extract.manifest.sha256}"
    )
