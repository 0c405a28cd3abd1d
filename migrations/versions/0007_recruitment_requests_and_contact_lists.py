"""recruitment requests and contact lists

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recruitment_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "request_id",
            sa.String(length=24),
            nullable=False,
            comment="random public id; sequential ids would be guessable",
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("study_title", sa.String(length=200), nullable=False),
        sa.Column("sponsor", sa.String(length=200), nullable=False),
        sa.Column("ethics_reference", sa.String(length=16), nullable=False, comment="IRAS ID"),
        sa.Column("criteria", sa.JSON(), nullable=False, comment="the document as validated"),
        sa.Column("catalogue_version", sa.String(length=16), nullable=False),
        sa.Column(
            "target",
            sa.Integer(),
            nullable=False,
            comment="participants the study hopes to recruit",
        ),
        sa.Column("contact_from", sa.Date(), nullable=False),
        sa.Column("contact_until", sa.Date(), nullable=False),
        sa.Column("lay_summary", sa.Text(), nullable=True, comment="read to the patient"),
        sa.Column("partner_id", sa.Integer(), nullable=False),
        sa.Column(
            "organisation",
            sa.String(length=200),
            nullable=True,
            comment="the partner's at submission: who may follow it",
        ),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column(
            "confirmed_by_id",
            sa.Integer(),
            nullable=True,
            comment="the second admin, under the two-person rule",
        ),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["closed_by_id"],
            ["user_account.id"],
            name=op.f("fk_recruitment_request_closed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["confirmed_by_id"],
            ["user_account.id"],
            name=op.f("fk_recruitment_request_confirmed_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["user_account.id"],
            name=op.f("fk_recruitment_request_decided_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["partner_id"],
            ["user_account.id"],
            name=op.f("fk_recruitment_request_partner_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recruitment_request")),
        sa.UniqueConstraint("request_id", name=op.f("uq_recruitment_request_request_id")),
    )
    with op.batch_alter_table("recruitment_request", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recruitment_request_organisation"), ["organisation"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_recruitment_request_partner_id"), ["partner_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_recruitment_request_status"), ["status"], unique=False)

    op.create_table(
        "recruitment_contact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_pk", sa.Integer(), nullable=False),
        sa.Column("participant_pk", sa.Integer(), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.String(length=20),
            nullable=False,
            comment="to_contact, an outcome, or held_back",
        ),
        sa.Column("held_back_reason", sa.String(length=24), nullable=True),
        sa.Column("listed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "approached_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="first outcome that meant they were spoken to; counts toward contact fatigue",
        ),
        sa.Column(
            "removed_at",
            sa.DateTime(timezone=True),
            nullable=True,
            comment="left every list (withdrawal, consent change): never shown or counted again",
        ),
        sa.Column("removed_reason", sa.String(length=24), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_pk"],
            ["participant.id"],
            name=op.f("fk_recruitment_contact_participant_pk_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["request_pk"],
            ["recruitment_request.id"],
            name=op.f("fk_recruitment_contact_request_pk_recruitment_request"),
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_recruitment_contact_site_id_site")
        ),
        sa.ForeignKeyConstraint(
            ["status_by_id"],
            ["user_account.id"],
            name=op.f("fk_recruitment_contact_status_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recruitment_contact")),
        sa.UniqueConstraint(
            "request_pk", "participant_pk", name=op.f("uq_recruitment_contact_request_pk")
        ),
    )
    with op.batch_alter_table("recruitment_contact", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recruitment_contact_participant_pk"), ["participant_pk"], unique=False
        )
        batch_op.create_index(
            "ix_recruitment_contact_request_site", ["request_pk", "site_id"], unique=False
        )

    op.create_table(
        "recruitment_list_visit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_pk"],
            ["recruitment_request.id"],
            name=op.f("fk_recruitment_list_visit_request_pk_recruitment_request"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_recruitment_list_visit_user_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recruitment_list_visit")),
        sa.UniqueConstraint(
            "request_pk", "user_id", name=op.f("uq_recruitment_list_visit_request_pk")
        ),
    )
    op.create_table(
        "recruitment_contact_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["by_id"],
            ["user_account.id"],
            name=op.f("fk_recruitment_contact_event_by_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["recruitment_contact.id"],
            name=op.f("fk_recruitment_contact_event_contact_id_recruitment_contact"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recruitment_contact_event")),
    )
    with op.batch_alter_table("recruitment_contact_event", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recruitment_contact_event_contact_id"), ["contact_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recruitment_contact_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recruitment_contact_event_contact_id"))

    op.drop_table("recruitment_contact_event")
    op.drop_table("recruitment_list_visit")
    with op.batch_alter_table("recruitment_contact", schema=None) as batch_op:
        batch_op.drop_index("ix_recruitment_contact_request_site")
        batch_op.drop_index(batch_op.f("ix_recruitment_contact_participant_pk"))

    op.drop_table("recruitment_contact")
    with op.batch_alter_table("recruitment_request", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recruitment_request_status"))
        batch_op.drop_index(batch_op.f("ix_recruitment_request_partner_id"))
        batch_op.drop_index(batch_op.f("ix_recruitment_request_organisation"))

    op.drop_table("recruitment_request")
