"""reference populations and datasheet sections

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.migrations import drop_append_only, make_append_only

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "datasheet_section",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("cohort", sa.String(length=3), nullable=False),
        sa.Column("section", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_datasheet_section_author_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_datasheet_section")),
        sa.UniqueConstraint(
            "cohort", "section", "version", name=op.f("uq_datasheet_section_cohort")
        ),
    )
    op.create_table(
        "reference_population",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "reference_id", sa.String(length=64), nullable=False, comment="e.g. icb-2021-bsol"
        ),
        sa.Column("version", sa.Integer(), nullable=False, comment="1, 2, ... per reference_id"),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("geography", sa.String(length=200), nullable=False),
        sa.Column("geography_code", sa.String(length=16), nullable=True),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("shares_csv", sa.Text(), nullable=False, comment="the CSV as checked and loaded"),
        sa.Column("loaded_by_id", sa.Integer(), nullable=True),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["loaded_by_id"],
            ["user_account.id"],
            name=op.f("fk_reference_population_loaded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reference_population")),
        sa.UniqueConstraint(
            "reference_id", "version", name=op.f("uq_reference_population_reference_id")
        ),
    )
    # A published datasheet must be traceable to the texts and reference it used.
    make_append_only("reference_population")
    make_append_only("datasheet_section")


def downgrade() -> None:
    for table in ("reference_population", "datasheet_section"):
        drop_append_only(table)
        op.drop_table(table)
