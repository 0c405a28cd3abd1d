"""The ``registry`` command group. Each command is one transaction and calls actions.

Exit codes: 0 success, 1 failure (one line on stderr), 2 usage error (click's own).
"""

from __future__ import annotations

import csv
import os
import sys
import tempfile
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import select

from registry.audit.actions import Actor, record_event, verify_chain
from registry.auth import actions as auth_actions
from registry.auth.models import Site, User
from registry.auth.permissions import Role
from registry.consents.actions import add_consent_form
from registry.db import database, session
from registry.demo import seed as demo
from registry.errors import RegistryError
from registry.exports import actions as export_actions
from registry.exports import extract
from registry.exports import queries as export_queries
from registry.participants import dek_cache, identity, importing
from registry.participants.synthetic import SYNTHETIC_NHS_NUMBERS

P = ParamSpec("P")
R = TypeVar("R")

PROJECT_ROOT = Path(__file__).resolve().parent.parent


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


def _create_app() -> Flask:
    from registry import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Manage the MHMTC research registry."""


# -- database -------------------------------------------------------------------------


@main.group("db")
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


# -- users, sites, tokens -------------------------------------------------------------


@main.group("users")
def users_group() -> None:
    """Staff and partner accounts."""


@users_group.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--name", required=True)
@click.option("--site", "site_code", help="Site code (clinicians only).")
@click.option("--organisation", help="Organisation (partners).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@with_appcontext
@one_transaction
def users_create(
    email: str,
    role: str,
    name: str,
    site_code: str | None,
    organisation: str | None,
    password_stdin: bool,
) -> None:
    """Create an account. Prints a one-time password unless one is given on stdin."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    created = auth_actions.create_user(
        email=email,
        name=name,
        role=Role(role),
        site_code=site_code,
        organisation=organisation,
        password=password,
        by=Actor.command_line(),
    )
    click.echo(f"created {created.user.role.value} {created.user.email} (id {created.user.id})")
    if created.password:
        click.echo("one-time password (shown once; it must be changed at first sign-in):")
        click.echo(created.password)


@users_group.command("deactivate")
@click.option("--email", required=True)
@with_appcontext
@one_transaction
def users_deactivate(email: str) -> None:
    """Deactivate an account: its sessions and tokens stop working at once."""
    user = auth_actions.find_user_by_email(email)
    auth_actions.deactivate_user(user, by=Actor.command_line())
    click.echo(f"deactivated {user.email}")


@users_group.command("end-sessions")
@click.option("--email", required=True)
@click.option("--tokens", is_flag=True, help="Revoke the user's API tokens too.")
@with_appcontext
@one_transaction
def users_end_sessions(email: str, tokens: bool) -> None:
    """Sign a user out everywhere at once, without deactivating them: every browser session
    ends (they can sign in again). With --tokens, their API tokens are revoked too."""
    user = auth_actions.find_user_by_email(email)
    revoked = auth_actions.end_sessions(user, by=Actor.command_line(), revoke_tokens=tokens)
    click.echo(f"ended every session of {user.email}")
    if tokens:
        click.echo(f"revoked {revoked} API token{'' if revoked == 1 else 's'}")


@main.group("sites")
def sites_group() -> None:
    """Recruiting sites."""


@sites_group.command("add")
@click.option("--code", required=True)
@click.option("--name", required=True)
@with_appcontext
@one_transaction
def sites_add(code: str, name: str) -> None:
    """Add a site (its NHS organisation code and name)."""
    site = auth_actions.add_site(code=code, name=name, by=Actor.command_line())
    click.echo(f"added site {site.code}: {site.name}")


@main.group("tokens")
def tokens_group() -> None:
    """API bearer tokens."""


@tokens_group.command("issue")
@click.option("--email", required=True)
@click.option("--name", "label", default="api", show_default=True, help="A label for the token.")
@click.option(
    "--expires-days",
    type=click.IntRange(1, 365),
    help="Days until it expires (default: the token_default_expiry_days setting, 90).",
)
@with_appcontext
@one_transaction
def tokens_issue(email: str, label: str, expires_days: int | None) -> None:
    """Issue a token. It is printed once, alone on the last line, and stored only hashed."""
    expires_days = expires_days or current_app.config["SETTINGS"].token_default_expiry_days
    user = auth_actions.find_user_by_email(email)
    issued = auth_actions.issue_token(
        user, name=label, expires_days=expires_days, by=Actor.command_line()
    )
    click.echo(
        f"token {issued.token.id} for {user.email}, expires "
        f"{issued.token.expires_at:%Y-%m-%d}; it will not be shown again:"
    )
    click.echo(issued.secret)


