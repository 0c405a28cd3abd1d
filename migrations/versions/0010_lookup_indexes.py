"""indexes for lookups that would otherwise read whole tables as the registry grows

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nhs_number_index", schema=None) as batch_op:
        # Every duplicate check asks which blind-index widths are in use.
        batch_op.create_index(batch_op.f("ix_nhs_number_index_bits"), ["bits"], unique=False)
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        # A partner's count first asks how often they asked the same question lately.
        batch_op.create_index(
            "ix_audit_event_actor_action_target",
            ["actor", "action", "target_id", "at"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_actor_action_target")
    with op.batch_alter_table("nhs_number_index", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nhs_number_index_bits"))
