"""``registry consent-forms``: consent-form and information-sheet versions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
from flask.cli import with_appcontext

from registry.audit.actions import Actor
from registry.cli._common import one_transaction
from registry.consents.actions import add_consent_form


@click.group("consent-forms")
def consent_forms_group() -> None:
    """Consent-form and information-sheet versions."""


@consent_forms_group.command("add")
@click.option("--cohort", required=True, type=click.Choice(["EP", "TRD"]))
@click.option("--version", "form_version", required=True, help="e.g. TRD-PIS-2.0")
@click.option(
    "--effective", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="YYYY-MM-DD"
)
@click.option(
    "--file",
    "document",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="The information sheet, .pdf or .md.",
)
@with_appcontext
@one_transaction
def consent_forms_add(cohort: str, form_version: str, effective: Any, document: Path) -> None:
    """Add a version of a cohort's consent form; kept with its SHA-256."""
    form = add_consent_form(
        cohort=cohort,
        version=form_version,
        effective_on=effective.date(),
        file_name=document.name,
        document=document.read_bytes(),
        by=Actor.command_line(),
    )
    click.echo(
        f"added {form.cohort} consent form {form.version}, effective {form.effective_on}, "
        f"sha256 {form.sha256}"
    )
