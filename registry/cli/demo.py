"""``registry demo``: synthetic demonstration accounts and participants."""

from __future__ import annotations

from functools import partial

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from registry.audit.actions import Actor
from registry.auth import actions as auth_actions
from registry.auth.models import Site, User
from registry.auth.permissions import Role
from registry.cli._common import one_transaction, progress_bar, transaction
from registry.cli.batches import run_in_batches
from registry.db import session
from registry.demo import seed as demo
from registry.participants.synthetic import SYNTHETIC_NHS_NUMBERS

DEMO_SITE = demo.DEMO_SITES[0][:2]
DEMO_USERS = [
    ("admin@demo.example", "Demo Administrator", Role.ADMIN, None, None),
    ("clinician@demo.example", "Demo Clinician", Role.CLINICIAN, DEMO_SITE[0], None),
    ("researcher@demo.example", "Demo Researcher", Role.RESEARCHER, None, None),
    ("partner@demo.example", "Demo Partner", Role.PARTNER, None, "Demo Pharma Ltd"),
]


@click.group("demo")
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
def demo_seed(count: int, seed: int, batch_size: int, if_empty: bool) -> None:
    """Enrol N synthetic participants (NHS test-range numbers) with assessments and
    treatment trials, on the demo sites and consent forms (made if absent)."""
    if if_empty and not demo.registry_is_empty():
        click.echo("participants are enrolled already; demo seed skipped")
        return
    actor = Actor.command_line()
    report = demo.SeedReport()
    with progress_bar(length=count, label="seeding") as bar:
        with transaction():
            demo.prepare_demo(by=actor)
        run_in_batches(
            demo.people_to_seed(count, seed=seed),
            batch_size=batch_size,
            step=partial(demo.seed_batch, by=actor, report=report),
            progress=bar.update,
        )
    click.echo(
        f"seeded {report.enrolled} participants ({report.assessments} assessments, "
        f"{report.trials} treatment trials); already enrolled {report.already_enrolled}"
    )
