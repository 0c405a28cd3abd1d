"""Least privilege on PostgreSQL: migrations run as the schema's owner, and the app as a
role that owns nothing and may only read and append to the audit log.

Roles belong to the whole server, which concurrent test runs share: every role here has a
random name and is dropped afterwards (after the database that holds its grants).
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from registry import create_app
from registry.auth.permissions import Role
from registry.config import ConfigurationError, Settings
from registry.db import Base, session
from registry.db_roles import APP_PRIVILEGES
from registry.participants.models import STATUS_SHREDDED, Participant
from tests.conftest import (
    PASSWORD,
    committed_accounts,
    enrolment_body,
    fresh_database,
    make_settings,
    on_postgresql,
)
from tests.test_cli import invoke

needs_roles = pytest.mark.skipif(not on_postgresql(), reason="SQLite has no database roles")


@dataclass(frozen=True)
class TwoRoles:
    owner: str
    app_role: str
    owner_url: str
    app_url: str

    def engine(self, url: str) -> Engine:
        return create_engine(url, poolclass=NullPool)


def _server_admin() -> Engine:
    server = make_url(os.environ["TEST_DATABASE_URL"]).set(database="postgres")
    return create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)


@contextmanager
def random_roles() -> Iterator[tuple[str, str]]:
    """(owner, app role) names: the owner made here (it may create roles, as a deployment's
    owner would to make the app's), the app role left to `registry db upgrade`."""
    suffix = secrets.token_hex(5)
    owner, app_role = f"registry_owner_{suffix}", f"registry_app_{suffix}"
    admin = _server_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{owner}" LOGIN CREATEROLE'))
    try:
        yield owner, app_role
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP ROLE IF EXISTS "{app_role}"'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{owner}"'))
        admin.dispose()


@contextmanager
def owned_database(tmp_path: Path, owner: str, app_role: str) -> Iterator[TwoRoles]:
    """A new, empty database owned by ``owner``, and the URLs of both roles on it."""
    with fresh_database(tmp_path, migrated=False) as url:
        admin = _server_admin()
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{make_url(url).database}" OWNER TO "{owner}"'))
        admin.dispose()
        password = secrets.token_urlsafe(16)
        yield TwoRoles(
            owner=owner,
            app_role=app_role,
            owner_url=make_url(url).set(username=owner).render_as_string(hide_password=False),
            app_url=make_url(url)
            .set(username=app_role, password=password)
            .render_as_string(hide_password=False),
        )


@contextmanager
def app_as_its_role(roles: TwoRoles, keyring: Path, instance: Path) -> Iterator[Flask]:
    app = create_app(
        make_settings(roles.app_url, keyring, instance, migration_database_url=roles.owner_url)
    )
    try:
        yield app
    finally:
        app.extensions["registry.db"].engine.dispose()


@pytest.fixture
def two_roles(tmp_path: Path) -> Iterator[TwoRoles]:
    with random_roles() as (owner, app_role), owned_database(tmp_path, owner, app_role) as roles:
        yield roles


@pytest.fixture
def upgraded(two_roles: TwoRoles, keyring_path: Path, tmp_path: Path) -> Iterator[Flask]:
    """The app, connected as its own role, after `registry db upgrade` made that role."""
    with app_as_its_role(two_roles, keyring_path, tmp_path / "instance") as app:
        code, output = invoke(app, "db", "upgrade")
        assert code == 0, output
        assert f"app role {two_roles.app_role}: created; privileges set on " in output
        yield app


# Each must fail for want of privilege: not because a trigger refused it, which the owner
# could switch off.
ATTACKS = [
    "UPDATE audit_event SET outcome = 'failure'",
    "DELETE FROM audit_event",
    "TRUNCATE audit_event",
    "ALTER TABLE audit_event DISABLE TRIGGER USER",
    "ALTER TABLE audit_event ADD COLUMN note text",
    "DROP TRIGGER audit_event_no_update_delete ON audit_event",
    "DROP TRIGGER audit_event_no_truncate ON audit_event",
    "ALTER TRIGGER audit_event_no_update_delete ON audit_event RENAME TO gone",
    "CREATE TRIGGER mine BEFORE INSERT ON audit_event FOR EACH ROW "
    "EXECUTE FUNCTION audit_event_refuse_change()",
    "CREATE OR REPLACE FUNCTION audit_event_refuse_change() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$",
    "DROP TABLE audit_event",
    "DELETE FROM audit_chain_head",
    "TRUNCATE audit_chain_head",
    "UPDATE audit_chain_head SET id = 2",
    "UPDATE consent_record SET id = id",
    "DELETE FROM withdrawal",
    "UPDATE privacy_charge SET cost = 0",
    "DELETE FROM privacy_charge",
    "TRUNCATE privacy_charge",
]


