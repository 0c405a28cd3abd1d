"""partners' privacy budget: allowances, the append-only ledger of charges, published answers

Issue #18: partners' figures carry calibrated noise and each fresh question is charged to
its organisation's budget. The ledger is evidence (append-only, like the audit log); the
budget row is what a charge locks; published answers are returned again within the
consistency window.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.migrations import drop_append_only, make_append_only

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "privacy_budget",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "organisation",
            sa.String(length=200),
            nullable=False,
            comment="a partner organisation, or one account",
        ),
        sa.Column(
            "allowance",
            sa.Float(),
            nullable=True,
            comment="zCDP rho per rolling period; null takes the setting's default",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_budget")),
        sa.UniqueConstraint("organisation", name=op.f("uq_privacy_budget_organisation")),
    )
    op.create_table(
        "privacy_charge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column(
            "question",
            sa.String(length=64),
            nullable=False,
            comment="digest of the normalised question",
        ),
        sa.Column(
            "purpose",
            sa.String(length=64),
            nullable=False,
            comment="what was released, e.g. eligibility",
        ),
        sa.Column("cost", sa.Float(), nullable=False, comment="zCDP rho"),
        sa.Column(
            "charged_by", sa.String(length=200), nullable=False, comment="the actor's audit label"
        ),
        sa.Column("charged_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_charge")),
    )
    op.create_index(
        "ix_privacy_charge_organisation_at",
        "privacy_charge",
        ["organisation", "charged_at"],
        unique=False,
    )
    make_append_only("privacy_charge")
    op.create_table(
        "privacy_published_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("question", sa.String(length=64), nullable=False),
        sa.Column("answer", sa.JSON(), nullable=False, comment="the published figures only"),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_published_answer")),
    )
    op.create_index(
        "ix_privacy_published_answer_question",
        "privacy_published_answer",
        ["organisation", "question", "published_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_privacy_published_answer_question", table_name="privacy_published_answer")
    op.drop_table("privacy_published_answer")
    drop_append_only("privacy_charge")
    op.drop_index("ix_privacy_charge_organisation_at", table_name="privacy_charge")
    op.drop_table("privacy_charge")
    op.drop_table("privacy_budget")
