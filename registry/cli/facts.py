"""``registry facts``: derive every participant's facts row again.

Each action keeps its participant's row current, but a release that changes how a fact is
derived (a new definition of a failed trial, a new scale, response and remission) leaves
the rows written before it as they were: run ``registry facts refresh`` once after
``registry db upgrade``.
"""

from __future__ import annotations

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from registry.audit.actions import Actor, record_event
from registry.cli._common import progress_bar, transaction
from registry.cli.batches import run_in_batches
from registry.db import session
from registry.facts.derive import refresh_facts_for
from registry.participants.models import ParticipantFacts

BATCH_SIZE = 1000


@click.group("facts")
def facts_group() -> None:
    """The per-participant facts that counts, reports and exports read."""


@facts_group.command("refresh")
@with_appcontext
def refresh() -> None:
    """Derive every participant's facts row again from their records."""
    # Only rows that exist: a fully withdrawn participant has none, and must not get one.
    facts_pk = ParticipantFacts.participant_pk
    pks = list(session().scalars(select(facts_pk).order_by(facts_pk)))

    def step(batch: list[int]) -> None:
        refresh_facts_for(batch)

    with progress_bar(length=len(pks), label="Refreshing facts") as bar:
        run_in_batches(pks, batch_size=BATCH_SIZE, step=step, progress=bar.update)
    with transaction():
        record_event(
            "facts.refresh",
            by=Actor.command_line(),
            target_type="participant_facts",
            details={"participants": len(pks)},
        )
    click.echo(f"Refreshed the facts of {len(pks)} participants.")
