"""participant identity: sealed identifiers, wrapped data keys, NHS-number blind index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27

Identifier columns hold AES-GCM ciphertext only (the models' SealedBytes is plain binary
in the database). Deleting a participant's ``participant_key`` row shreds them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "participant_id",
            sa.String(length=32),
            nullable=False,
            comment="random public id, e.g. P-7K3M0QX2V9HD; not derived",
        ),
        sa.Column("cohort", sa.String(length=3), nullable=False, comment="EP or TRD"),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shredded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("nhs_number_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("given_name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("family_name_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("date_of_birth_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("postcode_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("email_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("phone_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("birth_year", sa.Integer(), nullable=True),
        sa.Column("birth_month", sa.Integer(), nullable=True),
        sa.Column(
            "postcode_district",
            sa.String(length=4),
            nullable=True,
            comment="outward code only, e.g. B15",
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_participant_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant")),
        sa.UniqueConstraint("participant_id", name=op.f("uq_participant_participant_id")),
    )
    op.create_table(
        "nhs_number_index",
        sa.Column("participant_pk", sa.Integer(), nullable=False),
        sa.Column("index_value", sa.BigInteger(), nullable=False),
        sa.Column("bits", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_pk"],
            ["participant.id"],
            name=op.f("fk_nhs_number_index_participant_pk_participant"),
        ),
        sa.PrimaryKeyConstraint("participant_pk", name=op.f("pk_nhs_number_index")),
    )
    with op.batch_alter_table("nhs_number_index", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nhs_number_index_index_value"), ["index_value"], unique=False
        )

    op.create_table(
        "participant_key",
        sa.Column("participant_pk", sa.Integer(), nullable=False),
        sa.Column("dek_version", sa.Integer(), nullable=False),
        sa.Column(
            "kek_epoch", sa.Integer(), nullable=False, comment="as named in wrapped_dek's header"
        ),
        sa.Column("wrapped_dek", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_pk"],
            ["participant.id"],
            name=op.f("fk_participant_key_participant_pk_participant"),
        ),
        sa.PrimaryKeyConstraint("participant_pk", name=op.f("pk_participant_key")),
    )
    with op.batch_alter_table("participant_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participant_key_kek_epoch"), ["kek_epoch"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("participant_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participant_key_kek_epoch"))

    op.drop_table("participant_key")
    with op.batch_alter_table("nhs_number_index", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nhs_number_index_index_value"))

    op.drop_table("nhs_number_index")
    op.drop_table("participant")
