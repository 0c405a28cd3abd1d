"""recruitment cap: an approval may list at most N people, chosen at random

Issue #20 item 8: the decision records the cap it applied.

Revision ID: 0021_recruitment_cap
Revises: 0020_followup_facts
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021_recruitment_cap"
down_revision = "0020_followup_facts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("recruitment_request", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "list_cap",
                sa.Integer(),
                nullable=True,
                comment="at most this many listed, chosen at random among those eligible at "
                "approval",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("recruitment_request", schema=None) as batch_op:
        batch_op.drop_column("list_cap")