@pytest.mark.postgres_only
@needs_roles
def test_app_role_cannot_change_the_audit_log_or_its_triggers(
    upgraded: Flask, two_roles: TwoRoles
) -> None:
    committed_accounts(upgraded, "RAA", (Role.ADMIN,))  # some events to protect
    engine = two_roles.engine(two_roles.app_url)
    refused: dict[str, str] = {}
    allowed = []
    try:
        for statement in [*ATTACKS, f'SET ROLE "{two_roles.owner}"']:
            with engine.connect() as conn:
                try:
                    conn.exec_driver_sql(statement)
                    allowed.append(statement)
                except DBAPIError as exc:
                    refused[statement] = str(exc.orig).splitlines()[0]
                conn.rollback()
    finally:
        engine.dispose()

    assert allowed == []
    for statement, message in refused.items():
        assert message.startswith(("permission denied", "must be owner")), (statement, message)


@pytest.mark.postgres_only
@needs_roles
def test_app_runs_end_to_end_as_its_role_and_the_chain_verifies(
    upgraded: Flask, two_roles: TwoRoles, tmp_path: Path
) -> None:
    clinician, admin = committed_accounts(upgraded, "RAB", (Role.CLINICIAN, Role.ADMIN))
    client = upgraded.test_client()
    enrolled = client.post("/api/v1/participants", json=enrolment_body(), headers=clinician)
    assert enrolled.status_code == 201, enrolled.get_json()
    participant_id = enrolled.get_json()["participant_id"]
    viewed = client.get(f"/api/v1/participants/{participant_id}", headers=clinician)
    assert viewed.status_code == 200
    # A full withdrawal deletes the keys and clinical rows: the DELETEs the role may make.
    withdrawn = client.post(
        f"/api/v1/participants/{participant_id}/withdrawal",
        json={"level": "full", "password": PASSWORD},
        headers=admin,
    )
    assert withdrawn.status_code == 201, withdrawn.get_json()
    anchors = tmp_path / "anchors.jsonl"

    anchored = invoke(upgraded, "audit", "anchor", "--out", str(anchors))
    verified = invoke(upgraded, "audit", "verify", "--anchors", str(anchors))

    assert anchored[0] == 0, anchored[1]
    assert verified[0] == 0, verified[1]
    assert verified[1].startswith("audit chain intact: ")
    with upgraded.app_context():
        person = session().scalar(
            select(Participant).where(Participant.participant_id == participant_id)
        )
        assert person is not None and person.status == STATUS_SHREDDED
        assert session().scalar(text("SELECT current_user")) == two_roles.app_role


@pytest.mark.postgres_only
@needs_roles
def test_app_role_can_move_the_head_back_but_verify_reports_it(
    upgraded: Flask, two_roles: TwoRoles
) -> None:
    """What the app's role can still do to the log: rewind the head, never remove events,
    so the chain alone shows it (anchors are for whoever can do more: owner, restores)."""
    committed_accounts(upgraded, "RAC", (Role.ADMIN,))
    engine = two_roles.engine(two_roles.app_url)
    try:
        with engine.begin() as conn:
            last = conn.scalar(text("SELECT last_seq FROM audit_chain_head"))
            conn.execute(
                text(
                    "UPDATE audit_chain_head SET last_seq = :seq, "
                    "last_mac = (SELECT mac FROM audit_event WHERE seq = :seq)"
                ),
                {"seq": last - 2},
            )
    finally:
        engine.dispose()

    code, output = invoke(upgraded, "audit", "verify")

    assert code == 1
    assert f"BROKEN at seq {last - 1}: the chain head was moved back (rewound)" in output


@pytest.mark.postgres_only
@needs_roles
def test_db_upgrade_refuses_an_app_role_that_belongs_to_the_owner(
    two_roles: TwoRoles, keyring_path: Path, tmp_path: Path
) -> None:
    admin = _server_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{two_roles.app_role}" LOGIN'))
        conn.execute(text(f'GRANT "{two_roles.owner}" TO "{two_roles.app_role}"'))
    admin.dispose()

    with app_as_its_role(two_roles, keyring_path, tmp_path / "instance") as app:
        code, output = invoke(app, "db", "upgrade")

    assert code == 1
    assert f"the app role {two_roles.app_role} owns, or belongs to a role that owns, " in output
    assert output.count("\n") == 2  # "database at revision head", then the one error line