@tokens_group.command("revoke")
@click.option("--token-id", required=True, type=int)
@with_appcontext
@one_transaction
def tokens_revoke(token_id: int) -> None:
    """Revoke a token at once."""
    token = auth_actions.revoke_token(token_id, by=Actor.command_line())
    click.echo(f"revoked token {token.id}")


# -- consent forms ------------------------------------------------------------------


@main.group("consent-forms")
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


# -- keys and audit -------------------------------------------------------------------


@main.group("keys")
def keys_group() -> None:
    """The keyring: KEK epochs and derived keys."""


@keys_group.command("status")
@with_appcontext
def keys_status() -> None:
    """Show the keyring's epochs."""
    from registry.crypto import key_provider

    keyring = key_provider()
    click.echo(f"keyring: {keyring.path}")
    click.echo(f"current KEK epoch: {keyring.current_epoch()}")
    click.echo(f"epochs held: {', '.join(map(str, keyring.epochs()))}")
    destroyed = keyring.destroyed_epochs()
    click.echo(f"epochs destroyed: {', '.join(map(str, destroyed)) or 'none'}")
    per_epoch = identity.keys_per_epoch()
    session().rollback()
    for epoch in sorted({*keyring.epochs(), *per_epoch}):
        click.echo(f"epoch {epoch}: wraps {per_epoch.get(epoch, 0)} data keys")


@keys_group.command("rotate")
@with_appcontext
@one_transaction
def keys_rotate() -> None:
    """Add a KEK epoch, make it current, and re-wrap every data key under it.

    The new epoch is saved before any data key moves to it, and the old one stays, so a
    failure part-way leaves every key readable; running the command again finishes the job.
    """
    from registry.crypto import key_provider

    epoch = key_provider().add_epoch()
    with click.progressbar(
        length=identity.keys_to_rewrap(), label="re-wrapping data keys", file=sys.stderr
    ) as bar:
        count = identity.rewrap_all_keys(progress=bar.update)
    record_event(
        "keys.rotate", by=Actor.command_line(), details={"epoch": epoch, "rewrapped": count}
    )
    click.echo(f"rotated to KEK epoch {epoch}; re-wrapped {count} data keys")


@keys_group.command("destroy-epoch")
@click.option("--epoch", required=True, type=int)
@with_appcontext
@one_transaction
def keys_destroy_epoch(epoch: int) -> None:
    """Destroy a KEK epoch for good; refused while any data key is still wrapped under it."""
    from registry.crypto import key_provider
    from registry.crypto.keys import KeyringError

    still = identity.keys_per_epoch().get(epoch, 0)
    if still:
        raise click.ClickException(
            f"KEK epoch {epoch} still wraps {still} data keys; run `registry keys rotate` first"
        )
    try:
        key_provider().destroy_epoch(epoch)
    except KeyringError as exc:
        raise click.ClickException(str(exc)) from None
    dek_cache.clear()
    record_event("keys.destroy_epoch", by=Actor.command_line(), details={"epoch": epoch})
    click.echo(f"destroyed KEK epoch {epoch}")


@main.group("audit")
def audit_group() -> None:
    """The append-only audit log."""


@audit_group.command("verify")
@click.option(
    "--anchors",
    "anchors_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Also check the chain against every anchor in FILE (from `registry audit anchor`).",
)
@with_appcontext
def audit_verify(anchors_file: Path | None) -> None:
    """Check the HMAC chain; exit 1 naming the first broken event. With --anchors, also
    exit 1 if the chain is shorter than, or differs from, what any anchor saw."""
    from registry.audit import anchors

    # Read before the walk, so an anchor taken meanwhile is never ahead of what it sees.
    try:
        lines = None if anchors_file is None else anchors.read_lines(anchors_file)
    except OSError as exc:
        raise click.ClickException(f"cannot read {anchors_file}: {exc.strerror}") from None
    report = verify_chain(session())
    checked = None
    if report.intact and anchors_file is not None and lines is not None:
        checked = anchors.check_anchors(
            session(), lines, chain_events=report.events, source=str(anchors_file)
        )
    session().rollback()
    if not report.intact:
        click.echo(
            f"audit chain BROKEN at seq {report.first_broken_seq}: {report.problem} "
            f"({report.events} events verified before it)",
            err=True,
        )
        sys.exit(1)
    if checked is None:
        click.echo(f"audit chain intact: {report.events} events")
        return
    if not checked.ok:
        click.echo(checked.problem, err=True)
        sys.exit(1)
    click.echo(
        f"audit chain intact: {report.events} events; matches {checked.anchors} "
        f"anchor{'' if checked.anchors == 1 else 's'} (the latest at seq {checked.latest_seq})"
    )


