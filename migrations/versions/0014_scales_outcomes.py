"""scales EP and TRD research uses, and response and remission over time

Issue #19: latest totals of the SOFAS, PSP, CGI-I, CDSS and C-SSRS screener, and each TRD
participant's response and remission (the scale, its baseline and latest assessment, and
the outcomes.toml version), all in participant_facts. Existing rows hold nulls until their
facts are next refreshed.

Revision ID: 0014_scales_outcomes
Revises: 0013_reports_imd_version
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_scales_outcomes"
down_revision = "0013_reports_imd_version"
branch_labels = None
depends_on = None

_SCORES = ("score_sofas", "score_psp", "score_cgi_i", "score_cdss")


def upgrade() -> None:
    with op.batch_alter_table("participant_facts", schema=None) as batch_op:
        for name in _SCORES:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "score_cssrs_screen",
                sa.Integer(),
                nullable=True,
                comment="risk level of the latest C-SSRS screen: 0 none, 1 low, 2 moderate, 3 high",
            )
        )
        batch_op.add_column(sa.Column("outcome_scale", sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column("outcome_baseline_total", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("outcome_baseline_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("outcome_latest_total", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("outcome_latest_on", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column(
                "response",
                sa.Boolean(),
                nullable=True,
                comment="latest total at least 50% below baseline",
            )
        )
        batch_op.add_column(
            sa.Column(
                "remission",
                sa.Boolean(),
                nullable=True,
                comment="latest total within the scale's remission threshold",
            )
        )
        batch_op.add_column(
            sa.Column(
                "outcome_definitions",
                sa.String(length=16),
                nullable=True,
                comment="outcomes.toml version; null where none is derived (EP)",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("participant_facts", schema=None) as batch_op:
        for name in (
            "outcome_definitions",
            "remission",
            "response",
            "outcome_latest_on",
            "outcome_latest_total",
            "outcome_baseline_on",
            "outcome_baseline_total",
            "outcome_scale",
            "score_cssrs_screen",
            *reversed(_SCORES),
        ):
            batch_op.drop_column(name)
