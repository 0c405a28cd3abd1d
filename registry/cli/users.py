"""``registry users``, ``sites`` and ``tokens``: accounts, recruiting sites, API tokens."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import with_appcontext

from registry.audit.actions import Actor
from registry.auth import actions as auth_actions
from registry.auth.permissions import Role
from registry.auth.queries import UserFilters, status_of, users_matching
from registry.cli._common import one_transaction
from registry.db import session


@click.group("users")
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


@users_group.command("list")
@click.option("--role", type=click.Choice([r.value for r in Role]))
@click.option("--site", "site_code", help="Site code.")
@click.option("--active/--inactive", default=None, help="Only active, or only deactivated.")
@click.option(
    "--second-factor/--no-second-factor",
    default=None,
    help="Only users who have set up a second factor, or only those who have not.",
)
@click.option(
    "--signed-in-within", type=click.IntRange(1, 36_500), metavar="DAYS", help="Signed in lately."
)
@click.option("--never-signed-in", is_flag=True, help="Only users who have never signed in.")
@with_appcontext
def users_list(
    role: str | None,
    site_code: str | None,
    active: bool | None,
    second_factor: bool | None,
    signed_in_within: int | None,
    never_signed_in: bool,
) -> None:
    """List users, with the filters of the admin's page, as a table."""
    if never_signed_in and signed_in_within is not None:
        raise click.UsageError("--never-signed-in and --signed-in-within cannot both be given.")
    filters = UserFilters(
        role=Role(role) if role else None,
        site_code=site_code,
        active=active,
        second_factor=second_factor,
        never_signed_in=never_signed_in,
        signed_in_within_days=signed_in_within,
    )
    users = list(session().scalars(users_matching(filters)))
    header = (
        "ID",
        "NAME",
        "EMAIL",
        "ROLE",
        "SITE",
        "ORGANISATION",
        "STATUS",
        "2FA",
        "LAST SIGN-IN",
    )
    rows = [
        (
            str(user.id),
            user.name,
            user.email,
            user.role.value,
            user.site.code if user.site else "-",
            user.organisation or "-",
            status_of(user),
            "yes" if user.has_second_factor else "no",
            f"{user.last_sign_in_at:%Y-%m-%d}" if user.last_sign_in_at else "never",
        )
        for user in users
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    click.echo(f"{len(rows)} user{'' if len(rows) == 1 else 's'}")


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


@click.group("sites")
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


@sites_group.command("deactivate")
@click.option("--code", required=True)
@with_appcontext
@one_transaction
def sites_deactivate(code: str) -> None:
    """Deactivate a site: it enrols no one from now on; its participants and users stay."""
    site = auth_actions.deactivate_site(
        auth_actions.find_site_by_code(code), by=Actor.command_line()
    )
    click.echo(f"deactivated site {site.code}: it enrols no one from now on")


@click.group("tokens")
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
