"""PostgreSQL roles: the schema's owner runs the migrations; the app's role owns nothing.

Only a table's owner (or a superuser) may ALTER or DROP it, or disable or drop its
triggers. So the owner makes every table, and the app connects as a role holding exactly
the privileges below: the audit log and the other evidence tables get SELECT and INSERT
only, so no UPDATE, DELETE or TRUNCATE can reach them even if their triggers were gone.

The grants are explicit and re-applied after every upgrade, rather than left to ALTER
DEFAULT PRIVILEGES: a table without a line here gets nothing (and a test fails until it
has one), where a default would hand every new table the same broad rights. SQLite has no
roles; there, whoever can write the file can write everything.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

SELECT = "SELECT"
INSERT = "INSERT"
UPDATE = "UPDATE"
DELETE = "DELETE"

# Evidence: written once, never changed (append-only triggers as well).
APPEND_ONLY = (SELECT, INSERT)

# What the app does to each table, and no more. Locking a row (SELECT … FOR UPDATE) needs
# UPDATE too, so the tables the app locks have it.
APP_PRIVILEGES: Mapping[str, tuple[str, ...]] = {
    "audit_event": APPEND_ONLY,
    # Moving the head forward is the only write; its id stays 1.
    "audit_chain_head": (SELECT, f"{UPDATE} (last_seq, last_mac)"),
    # Chain checks' answers, kept outside the chain; never changed.
    "audit_verification": APPEND_ONLY,
    "site": (SELECT, INSERT),
    "user_account": (SELECT, INSERT, UPDATE),
    "api_token": (SELECT, INSERT, UPDATE),
    # A new password or token, sealed, until the one page that shows it reads (deletes) it.
    "one_time_secret": (SELECT, INSERT, DELETE),
    "participant": (SELECT, INSERT, UPDATE),
    # Deleted on full withdrawal (crypto-shredding); data keys are re-wrapped on rotation.
    "participant_key": (SELECT, INSERT, UPDATE, DELETE),
    # One row, read before serving a data key and bumped by every shred; its id stays 1.
    "dek_cache_generation": (SELECT, f"{UPDATE} (generation, changed_at)"),
    # Rewritten when a mistyped NHS number is corrected.
    "nhs_number_index": (SELECT, INSERT, f"{UPDATE} (index_value, bits)", DELETE),
    # Sealed prior values: cleared on full withdrawal, with the rest of the identity.
    "participant_correction": (SELECT, INSERT, f"{UPDATE} (prior_sealed, reason_sealed)"),
    "participant_facts": (SELECT, INSERT, UPDATE, DELETE),
    # Voiding marks a record; nothing else about it changes.
    "assessment": (
        SELECT,
        INSERT,
        f"{UPDATE} (voided_at, voided_by_id, void_reason, risk_prompt_shown_at)",
        DELETE,
    ),
    "treatment_trial": (
        SELECT,
        INSERT,
        f"{UPDATE} (voided_at, voided_by_id, void_reason)",
        DELETE,
    ),
    "consent_form": (SELECT, INSERT),
    "consent_record": APPEND_ONLY,
    "consent_item_event": APPEND_ONLY,
    "withdrawal": APPEND_ONLY,
    "saved_query": (SELECT, INSERT, UPDATE),
    "saved_query_version": APPEND_ONLY,
    "recruitment_request": (SELECT, INSERT, UPDATE),
    # A full withdrawal leaves no trace of the approaches.
    "recruitment_contact": (SELECT, INSERT, UPDATE, DELETE),
    "recruitment_contact_event": (SELECT, INSERT, DELETE),
    "recruitment_list_visit": (SELECT, INSERT, UPDATE),
    "reference_population": APPEND_ONLY,
    "datasheet_section": APPEND_ONLY,
    "data_access_grant": (SELECT, INSERT, UPDATE),
    "grant_researcher": (SELECT, INSERT, UPDATE),
    "data_export": APPEND_ONLY,
    # Locked (FOR UPDATE) while a partner's question is charged; admins set allowances.
    "privacy_budget": (SELECT, INSERT, UPDATE),
    "privacy_charge": APPEND_ONLY,
    "privacy_published_answer": APPEND_ONLY,
}

TABLE_PRIVILEGES = (SELECT, INSERT, UPDATE, DELETE, "TRUNCATE", "REFERENCES", "TRIGGER")
# Privileges that can also be held on single columns (has_any_column_privilege).
_COLUMN_PRIVILEGES = frozenset({SELECT, INSERT, UPDATE, "REFERENCES"})
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_$]{0,62}$")


_OWNED = text(
    """
    WITH mine AS (SELECT oid FROM pg_roles WHERE pg_has_role(:r, oid, 'MEMBER'))
    SELECT 'database ' || datname FROM pg_database
     WHERE datname = current_database() AND datdba IN (SELECT oid FROM mine)
    UNION ALL
    SELECT 'schema ' || nspname FROM pg_namespace
     WHERE nspowner IN (SELECT oid FROM mine) AND nspname NOT LIKE 'pg\\_%'
       AND nspname <> 'information_schema'
    UNION ALL
    SELECT 'table ' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE c.relowner IN (SELECT oid FROM mine) AND n.nspname = current_schema()
    UNION ALL
    SELECT 'function ' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
     WHERE p.proowner IN (SELECT oid FROM mine) AND n.nspname = current_schema()
    ORDER BY 1 LIMIT 5
    """
)


class DatabaseRoleError(RuntimeError):
    """The app's role cannot be made least-privileged; the message says why and what to do."""


