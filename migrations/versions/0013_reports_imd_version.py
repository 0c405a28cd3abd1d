"""reports: the IoD edition beside each facts row's decile; a reference's kind and cohort

Issue #19: deciles of IoD2019 and IoD2025 rank different data and must never be pooled, so
the facts row (which reports read) keeps the edition, back-filled from the participant.
A loaded reference population says what it stands for (a general population, a
need-based estimate, or a service's caseload) and which cohort it is the comparator for;
earlier loads were general-population tables.

Revision ID: 0013_reports_imd_version
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.migrations import drop_append_only, make_append_only

revision = "0013_reports_imd_version"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("participant_facts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "imd_version", sa.String(length=8), nullable=True, comment="IoD2019 or IoD2025"
            )
        )
    op.execute(
        "UPDATE participant_facts SET imd_version = (SELECT imd_version FROM participant "
        "WHERE participant.id = participant_facts.participant_pk)"
    )
    # reference_population is append-only: columns are added, never filled by UPDATE; the
    # server default gives earlier loads their kind.
    with op.batch_alter_table("reference_population", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "kind",
                sa.String(length=16),
                server_default="census",
                nullable=False,
                comment="census, need-based or caseload",
            )
        )
        batch_op.add_column(
            sa.Column(
                "cohort",
                sa.String(length=3),
                nullable=True,
                comment="the cohort it is the comparator for, if one",
            )
        )


def downgrade() -> None:
    # SQLite drops a column by rebuilding the table, which loses its triggers: lift them
    # first and put them back after.
    drop_append_only("reference_population")
    with op.batch_alter_table("reference_population", schema=None) as batch_op:
        batch_op.drop_column("cohort")
        batch_op.drop_column("kind")
    make_append_only("reference_population")
    with op.batch_alter_table("participant_facts", schema=None) as batch_op:
        batch_op.drop_column("imd_version")
