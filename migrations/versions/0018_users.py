"""one-time secrets: a generated password or API token waiting to be shown once

Issue #20: the admin's user pages and everyone's token page show a new secret once, on a
page of its own reached by a redirect. The secret waits here, sealed, until that page
deletes it.

Revision ID: 0018_users
Revises: 0017_site_active
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018_users"
down_revision = "0017_site_active"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "one_time_secret",
        sa.Column("id", sa.String(length=43), nullable=False, comment="random, unguessable"),
        sa.Column("owner_id", sa.Integer(), nullable=False, comment="the user it may be shown to"),
        sa.Column(
            "secret_sealed",
            sa.LargeBinary(),
            nullable=False,
            comment="AES-GCM under the keyring's one-time-secret subkey",
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["user_account.id"],
            name=op.f("fk_one_time_secret_owner_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_secret")),
    )


def downgrade() -> None:
    op.drop_table("one_time_secret")
