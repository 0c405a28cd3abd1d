"""``registry keys``: KEK epochs, rotation, destruction, and moving keys into an HSM.

Every command works the same on either key provider (a keyring file or a PKCS#11 token).
"""

from __future__ import annotations

import secrets
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from registry.audit.actions import Actor, record_event
from registry.cli._common import one_transaction, progress_bar, transaction
from registry.crypto.keys import (
    AEAD_PURPOSES,
    MAC_PURPOSES,
    KeyProvider,
    KeyringError,
    LocalKeyring,
)
from registry.db import session
from registry.participants import identity


@click.group("keys")
def keys_group() -> None:
    """The keys: KEK epochs and derived keys, in a keyring file or an HSM."""


@keys_group.command("status")
@with_appcontext
def keys_status() -> None:
    """Show where the keys are, the epochs, and how many data keys each wraps."""
    from registry.crypto import key_provider

    keyring = key_provider()
    status = identity.key_epochs()
    session().rollback()
    click.echo(f"keys: {keyring.describe()}")
    click.echo(f"current KEK epoch: {status.current}")
    click.echo(f"epochs held: {', '.join(map(str, status.held))}")
    click.echo(f"epochs destroyed: {', '.join(map(str, status.destroyed)) or 'none'}")
    for epoch, count in status.data_keys.items():
        click.echo(f"epoch {epoch}: wraps {count} data keys")
    behind = sum(count for epoch, count in status.data_keys.items() if epoch != status.current)
    if behind:
        click.echo(
            f"rotation unfinished: {behind:,} data keys are under older epochs; "
            "`registry keys rotate` finishes it"
        )


@keys_group.command("rotate")
@click.option(
    "--batch-size",
    default=500,
    show_default=True,
    type=click.IntRange(min=1),
    help="Data keys re-wrapped, and committed, at a time.",
)
@with_appcontext
def keys_rotate(batch_size: int) -> None:
    """Add a KEK epoch, make it current, and re-wrap every data key under it.

    The new epoch is kept before any data key moves to it, the old one stays, and each
    batch commits on its own, a key's blob and epoch changing in one row: stopped at any
    point, every key still opens under one of the two. Run again, it finishes the
    interrupted rotation (no new epoch while keys are left under an older one).
    """
    from registry.crypto import key_provider

    keyring = key_provider()
    remaining = identity.keys_to_rewrap()
    resumed = remaining > 0
    if resumed:
        epoch = keyring.current_epoch()
        click.echo(
            f"resuming the rotation to KEK epoch {epoch}: {remaining:,} data keys left", err=True
        )
    else:
        epoch = keyring.add_epoch()
    per_epoch = identity.keys_per_epoch()
    session().rollback()
    total = sum(per_epoch.values())
    done = per_epoch.get(epoch, 0)
    count = 0
    after = 0
    tty = sys.stderr.isatty()
    with progress_bar(length=total, label="re-wrapping data keys") as bar:
        bar.update(done)
        while True:
            with transaction():
                moved, after = identity.rewrap_batch(after=after, batch_size=batch_size)
            if not moved:
                break
            count += moved
            done += moved
            bar.update(moved)
            if not tty:  # a log, not a terminal: one line per batch says where it is
                click.echo(f"rewrapped {done:,} of {total:,} data keys", err=True)
    with transaction():
        details: dict[str, object] = {"epoch": epoch, "rewrapped": count}
        if resumed:
            details["resumed"] = True
        record_event("keys.rotate", by=Actor.command_line(), details=details)
    click.echo(f"rotated to KEK epoch {epoch}; re-wrapped {count} data keys")


@keys_group.command("destroy-epoch")
@click.option("--epoch", required=True, type=int)
@with_appcontext
@one_transaction
def keys_destroy_epoch(epoch: int) -> None:
    """Destroy a KEK epoch for good; refused while any data key is still wrapped under it."""
    from registry.crypto import key_provider

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


@keys_group.command("migrate")
@click.option("--to", "target", required=True, type=click.Choice(["pkcs11"]))
@with_appcontext
@one_transaction
def keys_migrate(target: str) -> None:
    """Move the keyring file's keys into the HSM that REGISTRY_PKCS11_* name, re-encrypting
    nothing: each KEK epoch and each derived key becomes a non-extractable token key, so
    every wrapped data key, blind index, pseudonym and audit MAC stays valid. Then set
    REGISTRY_KEY_PROVIDER=pkcs11, restart, and remove the keyring file."""
    from registry.crypto import key_provider
    from registry.crypto.pkcs11 import Pkcs11Provider, read_pin

    keyring = key_provider()
    if not isinstance(keyring, LocalKeyring):
        raise click.ClickException(
            f"the keys are already in {keyring.describe()}; migrate runs with "
            "REGISTRY_KEY_PROVIDER=file, from the keyring file"
        )
    settings = current_app.config["SETTINGS"]
    problems = settings.pkcs11_problems()
    if problems:
        raise click.ClickException("; ".join(problems))
    try:
        pin = read_pin(Path(settings.pkcs11_pin_file))
        token = Pkcs11Provider(settings.pkcs11_module, settings.pkcs11_token, pin)
        labels = token.import_keyring(keyring)
        checked = _check_migrated(keyring, token)
    except KeyringError as exc:
        raise click.ClickException(str(exc)) from None
    record_event(
        "keys.migrate",
        by=Actor.command_line(),
        details={"to": target, "epochs": keyring.epochs(), "keys": len(labels)},
    )
    click.echo(f"moved {len(labels)} keys into {token.describe()}: {', '.join(labels)}")
    click.echo(f"checked: {checked}")
    click.echo(
        "next: set REGISTRY_KEY_PROVIDER=pkcs11, restart every process, check "
        f"`registry keys status`, then remove {keyring.path} and its copies"
    )


def _check_migrated(keyring: LocalKeyring, token: KeyProvider) -> str:
    """The token gives what the keyring gives: each HMAC key on a random message, the
    sealing keys both ways, and one data key of each epoch in use unwrapped."""
    probe = secrets.token_bytes(32)
    for purpose in MAC_PURPOSES:
        if token.mac(purpose, probe) != keyring.mac(purpose, probe):
            raise KeyringError(f"the token's {purpose} key does not match the keyring's")
    nonce = secrets.token_bytes(12)
    for purpose in AEAD_PURPOSES:
        sealed = keyring.aead(purpose).encrypt(nonce, probe, b"check")
        if token.aead(purpose).decrypt(nonce, sealed, b"check") != probe:
            raise KeyringError(f"the token's {purpose} key does not match the keyring's")
    epochs = identity.one_key_per_epoch()
    for participant_id, dek_version, blob in epochs.values():
        identity.check_unwraps(token, participant_id, dek_version, blob)
    in_use = ", ".join(map(str, sorted(epochs))) or "none"
    return (
        f"{len(MAC_PURPOSES)} HMAC keys and {len(AEAD_PURPOSES)} sealing key match; "
        f"a data key of each epoch in use ({in_use}) opens"
    )
