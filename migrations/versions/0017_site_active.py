"""site active: a site can be deactivated (it enrols no one; its participants stay)

Issue #20: admins deactivate and reactivate sites from /admin/sites/. Every site existing
before this revision is active.

Revision ID: 0017_site_active
Revises: 0016_dek_cache_generation
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_site_active"
down_revision = "0016_dek_cache_generation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: batch mode rebuilds the table on SQLite for an
    # expression default, and dropping `site` fails while accounts and participants name it.
    op.add_column(
        "site",
        sa.Column(
            "is_active",
            sa.Boolean(),
            server_default=sa.true(),
            nullable=False,
            comment="a deactivated site enrols no one; its participants stay",
        ),
    )
    op.add_column("site", sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_column("deactivated_at")
        batch_op.drop_column("is_active")
