"""withdrawal: the append-only withdrawal history and the participant's current level

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.migrations import drop_append_only, make_append_only

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "withdrawal",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_pk", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("reason_code", sa.String(length=24), nullable=False),
        sa.Column(
            "reason_sealed",
            sa.LargeBinary(),
            nullable=True,
            comment="free text under the participant's data key; dropped for full",
        ),
        sa.Column(
            "requested_by", sa.String(length=16), nullable=False, comment="participant or consultee"
        ),
        sa.Column("consultee_type", sa.String(length=16), nullable=True),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_pk"],
            ["participant.id"],
            name=op.f("fk_withdrawal_participant_pk_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_withdrawal_recorded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_withdrawal")),
    )
    with op.batch_alter_table("withdrawal", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_withdrawal_participant_pk"), ["participant_pk"], unique=False
        )

    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "withdrawal_level",
                sa.String(length=20),
                nullable=True,
                comment="strictest withdrawal recorded; null while taking part fully",
            )
        )
        batch_op.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))

    make_append_only("withdrawal")


def downgrade() -> None:
    drop_append_only("withdrawal")
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_at")
        batch_op.drop_column("withdrawal_level")

    with op.batch_alter_table("withdrawal", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_withdrawal_participant_pk"))

    op.drop_table("withdrawal")
