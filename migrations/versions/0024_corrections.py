"""corrections: sealed prior NHS numbers and birth dates; voided assessments and trials

Issue #21: an NHS number or date of birth corrected keeps the value it replaced, sealed
under the participant's data key with the reason (``participant_correction``). Assessments
and treatment trials can be voided with a reason: the row stays, for the timeline, and
counts nowhere. An assessment records when the page showed the risk-procedure prompt.

Revision ID: 0024_corrections
Revises: 0023_ethics_normalised
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024_corrections"
down_revision = "0023_ethics_normalised"
branch_labels = None
depends_on = None

_VOIDABLE = ("assessment", "treatment_trial")


def upgrade() -> None:
    op.create_table(
        "participant_correction",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_pk", sa.Integer(), nullable=False),
        sa.Column(
            "field", sa.String(length=24), nullable=False, comment="nhs_number or date_of_birth"
        ),
        sa.Column(
            "prior_sealed",
            sa.LargeBinary(),
            nullable=True,
            comment="the value replaced; null once shredded",
        ),
        sa.Column(
            "reason_sealed",
            sa.LargeBinary(),
            nullable=True,
            comment="why, in the clinician's words; null once shredded",
        ),
        sa.Column("corrected_by_id", sa.Integer(), nullable=True),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_pk"],
            ["participant.id"],
            name=op.f("fk_participant_correction_participant_pk_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["corrected_by_id"],
            ["user_account.id"],
            name=op.f("fk_participant_correction_corrected_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participant_correction")),
    )
    with op.batch_alter_table("participant_correction", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_participant_correction_participant_pk"), ["participant_pk"], unique=False
        )
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "risk_prompt_shown_at",
                sa.DateTime(timezone=True),
                nullable=True,
                comment="when the page asked the clinician to follow the risk procedure "
                "(PHQ-9 item 9)",
            )
        )
    for table in _VOIDABLE:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column(
                    "voided_at",
                    sa.DateTime(timezone=True),
                    nullable=True,
                    comment="set when voided: it then counts nowhere, and the timeline keeps it",
                )
            )
            batch_op.add_column(sa.Column("voided_by_id", sa.Integer(), nullable=True))
            batch_op.add_column(
                sa.Column(
                    "void_reason",
                    sa.String(length=24),
                    nullable=True,
                    comment="VOID_REASONS in assessments/models.py",
                )
            )
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_voided_by_id_user_account"),
                "user_account",
                ["voided_by_id"],
                ["id"],
            )


def downgrade() -> None:
    for table in reversed(_VOIDABLE):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(
                batch_op.f(f"fk_{table}_voided_by_id_user_account"), type_="foreignkey"
            )
            batch_op.drop_column("void_reason")
            batch_op.drop_column("voided_by_id")
            batch_op.drop_column("voided_at")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_column("risk_prompt_shown_at")
    with op.batch_alter_table("participant_correction", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_participant_correction_participant_pk"))
    op.drop_table("participant_correction")
