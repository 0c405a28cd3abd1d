"""follow-up completeness per visit in participant_facts

Issue #21 item 8: for each visit of the follow-up schedule (assessments/data/schedule.toml)
whether its scales were all recorded within its window (complete), some (partial) or none,
and the schedule version that judged it; researchers ask for "completed 6-month visit" and
the representativeness report measures retention from these. Existing rows hold nulls
until their facts are next refreshed (`registry facts refresh`).

Revision ID: 0020_followup_facts
Revises: 0019_oidc_subject
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_followup_facts"
down_revision = "0019_oidc_subject"
branch_labels = None
depends_on = None

_VISITS = ("baseline", "week_8", "month_3", "month_6", "month_12", "month_24")


def upgrade() -> None:
    with op.batch_alter_table("participant_facts", schema=None) as batch_op:
        for visit in _VISITS:
            batch_op.add_column(sa.Column(f"followup_{visit}", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column(
                "followup_schedule",
                sa.String(length=16),
                nullable=True,
                comment="schedule.toml version the follow-up columns were derived by",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("participant_facts", schema=None) as batch_op:
        batch_op.drop_column("followup_schedule")
        for visit in reversed(_VISITS):
            batch_op.drop_column(f"followup_{visit}")