@dataclass(frozen=True)
class RoleReport:
    role: str
    created: bool
    tables: int
    warnings: list[str] = field(default_factory=list)


def app_role_name(app_url: str | None, configured: str | None) -> str:
    """The role to grant to: the configured one, else the user DATABASE_URL connects as."""
    role = configured or (make_url(app_url).username if app_url else None)
    if not role:
        raise DatabaseRoleError(
            "no app role: put the user in DATABASE_URL or set REGISTRY_DATABASE_APP_ROLE"
        )
    if not _ROLE_NAME.match(role):
        raise DatabaseRoleError(
            "the app role's name must be lower-case letters, digits, _ or $ (at most 63)"
        )
    return role


def grant_app_privileges(owner_url: str, app_url: str | None, role: str) -> RoleReport:
    """As the owner: create the app's role if it is missing, refuse one that could undo
    the protections, then set its privileges to exactly APP_PRIVILEGES. One transaction."""
    engine = create_engine(owner_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            created = _ensure_role(conn, role, app_url)
            _refuse_powerful_role(conn, role)
            tables = _grant(conn, role)
            problems = _unexpected_privileges(conn, role, tables)
            if problems:
                raise DatabaseRoleError(f"the app role {role} " + "; ".join(problems))
            warnings = []
            if _scalar_bool(
                conn, "SELECT has_schema_privilege(:r, current_schema(), 'CREATE')", role
            ):
                warnings.append(
                    f"the app role {role} may create objects in the schema (through PUBLIC "
                    "on PostgreSQL 14 and older): REVOKE CREATE ON SCHEMA public FROM PUBLIC"
                )
            return RoleReport(role, created, len(tables), warnings)
    finally:
        engine.dispose()


def _ensure_role(conn: Connection, role: str, app_url: str | None) -> bool:
    if conn.scalar(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}):
        return False
    owner = conn.scalar(text("SELECT current_user"))
    statement = f"CREATE ROLE {_quote(conn, role)} LOGIN"
    url = make_url(app_url) if app_url else None
    password = url.password if url is not None and url.username == role else None
    if password is not None:
        # Hashed here (SCRAM, by libpq), so the password never reaches the server's logs.
        pgconn = conn.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
        verifier = pgconn.encrypt_password(str(password).encode(), role.encode()).decode()
        statement += " PASSWORD '" + verifier.replace("'", "''") + "'"
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(statement)
    except DBAPIError:
        raise DatabaseRoleError(
            f"the app role {role} does not exist and {owner} may not create it: create it "
            "(CREATE ROLE … LOGIN PASSWORD …), then run `registry db upgrade` again"
        ) from None
    return True


