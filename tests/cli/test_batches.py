"""The batch runner: each batch its own transaction, committed when its step returns; a step
that raises rolls back its own batch, whole, stops the run and is one line on stderr."""

from __future__ import annotations

import secrets

import click
import pytest
from flask import Flask
from sqlalchemy import select

from registry.audit.actions import Actor
from registry.auth import actions as auth_actions
from registry.auth.models import Site
from registry.cli.batches import run_in_batches
from registry.db import session
from registry.errors import Conflict


def new_codes(count: int) -> list[str]:
    return [f"B{n}{secrets.token_hex(3).upper()}" for n in range(count)]


def stored(codes: list[str]) -> set[str]:
    return set(session().scalars(select(Site.code).where(Site.code.in_(codes))))


def test_every_batch_is_committed_and_counted(app: Flask) -> None:
    codes = new_codes(5)
    done: list[int] = []

    def add_sites(batch: list[str]) -> None:
        for code in batch:
            auth_actions.add_site(code=code, name="Batch Trust", by=Actor.command_line())

    with app.test_request_context():
        run_in_batches(codes, batch_size=2, step=add_sites, progress=done.append)
        session().rollback()  # nothing is left for the caller to commit

        assert stored(codes) == set(codes)
    assert done == [2, 2, 1]


def test_a_refused_batch_is_rolled_back_whole_and_the_ones_before_it_kept(app: Flask) -> None:
    codes = new_codes(5)
    done: list[int] = []

    def add_sites_until_the_fourth(batch: list[str]) -> None:
        for code in batch:  # the third is written before the fourth is refused
            auth_actions.add_site(code=code, name="Batch Trust", by=Actor.command_line())
            if code == codes[3]:
                raise Conflict("stopped", "The fourth site is refused.")

    with app.test_request_context():
        with pytest.raises(click.ClickException, match=r"^The fourth site is refused\.$"):
            run_in_batches(
                codes, batch_size=2, step=add_sites_until_the_fourth, progress=done.append
            )

        assert stored(codes) == set(codes[:2])
    assert done == [2]
