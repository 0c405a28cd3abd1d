"""ethics references normalised: "IRAS 1004567" or "22/WM/0123", for requests and grants

Issue #22: recruitment requests and data-access grants take an IRAS ID or a REC reference
in any common spelling and store one (registry/ethics.py). Rows stored before held the
bare digits ("1004567") or a REC reference as typed: each is rewritten in the stored
spelling. A value the rule cannot read is left as it was (none should exist: both forms
checked their input). Data only; no column changes (16 characters hold "IRAS 1004567").

Revision ID: 0023_ethics_normalised
Revises: 0022_audit_verification
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.ethics import normalised_ethics_reference

revision = "0023_ethics_normalised"
down_revision = "0022_audit_verification"
branch_labels = None
depends_on = None

TABLES = ("recruitment_request", "data_access_grant")


def upgrade() -> None:
    bind = op.get_bind()
    for name in TABLES:
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("ethics_reference"))
        rows = bind.execute(sa.select(table.c.id, table.c.ethics_reference)).all()
        for row_id, stored in rows:
            normalised = normalised_ethics_reference(stored or "")
            if normalised is not None and normalised != stored:
                bind.execute(
                    table.update().where(table.c.id == row_id).values(ethics_reference=normalised)
                )


def downgrade() -> None:
    # Back to the bare digits the earlier request form stored; REC references stay.
    bind = op.get_bind()
    for name in TABLES:
        table = sa.table(name, sa.column("id", sa.Integer), sa.column("ethics_reference"))
        rows = bind.execute(sa.select(table.c.id, table.c.ethics_reference)).all()
        for row_id, stored in rows:
            if stored and stored.startswith("IRAS "):
                bind.execute(
                    table.update()
                    .where(table.c.id == row_id)
                    .values(ethics_reference=stored.removeprefix("IRAS "))
                )
