"""data access grants, their researchers, and the record of each extract

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.migrations import drop_append_only, make_append_only

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_access_grant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "grant_id",
            sa.String(length=24),
            nullable=False,
            comment="random public id; sequential ids would be guessable",
        ),
        sa.Column(
            "study_key",
            sa.String(length=32),
            nullable=False,
            comment="random; keys study pseudonyms and date shifts; shared only by renewals",
        ),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column(
            "ethics_reference",
            sa.String(length=32),
            nullable=False,
            comment="IRAS ID or REC reference",
        ),
        sa.Column("cohorts", sa.JSON(), nullable=False, comment="approved cohorts, e.g. [TRD]"),
        sa.Column(
            "variables",
            sa.JSON(),
            nullable=False,
            comment="approved catalogue variables, e.g. participants.sex",
        ),
        sa.Column(
            "consent_items",
            sa.JSON(),
            nullable=False,
            comment="items each participant must currently have granted",
        ),
        sa.Column("date_policy", sa.String(length=8), nullable=False, comment="month or shift"),
        sa.Column(
            "max_shift_days",
            sa.Integer(),
            nullable=True,
            comment="shift policy: offsets are 1..N days either way, secret, per participant",
        ),
        sa.Column("catalogue_version", sa.String(length=16), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False, comment="last day extracts may be made"),
        sa.Column(
            "renews_id", sa.Integer(), nullable=True, comment="the earlier grant of the same study"
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user_account.id"],
            name=op.f("fk_data_access_grant_created_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["renews_id"],
            ["data_access_grant.id"],
            name=op.f("fk_data_access_grant_renews_id_data_access_grant"),
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by_id"],
            ["user_account.id"],
            name=op.f("fk_data_access_grant_revoked_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_access_grant")),
        sa.UniqueConstraint("grant_id", name=op.f("uq_data_access_grant_grant_id")),
    )
    with op.batch_alter_table("data_access_grant", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_data_access_grant_study_key"), ["study_key"], unique=False
        )

    op.create_table(
        "data_export",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("export_id", sa.String(length=24), nullable=False, comment="random public id"),
        sa.Column("grant_pk", sa.Integer(), nullable=False),
        sa.Column(
            "requested_by_id",
            sa.Integer(),
            nullable=True,
            comment="null when made with the registry export command",
        ),
        sa.Column("channel", sa.String(length=8), nullable=False, comment="api, web or cli"),
        sa.Column("file_format", sa.String(length=8), nullable=False, comment="csv or parquet"),
        sa.Column("participants", sa.Integer(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column(
            "files", sa.JSON(), nullable=False, comment="name, rows, bytes and SHA-256 of each file"
        ),
        sa.Column("manifest_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["grant_pk"],
            ["data_access_grant.id"],
            name=op.f("fk_data_export_grant_pk_data_access_grant"),
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["user_account.id"],
            name=op.f("fk_data_export_requested_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_export")),
        sa.UniqueConstraint("export_id", name=op.f("uq_data_export_export_id")),
    )
    with op.batch_alter_table("data_export", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_data_export_grant_pk"), ["grant_pk"], unique=False)
    # What was released, file by file, is evidence: never edited or removed.
    make_append_only("data_export")

    op.create_table(
        "grant_researcher",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("grant_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("added_by_id", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["added_by_id"],
            ["user_account.id"],
            name=op.f("fk_grant_researcher_added_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["grant_pk"],
            ["data_access_grant.id"],
            name=op.f("fk_grant_researcher_grant_pk_data_access_grant"),
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_id"],
            ["user_account.id"],
            name=op.f("fk_grant_researcher_removed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_grant_researcher_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_grant_researcher")),
        sa.UniqueConstraint("grant_pk", "user_id", name=op.f("uq_grant_researcher_grant_pk")),
    )
    with op.batch_alter_table("grant_researcher", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_grant_researcher_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("grant_researcher", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_grant_researcher_user_id"))

    op.drop_table("grant_researcher")
    drop_append_only("data_export")
    with op.batch_alter_table("data_export", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_export_grant_pk"))

    op.drop_table("data_export")
    with op.batch_alter_table("data_access_grant", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_data_access_grant_study_key"))

    op.drop_table("data_access_grant")
