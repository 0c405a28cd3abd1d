"""saved queries: named criteria documents and their versions

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.migrations import drop_append_only, make_append_only

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "saved_query",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "query_id",
            sa.String(length=24),
            nullable=False,
            comment="random public id; sequential ids would be guessable",
        ),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column(
            "organisation",
            sa.String(length=200),
            nullable=True,
            comment="the owner's at creation; null means it can never be shared",
        ),
        sa.Column("shared", sa.Boolean(), nullable=False, comment="visible to its organisation"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["user_account.id"], name=op.f("fk_saved_query_owner_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_query")),
        sa.UniqueConstraint("query_id", name=op.f("uq_saved_query_query_id")),
    )
    with op.batch_alter_table("saved_query", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_saved_query_organisation"), ["organisation"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_saved_query_owner_id"), ["owner_id"], unique=False)

    op.create_table(
        "saved_query_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("saved_query_id", sa.Integer(), nullable=False),
        sa.Column(
            "version", sa.Integer(), nullable=False, comment="1, 2, ... within its saved query"
        ),
        sa.Column(
            "criteria",
            sa.JSON(),
            nullable=False,
            comment="the validated document as sent, and its normalised text",
        ),
        sa.Column("breakdown", sa.JSON(), nullable=False),
        sa.Column(
            "catalogue_version",
            sa.String(length=16),
            nullable=False,
            comment="the field catalogue it was written against",
        ),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["user_account.id"],
            name=op.f("fk_saved_query_version_author_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["saved_query_id"],
            ["saved_query.id"],
            name=op.f("fk_saved_query_version_saved_query_id_saved_query"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_query_version")),
        sa.UniqueConstraint(
            "saved_query_id", "version", name=op.f("uq_saved_query_version_saved_query_id")
        ),
    )
    # A version is the record of what was asked then: a change is a new version, never an edit.
    make_append_only("saved_query_version")


def downgrade() -> None:
    drop_append_only("saved_query_version")
    op.drop_table("saved_query_version")
    with op.batch_alter_table("saved_query", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_saved_query_owner_id"))
        batch_op.drop_index(batch_op.f("ix_saved_query_organisation"))

    op.drop_table("saved_query")