@audit_group.command("anchor")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append the line to FILE (made if absent) instead of printing it.",
)
@with_appcontext
def audit_anchor(out: Path | None) -> None:
    """Write the chain's head (seq, MAC, time) as one signed JSON line, to be kept where
    the database's users cannot reach it; `audit verify --anchors` checks the chain
    against such lines. Without --out the line goes to stdout, for a log shipper."""
    from registry.audit import anchors

    try:
        anchor = anchors.current_anchor(session())
    except anchors.AnchorError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        session().rollback()
    if out is None:
        click.echo(anchor.signed_line())
        return
    try:
        anchors.append_line(out, anchor.signed_line())
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    click.echo(f"anchored seq {anchor.seq} to {out}")


# -- demo ---------------------------------------------------------------------------

DEMO_SITE = demo.DEMO_SITES[0][:2]
DEMO_USERS = [
    ("admin@demo.example", "Demo Administrator", Role.ADMIN, None, None),
    ("clinician@demo.example", "Demo Clinician", Role.CLINICIAN, DEMO_SITE[0], None),
    ("researcher@demo.example", "Demo Researcher", Role.RESEARCHER, None, None),
    ("partner@demo.example", "Demo Partner", Role.PARTNER, None, "Demo Pharma Ltd"),
]


@main.group("demo")
def demo_group() -> None:
    """Synthetic demonstration data (never in production)."""


@demo_group.command("users")
@with_appcontext
@one_transaction
def demo_users() -> None:
    """Create a demo site and one account per role; print their one-time passwords."""
    if current_app.config["SETTINGS"].is_production:
        raise click.ClickException("demo data is refused in production mode")
    actor = Actor.command_line()
    if session().scalar(select(Site.id).where(Site.code == DEMO_SITE[0])) is None:
        auth_actions.add_site(code=DEMO_SITE[0], name=DEMO_SITE[1], by=actor)
    for email, name, role, site_code, organisation in DEMO_USERS:
        if session().scalar(select(User.id).where(User.email == email)) is not None:
            click.echo(f"{role.value:<10} {email:<26} exists (password unchanged)")
            continue
        created = auth_actions.create_user(
            email=email,
            name=name,
            role=role,
            site_code=site_code,
            organisation=organisation,
            by=actor,
        )
        click.echo(f"{role.value:<10} {email:<26} one-time password: {created.password}")


@demo_group.command("seed")
@click.option(
    "--participants",
    "count",
    required=True,
    # No more people than there are synthetic NHS numbers to give them.
    type=click.IntRange(1, SYNTHETIC_NHS_NUMBERS),
    metavar="N",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Same seed, same people.")
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=1000,
    show_default=True,
    help="Participants per transaction.",
)
@click.option(
    "--if-empty", is_flag=True, help="Do nothing if anyone is enrolled already (scripts/run)."
)
@with_appcontext
@one_transaction
def demo_seed(count: int, seed: int, batch_size: int, if_empty: bool) -> None:
    """Enrol N synthetic participants (NHS test-range numbers) with assessments and
    treatment trials, on the demo sites and consent forms (made if absent)."""
    if if_empty and not demo.registry_is_empty():
        click.echo("participants are enrolled already; demo seed skipped")
        return
    with click.progressbar(length=count, label="seeding", file=sys.stderr) as bar:
        report = demo.seed_demo(
            count, seed=seed, by=Actor.command_line(), batch_size=batch_size, progress=bar.update
        )
    click.echo(
        f"seeded {report.enrolled} participants ({report.assessments} assessments, "
        f"{report.trials} treatment trials); already enrolled {report.already_enrolled}"
    )


# -- import ---------------------------------------------------------------------------


@main.group("import")
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
@one_transaction
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
    with click.progressbar(length=len(rows), label="checking rows", file=sys.stderr) as bar:
        checked = importing.check_rows(rows, progress=bar.update)
    del rows  # the loaded rows are all the import needs from here
    with click.progressbar(length=len(checked.rows), label="enrolling", file=sys.stderr) as bar:
        report = importing.import_checked(
            checked, by=Actor.command_line(), batch_size=batch_size, progress=bar.update
        )
    for line in report.rejected_lines():
        click.echo(line)
    if report.already_enrolled:
        lines = ", ".join(map(str, report.already_enrolled))
        click.echo(f"already enrolled, skipped: lines {lines}")
    click.echo(report.summary())
    if report.rejected:
        sys.exit(1)


# -- exports --------------------------------------------------------------------------


@main.command("export")
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
        with click.progressbar(length=1, label="exporting", file=sys.stderr) as bar:

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


# -- serving --------------------------------------------------------------------------


@main.command("serve", context_settings={"ignore_unknown_options": True})
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
