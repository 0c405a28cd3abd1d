"""The ``registry`` command group, one module per area. Commands call actions, which only
flush; the command owns the transaction: one per command (``_common.one_transaction``),
or, for the bulk commands, one per batch, committed by the batch runner (``batches``).

Exit codes: 0 success, 1 failure (one line on stderr), 2 usage error (click's own).
"""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup

from registry.cli import (
    audit,
    consent_forms,
    db,
    demo,
    exports,
    facts,
    imports,
    keys,
    serve,
    users,
)


def _create_app() -> Flask:
    from registry import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_default_commands=False)
def main() -> None:
    """Manage the MHMTC research registry."""


for command in (
    db.db_group,
    users.users_group,
    users.sites_group,
    users.tokens_group,
    consent_forms.consent_forms_group,
    keys.keys_group,
    audit.audit_group,
    demo.demo_group,
    facts.facts_group,
    imports.import_group,
    exports.export,
    serve.serve,
):
    main.add_command(command)