@pytest.mark.postgres_only
@needs_roles
def test_db_upgrade_refuses_an_app_role_that_may_create_roles(
    two_roles: TwoRoles, keyring_path: Path, tmp_path: Path
) -> None:
    admin = _server_admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{two_roles.app_role}" LOGIN CREATEROLE'))
    admin.dispose()

    with app_as_its_role(two_roles, keyring_path, tmp_path / "instance") as app:
        code, output = invoke(app, "db", "upgrade")

    assert code == 1
    assert f"the app role {two_roles.app_role} may create roles" in output


@pytest.mark.postgres_only
@needs_roles
def test_db_upgrade_takes_back_privileges_granted_by_hand(
    upgraded: Flask, two_roles: TwoRoles
) -> None:
    owner = two_roles.engine(two_roles.owner_url)
    try:
        with owner.begin() as conn:
            conn.execute(text(f'GRANT ALL ON audit_event TO "{two_roles.app_role}"'))
            conn.execute(text("CREATE TABLE scratch (id integer)"))  # a table with no line
            conn.execute(text(f'GRANT ALL ON scratch TO "{two_roles.app_role}"'))

        code, output = invoke(upgraded, "db", "upgrade")

        with owner.connect() as conn:
            held = conn.execute(
                text(
                    "SELECT table_name, privilege_type FROM information_schema.role_table_grants "
                    "WHERE grantee = :r AND table_name IN ('audit_event', 'scratch')"
                ),
                {"r": two_roles.app_role},
            ).all()
    finally:
        owner.dispose()

    assert code == 0, output
    assert sorted(held) == [("audit_event", "INSERT"), ("audit_event", "SELECT")]


@pytest.mark.postgres_only
@needs_roles
def test_backup_and_restore_as_the_owner_leave_the_app_role_working(
    upgraded: Flask, two_roles: TwoRoles, keyring_path: Path, tmp_path: Path
) -> None:
    clinician, _admin = committed_accounts(upgraded, "RAD", (Role.CLINICIAN, Role.ADMIN))
    enrolled = upgraded.test_client().post(
        "/api/v1/participants", json=enrolment_body(), headers=clinician
    )
    assert enrolled.status_code == 201
    backup_file = tmp_path / "registry.backup"
    code, output = invoke(upgraded, "db", "backup", str(backup_file))
    assert code == 0, output

    target_dir = tmp_path / "target"
    target_dir.mkdir()
    with (
        owned_database(target_dir, two_roles.owner, two_roles.app_role) as target,
        app_as_its_role(target, keyring_path, target_dir / "instance") as restored,
    ):
        code, output = invoke(restored, "db", "restore", str(backup_file))
        assert code == 0, output
        assert f"app role {two_roles.app_role}: privileges set on " in output
        code, output = invoke(restored, "db", "check")
        assert code == 0, output
        assert "1 participants: 1 decrypt" in output
        with restored.app_context():
            owner = session().scalar(
                text("SELECT tableowner FROM pg_tables WHERE tablename = 'audit_event'")
            )
        assert owner == two_roles.owner


def test_every_table_has_a_line_of_app_privileges() -> None:
    """A new table fails here until someone decides what the app may do to it."""
    import_module("registry.models")  # every model module, as Alembic sees them
    assert set(APP_PRIVILEGES) == set(Base.metadata.tables)
    assert APP_PRIVILEGES["audit_event"] == ("SELECT", "INSERT")


@pytest.mark.parametrize(
    ("migration_url", "expected"),
    [
        ("postgresql+psycopg://owner@db.example:5432/other", "name different databases"),
        ("postgresql+psycopg://app@db.example:5432/registry", "a role other than the app's"),
        ("sqlite:///registry.sqlite3", "PostgreSQL only"),
        ("not a url", "not a database URL"),
    ],
)
def test_a_migration_url_that_protects_nothing_is_refused(
    migration_url: str, expected: str
) -> None:
    environ = {
        "DATABASE_URL": "postgresql+psycopg://app:s3cret@db.example:5432/registry",
        "REGISTRY_MIGRATION_DATABASE_URL": migration_url,
    }

    with pytest.raises(ConfigurationError, match=expected) as excinfo:
        Settings.load(environ)

    assert "s3cret" not in str(excinfo.value)


def test_a_migration_url_as_another_role_on_the_same_database_loads() -> None:
    settings = Settings.load(
        {
            "DATABASE_URL": "postgresql+psycopg://app@db.example:5432/registry",
            "REGISTRY_MIGRATION_DATABASE_URL": "postgresql+psycopg://owner@db.example:5432/registry",
        }
    )

    assert settings.migration_database_url is not None