def _refuse_powerful_role(conn: Connection, role: str) -> None:
    """A role that is a superuser, can make roles, belongs to the owner or owns anything here
    could drop the triggers or grant itself the rest: least privilege would be a fiction."""
    owner = conn.scalar(text("SELECT current_user"))
    if owner == role:
        raise DatabaseRoleError("the migrations and the app must connect as different roles")
    flags = conn.execute(
        text("SELECT rolsuper, rolcreaterole, rolbypassrls FROM pg_roles WHERE rolname = :r"),
        {"r": role},
    ).one()
    problems = [
        what
        for what, flag in zip(
            ("is a superuser", "may create roles", "bypasses row security"), flags, strict=True
        )
        if flag
    ]
    # Owned by the role, or by a role it belongs to (whose rights it can take on).
    owned = conn.scalars(_OWNED, {"r": role}).all()
    if owned:
        problems.append(
            f"owns, or belongs to a role that owns, {', '.join(owned)} "
            f"(ALTER … OWNER TO {owner}, or REVOKE that role)"
        )
    if problems:
        raise DatabaseRoleError(f"the app role {role} " + "; ".join(problems))


def _grant(conn: Connection, role: str) -> list[str]:
    """Revoke what the owner granted before, then grant the table's line. Returns the
    schema's tables."""
    grantee = _quote(conn, role)
    schema = conn.scalar(text("SELECT current_schema()"))
    qualified = _quote(conn, schema)
    tables = list(
        conn.scalars(
            text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"),
            {"s": schema},
        )
    )
    for table in tables:
        target = f"{qualified}.{_quote(conn, table)}"
        conn.exec_driver_sql(f"REVOKE ALL ON TABLE {target} FROM {grantee}")
        if table in APP_PRIVILEGES:
            conn.exec_driver_sql(
                f"GRANT {', '.join(APP_PRIVILEGES[table])} ON TABLE {target} TO {grantee}"
            )
    conn.exec_driver_sql(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {qualified} FROM {grantee}")
    # A serial or identity column's sequence, for the tables the app inserts into.
    sequences = conn.execute(
        text(
            """
            SELECT s.oid::regclass::text, t.relname FROM pg_class s
              JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
               AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
              JOIN pg_class t ON t.oid = d.refobjid
              JOIN pg_namespace n ON n.oid = t.relnamespace
             WHERE s.relkind = 'S' AND n.nspname = :s
            """
        ),
        {"s": schema},
    ).all()
    for sequence, table in sequences:
        if INSERT in APP_PRIVILEGES.get(table, ()):
            conn.exec_driver_sql(f"GRANT USAGE ON SEQUENCE {sequence} TO {grantee}")
    if not _scalar_bool(conn, "SELECT has_schema_privilege(:r, current_schema(), 'USAGE')", role):
        conn.exec_driver_sql(f"GRANT USAGE ON SCHEMA {qualified} TO {grantee}")
    return tables


def _unexpected_privileges(conn: Connection, role: str, tables: list[str]) -> list[str]:
    """What the role can really do (through PUBLIC or other roles too), against its line."""
    problems = []
    for table in tables:
        wanted = {grant.split(" ")[0] for grant in APP_PRIVILEGES.get(table, ())}
        for privilege in TABLE_PRIVILEGES:
            check = (
                "has_any_column_privilege"
                if privilege in _COLUMN_PRIVILEGES
                else "has_table_privilege"
            )
            held = _scalar_bool(
                conn,
                f"SELECT {check}(:r, quote_ident(current_schema()) || '.' || quote_ident(:t), :p)",
                role,
                t=table,
                p=privilege,
            )
            if held and privilege not in wanted:
                problems.append(
                    f"may still {privilege} {table} (granted by another role or to PUBLIC)"
                )
            elif privilege in wanted and not held:
                problems.append(f"could not be granted {privilege} on {table}")
    return problems


def _scalar_bool(conn: Connection, sql: str, role: str, **params: str) -> bool:
    return bool(conn.scalar(text(sql), {"r": role, **params}))


def _quote(conn: Connection, name: str) -> str:
    return conn.dialect.identifier_preparer.quote_identifier(name)
