"""audit verification: each chain check's answer, kept outside the chain

Issue #20: the audit page and the admin's dashboard show the latest check without walking
the whole chain at every view; `registry audit verify` and the page's "Check the chain
now" write here, so a check never moves the chain it checked.

Revision ID: 0022_audit_verification
Revises: 0021_recruitment_cap
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022_audit_verification"
down_revision = "0021_recruitment_cap"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("events_checked", sa.Integer(), nullable=False),
        sa.Column(
            "first_problem",
            sa.String(length=300),
            nullable=True,
            comment="in words, with event numbers only: never a person",
        ),
        sa.Column("by_user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["by_user_id"],
            ["user_account.id"],
            name=op.f("fk_audit_verification_by_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verification")),
    )
    op.create_index(
        op.f("ix_audit_verification_verified_at"),
        "audit_verification",
        ["verified_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_audit_verification_verified_at"), table_name="audit_verification")
    op.drop_table("audit_verification")
