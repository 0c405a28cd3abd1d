"""consent forms

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consent_form",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort", sa.String(length=3), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False, comment="e.g. TRD-PIS-2.0"),
        sa.Column("effective_on", sa.Date(), nullable=False, comment="first day it may be used"),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=64), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["user_account.id"],
            name=op.f("fk_consent_form_added_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_form")),
        sa.UniqueConstraint("cohort", "version", name=op.f("uq_consent_form_cohort")),
    )


def downgrade() -> None:
    op.drop_table("consent_form")
