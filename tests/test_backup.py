"""Backup and restore: into a fresh database, the audit chain verifies, every participant
decrypts with the keyring, and shredded participants stay shredded."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, text

from registry import create_app
from registry.audit.models import AuditEvent
from registry.auth.permissions import Role
from registry.db import session
from registry.participants.models import Participant
from tests.conftest import (
    PASSWORD,
    committed_accounts,
    enrolment_body,
    fresh_database,
    isolated_app,
    make_settings,
)
from tests.test_cli import invoke


def populate(app: Flask) -> tuple[list[str], str]:
    """Four participants through the API, one of them fully withdrawn (shredded)."""
    clinician, admin = committed_accounts(app, "RBK", (Role.CLINICIAN, Role.ADMIN))
    client = app.test_client()
    ids = []
    for _ in range(4):
        response = client.post(
            "/api/v1/participants",
            json=enrolment_body(),
            headers=clinician,
        )
        assert response.status_code == 201
        ids.append(response.get_json()["participant_id"])
    withdrawn = client.post(
        f"/api/v1/participants/{ids[0]}/withdrawal",
        json={"level": "full", "password": PASSWORD},
        headers=admin,
    )
    assert withdrawn.status_code == 201
    return ids, ids[0]


def test_backup_restores_whole_into_a_fresh_database(tmp_path: Path) -> None:
    with isolated_app(tmp_path / "source") as (source, _url):
        _ids, shredded = populate(source)
        code, output = invoke(source, "db", "backup", str(tmp_path / "registry.backup"))
        assert code == 0, output
        again, output = invoke(source, "db", "backup", str(tmp_path / "registry.backup"))
        assert again == 1 and "never overwrites" in output
        keyring = Path(source.config["SETTINGS"].keyring_path)

    with fresh_database(tmp_path, migrated=False) as target_url:
        target = create_app(make_settings(target_url, keyring, tmp_path / "target-instance"))
        try:
            code, output = invoke(target, "db", "restore", str(tmp_path / "registry.backup"))
            assert code == 0, output
            code, output = invoke(target, "db", "check")
            assert code == 0, output
            assert "audit chain intact" in output
            assert "4 participants: 3 decrypt, 1 shredded and still shredded" in output

            # A second restore over it is refused: restores never merge into live data.
            code, output = invoke(target, "db", "restore", str(tmp_path / "registry.backup"))
            assert code == 1 and "empty" in output

            with target.app_context():
                gone = session().scalar(
                    select(Participant).where(Participant.participant_id == shredded)
                )
                assert gone is not None and gone.nhs_number_sealed is None
        finally:
            target.extensions["registry.db"].engine.dispose()


def test_the_check_fails_when_the_chain_or_a_key_is_broken(tmp_path: Path) -> None:
    with isolated_app(tmp_path) as (app, _url):
        populate(app)
        with app.app_context():
            # A sealed value damaged in the copy (or sealed under another keyring) is named.
            participant = (
                session().scalars(select(Participant).where(Participant.status == "active")).first()
            )
            assert participant is not None
            # Raw SQL: the ORM refuses to touch a sealed column by design.
            session().execute(
                text("UPDATE participant SET given_name_sealed = :junk WHERE id = :id"),
                {"junk": b"\x01" * 40, "id": participant.id},
            )
            session().commit()
        code, output = invoke(app, "db", "check")
        assert code == 1
        assert "does not decrypt" in output
        assert participant.participant_id in output
        with app.app_context():
            assert session().scalar(select(AuditEvent.seq).limit(1)) is not None


@pytest.mark.parametrize("target", ["sqlite:///:memory:"])
def test_in_memory_databases_cannot_be_backed_up(tmp_path: Path, target: str) -> None:
    from registry.backup import BackupError, backup

    with pytest.raises(BackupError):
        backup(target, tmp_path / "x.backup")
