"""``registry keys``: the keyring's KEK epochs, rotation and destruction."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from registry.audit.actions import Actor, record_event
from registry.cli._common import one_transaction, progress_bar
from registry.db import session
from registry.participants import identity


@click.group("keys")
def keys_group() -> None:
    """The keyring: KEK epochs and derived keys."""


@keys_group.command("status")
@with_appcontext
def keys_status() -> None:
    """Show the keyring's epochs."""
    from registry.crypto import key_provider

    status = identity.key_epochs()
    session().rollback()
    click.echo(f"keyring: {key_provider().path}")
    click.echo(f"current KEK epoch: {status.current}")
    click.echo(f"epochs held: {', '.join(map(str, status.held))}")
    click.echo(f"epochs destroyed: {', '.join(map(str, status.destroyed)) or 'none'}")
    for epoch, count in status.data_keys.items():
        click.echo(f"epoch {epoch}: wraps {count} data keys")


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
    with progress_bar(length=identity.keys_to_rewrap(), label="re-wrapping data keys") as bar:
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
    identity.invalidate_key_caches(None)
    record_event("keys.destroy_epoch", by=Actor.command_line(), details={"epoch": epoch})
    click.echo(f"destroyed KEK epoch {epoch}")
