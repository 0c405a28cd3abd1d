"""saved queries are shared within the owner's role as well as organisation

An organisation is only a name on each account: a researcher's account and a partner's
can name the same company, and a shared query with staff-only criteria must not reach the
partner. Each query now keeps its owner's role; existing ones take their owner's (roles
never change, so it is the role they were saved under).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Added in place, with a default (SQLite adds a NOT NULL column no other way, and
    # rebuilding saved_query would break its versions' foreign keys), then filled in.
    with op.batch_alter_table("saved_query", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "owner_role",
                sa.String(length=16),
                server_default="",
                nullable=False,
                comment="the owner's at creation; shared only with this role of the organisation",
            )
        )
    op.execute(
        "UPDATE saved_query SET owner_role = "
        "(SELECT role FROM user_account WHERE user_account.id = saved_query.owner_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("saved_query", schema=None) as batch_op:
        batch_op.drop_column("owner_role")
