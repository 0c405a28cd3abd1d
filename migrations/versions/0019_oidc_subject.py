"""oidc subject: staff accounts linked to a person at the identity provider

Issue #23: single sign-on through OpenID Connect matches an account by the provider's
subject (with its issuer), recorded the first time the person signs in through it.

Revision ID: 0019_oidc_subject
Revises: 0018_users
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019_oidc_subject"
down_revision = "0018_users"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable columns and a unique index: added in place on SQLite too, no table rebuild.
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "oidc_issuer",
                sa.String(length=500),
                nullable=True,
                comment="the identity provider this account signs in through, if any",
            )
        )
        batch_op.add_column(
            sa.Column(
                "oidc_subject",
                sa.String(length=255),
                nullable=True,
                comment="the provider's subject (sub) for this person, linked at first use",
            )
        )
    op.create_index(
        "ix_user_account_oidc_subject",
        "user_account",
        ["oidc_issuer", "oidc_subject"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index("ix_user_account_oidc_subject", table_name="user_account")
    with op.batch_alter_table("user_account", schema=None) as batch_op:
        batch_op.drop_column("oidc_subject")
        batch_op.drop_column("oidc_issuer")
