"""verification anchors: a recorded chain check keeps what the anchors said

Issue #20: the audit page and the admin's dashboard show the chain's latest check and its
latest anchor. `registry audit verify --anchors FILE` records how many anchors the chain
matched and the latest one's event number beside its answer.

Revision ID: 0025_verification_anchors
Revises: 0024_corrections
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_verification_anchors"
down_revision = "0024_corrections"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns: added in place on SQLite too, no table rebuild.
    op.add_column("audit_verification", sa.Column("anchors_matched", sa.Integer(), nullable=True))
    op.add_column("audit_verification", sa.Column("latest_anchor_seq", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("audit_verification", schema=None) as batch_op:
        batch_op.drop_column("latest_anchor_seq")
        batch_op.drop_column("anchors_matched")
