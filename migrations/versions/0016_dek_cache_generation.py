"""dek cache generation: shredding reaches every process's data-key cache

Issue #23: a full withdrawal bumps this one-row counter in its own transaction; a process
whose cache saw an older value drops every cached data key before serving one.

Revision ID: 0016_dek_cache_generation
Revises: 0015_treatment_history
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_dek_cache_generation"
down_revision = "0015_treatment_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = op.create_table(
        "dek_cache_generation",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dek_cache_generation")),
    )
    op.bulk_insert(table, [{"id": 1, "generation": 0, "changed_at": None}])


def downgrade() -> None:
    op.drop_table("dek_cache_generation")
