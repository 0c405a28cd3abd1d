"""The audit chain: appended by actions, refused changes, tampering found at the right seq."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from registry import create_app
from registry.audit.actions import Actor, AuditDetailError, record_event, verify_chain
from registry.audit.models import AuditEvent
from registry.auth.permissions import Role
from registry.cli import main
from registry.db import session
from tests.conftest import Account, append_events, fresh_database, make_settings, on_postgresql


def _verify_cli(app: Flask) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(main, ["audit", "verify"])
    return result.exit_code, result.output


def test_actions_leave_an_intact_chain(app: Flask, create_account: Callable[..., Account]) -> None:
    create_account(Role.ADMIN)
    create_account(Role.PARTNER)

    with app.app_context():
        report = verify_chain(session())
        total = session().scalar(select(func.count()).select_from(AuditEvent))

    assert report.intact
    assert report.events == total
    assert total and total >= 3  # two users and the admin's TOTP enrolment


def test_verify_command_reports_intact_chain(app: Flask) -> None:
    append_events(app, 3)

    code, output = _verify_cli(app)

    assert code == 0
    assert output.startswith("audit chain intact: ")


def test_update_through_the_app_is_refused(app: Flask) -> None:
    seq = append_events(app, 1)[0]

    with (
        app.app_context(),
        pytest.raises(DBAPIError, match="append-only"),
        session().begin_nested(),
    ):
        session().execute(update(AuditEvent).where(AuditEvent.seq == seq).values(outcome="success"))


def test_delete_through_the_app_is_refused(app: Flask) -> None:
    seq = append_events(app, 1)[0]

    with (
        app.app_context(),
        pytest.raises(DBAPIError, match="append-only"),
        session().begin_nested(),
    ):
        session().execute(delete(AuditEvent).where(AuditEvent.seq == seq))


@pytest.mark.postgres_only
@pytest.mark.skipif(not on_postgresql(), reason="TRUNCATE triggers exist only on PostgreSQL")
def test_truncate_is_refused_on_postgresql(app: Flask) -> None:
    append_events(app, 1)

    with (
        app.app_context(),
        pytest.raises(DBAPIError, match="append-only"),
        session().begin_nested(),
    ):
        session().execute(text("TRUNCATE audit_event"))


def test_edited_event_is_reported_at_its_seq(app: Flask, tamper: Callable[[str], None]) -> None:
    seqs = append_events(app, 5)

    tamper(f"UPDATE audit_event SET details = '{{\"n\":99}}' WHERE seq = {seqs[2]}")
    code, output = _verify_cli(app)

    assert code == 1
    assert f"BROKEN at seq {seqs[2]}:" in output


def test_deleted_event_is_reported_at_its_seq(app: Flask, tamper: Callable[[str], None]) -> None:
    seqs = append_events(app, 5)

    tamper(f"DELETE FROM audit_event WHERE seq = {seqs[1]}")
    code, output = _verify_cli(app)

    assert code == 1
    assert f"BROKEN at seq {seqs[1]}: event {seqs[1]} is missing" in output


def test_reordered_events_are_reported_at_the_first(
    app: Flask, tamper: Callable[[str], None]
) -> None:
    seqs = append_events(app, 5)
    a, b = seqs[2], seqs[3]

    tamper(f"UPDATE audit_event SET seq = -1 WHERE seq = {a}")
    tamper(f"UPDATE audit_event SET seq = {a} WHERE seq = {b}")
    tamper(f"UPDATE audit_event SET seq = {b} WHERE seq = -1")
    code, output = _verify_cli(app)

    assert code == 1
    assert f"BROKEN at seq {a}:" in output


def test_removed_last_events_are_reported(app: Flask, tamper: Callable[[str], None]) -> None:
    seqs = append_events(app, 5)

    tamper(f"DELETE FROM audit_event WHERE seq >= {seqs[3]}")
    code, output = _verify_cli(app)

    assert code == 1
    assert f"BROKEN at seq {seqs[3]}: events after the last one found were removed" in output


def test_details_that_could_identify_someone_are_refused(app: Flask) -> None:
    with app.test_request_context(), pytest.raises(AuditDetailError):
        record_event(
            "test.event", by=Actor.command_line(), details={"change": {"nhs_number": "9990123454"}}
        )


def test_event_mac_depends_on_the_keyring(app: Flask, tmp_path: Path) -> None:
    """A chain verified with another keyring is broken from the first event."""
    from registry.crypto.keys import LocalKeyring

    append_events(app, 2)
    other = LocalKeyring.create(tmp_path / "other.json")
    original = app.extensions["registry.keys"]
    app.extensions["registry.keys"] = other
    try:
        with app.app_context():
            report = verify_chain(session())
    finally:
        app.extensions["registry.keys"] = original

    assert not report.intact
    assert report.first_broken_seq == 1


@pytest.mark.postgres_only
@pytest.mark.skipif(not on_postgresql(), reason="needs concurrent writers on PostgreSQL")
def test_concurrent_appends_never_fork_the_chain(keyring_path: Path, tmp_path: Path) -> None:
    with fresh_database(tmp_path) as url:
        app = create_app(make_settings(url, keyring_path, tmp_path))
        start = threading.Barrier(16)
        errors: list[BaseException] = []

        def writer() -> None:
            try:
                start.wait()
                for _ in range(10):
                    append_events(app, 1)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        with app.app_context():
            report = verify_chain(session())
            seqs = list(session().scalars(select(AuditEvent.seq).order_by(AuditEvent.seq)))
        app.extensions["registry.db"].engine.dispose()

    assert errors == []
    assert report.intact
    assert seqs == list(range(1, 161))
