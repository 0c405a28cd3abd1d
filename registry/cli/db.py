"""``registry db``: the schema, backups and the check after a restore."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from registry.db import database, session


@click.group("db")
def db_group() -> None:
    """Database schema (Alembic migrations)."""


@db_group.command("upgrade")
@click.option("--revision", default="head", show_default=True)
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Apply migrations up to REVISION. With REGISTRY_MIGRATION_DATABASE_URL (PostgreSQL),
    they run as that owner role, which then creates or checks the app's role (DATABASE_URL's
    user) and grants it exactly what the app needs: exit 1 if that role could undo the
    audit log's protections."""
    from registry.migrations import upgrade

    settings = current_app.config["SETTINGS"]
    upgrade(_owner_url(), revision)
    click.echo(f"database at revision {revision}")
    if settings.migration_database_url:
        _grant_app_role()
    elif database().is_postgresql and settings.is_production:
        click.echo(
            "warning: the app and the migrations share one database role, which could drop "
            "the audit log's triggers; set REGISTRY_MIGRATION_DATABASE_URL (see the README)",
            err=True,
        )


def _owner_url() -> str:
    """Who makes and restores the schema: its owner if a migration URL is set."""
    owner: str | None = current_app.config["SETTINGS"].migration_database_url
    return owner or database().url


def _grant_app_role() -> None:
    from registry.db_roles import DatabaseRoleError, app_role_name, grant_app_privileges

    settings = current_app.config["SETTINGS"]
    try:
        role = app_role_name(settings.database_url, settings.database_app_role)
        report = grant_app_privileges(settings.migration_database_url, settings.database_url, role)
    except DatabaseRoleError as exc:
        raise click.ClickException(str(exc)) from None
    created = "created; " if report.created else ""
    click.echo(f"app role {report.role}: {created}privileges set on {report.tables} tables")
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)


@db_group.command("backup")
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
def db_backup(out: Path) -> None:
    """Back the database up to OUT (pg_dump custom format, or a SQLite copy). The keyring
    is not in it: keep the keyring's copies apart."""
    from registry.backup import BackupError, backup

    try:
        backup(_owner_url(), out)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backed up to {out} ({out.stat().st_size} bytes)")


@db_group.command("restore")
@click.argument("backup_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@with_appcontext
def db_restore(backup_file: Path) -> None:
    """Restore BACKUP_FILE into the configured database, which must be new and empty;
    then run `registry db check`. With a migration URL the owner restores, and the app's
    role gets its privileges again."""
    from registry.backup import BackupError, restore

    try:
        restore(backup_file, _owner_url())
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    if current_app.config["SETTINGS"].migration_database_url:
        _grant_app_role()
    click.echo("restored; now run: registry db check")


@db_group.command("check")
@with_appcontext
def db_check() -> None:
    """After a restore: the audit chain verifies, every identity decrypts with the keyring,
    every shredded participant stays shredded. Exit 1 naming what is wrong."""
    from registry.backup import check_restore, participant_count

    with click.progressbar(length=participant_count(), label="checking participants") as bar:
        result = check_restore(progress=bar.update)
    session().rollback()
    click.echo(
        f"audit chain {'intact' if result.audit_intact else 'BROKEN'}: {result.audit_events} "
        f"events; {result.participants} participants: {result.decrypted} decrypt, "
        f"{result.shredded} shredded and still shredded"
        if result.ok
        else f"{len(result.problems)} problem(s)"
    )
    if not result.ok:
        for problem in result.problems[:20]:
            click.echo(problem, err=True)
        sys.exit(1)
