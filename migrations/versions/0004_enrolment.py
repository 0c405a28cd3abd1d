"""enrolment: demographics, consent history, assessments, treatment trials, facts

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.migrations import drop_append_only, make_append_only

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

APPEND_ONLY = ("consent_record", "consent_item_event")


def upgrade() -> None:
    op.create_table(
        "assessment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_pk", sa.Integer(), nullable=False),
        sa.Column("instrument", sa.String(length=12), nullable=False, comment="e.g. PHQ9"),
        sa.Column(
            "scale_version",
            sa.String(length=16),
            nullable=False,
            comment="instruments.toml version",
        ),
        sa.Column("administered_on", sa.Date(), nullable=False),
        sa.Column("items", sa.JSON(), nullable=True, comment="null when only a total"),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("subscales", sa.JSON(), nullable=True),
        sa.Column("band", sa.String(length=40), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_pk"],
            ["participant.id"],
            name=op.f("fk_assessment_participant_pk_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_assessment_recorded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessment")),
    )
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_assessment_latest",
            ["participant_pk", "instrument", "administered_on"],
            unique=False,
        )

    op.create_table(
        "consent_record",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_pk", sa.Integer(), nullable=False),
        sa.Column("consent_form_id", sa.Integer(), nullable=False),
        sa.Column(
            "kind", sa.String(length=16), nullable=False, comment="enrolment, reconsent or change"
        ),
        sa.Column("signed_on", sa.Date(), nullable=False),
        sa.Column(
            "taken_by_id",
            sa.Integer(),
            nullable=True,
            comment="null when it came in by bulk import",
        ),
        sa.Column(
            "capacity", sa.String(length=16), nullable=False, comment="confirmed or consultee"
        ),
        sa.Column(
            "consultee_type", sa.String(length=16), nullable=True, comment="personal, nominated"
        ),
        sa.Column(
            "consultee_name_sealed",
            sa.LargeBinary(),
            nullable=True,
            comment="under the participant's data key",
        ),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["consent_form_id"],
            ["consent_form.id"],
            name=op.f("fk_consent_record_consent_form_id_consent_form"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_pk"],
            ["participant.id"],
            name=op.f("fk_consent_record_participant_pk_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["taken_by_id"],
            ["user_account.id"],
            name=op.f("fk_consent_record_taken_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_record")),
    )
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_consent_record_participant_pk"), ["participant_pk"], unique=False
        )

    op.create_table(
        "participant_facts",
        sa.Column("participant_pk", sa.Integer(), nullable=False),
        sa.Column("cohort", sa.String(length=3), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=False),
        sa.Column(
            "birth_month_start",
            sa.Date(),
            nullable=True,
            comment="first day of the birth month: age is counted from it",
        ),
        sa.Column("sex", sa.String(length=10), nullable=True),
        sa.Column("gender_identity", sa.String(length=1), nullable=True),
        sa.Column("ethnicity", sa.String(length=2), nullable=True),
        sa.Column("ethnicity_group", sa.String(length=10), nullable=True),
        sa.Column("postcode_district", sa.String(length=4), nullable=True),
        sa.Column("imd_decile", sa.Integer(), nullable=True),
        sa.Column("diagnosis_icd10", sa.String(length=8), nullable=True),
        sa.Column("enrolled_on", sa.Date(), nullable=True),
        sa.Column("psychosis_onset", sa.Date(), nullable=True),
        sa.Column("episode_start", sa.Date(), nullable=True),
        sa.Column("score_phq9", sa.Integer(), nullable=True),
        sa.Column("score_gad7", sa.Integer(), nullable=True),
        sa.Column("score_madrs", sa.Integer(), nullable=True),
        sa.Column("score_hamd17", sa.Integer(), nullable=True),
        sa.Column("score_qids_sr16", sa.Integer(), nullable=True),
        sa.Column("score_panss", sa.Integer(), nullable=True),
        sa.Column("score_bprs", sa.Integer(), nullable=True),
        sa.Column("score_cgi_s", sa.Integer(), nullable=True),
        sa.Column("failed_adequate_trials", sa.Integer(), nullable=False),
        sa.Column(
            "failed_trials_definition",
            sa.String(length=32),
            nullable=True,
            comment="which definition counted them, e.g. eu-pearl-2022",
        ),
        sa.Column("consent_registry_storage", sa.Boolean(), nullable=False),
        sa.Column("consent_contact_for_research", sa.Boolean(), nullable=False),
        sa.Column("consent_record_access", sa.Boolean(), nullable=False),
        sa.Column("consent_record_linkage", sa.Boolean(), nullable=False),
        sa.Column("consent_commercial_partners", sa.Boolean(), nullable=False),
        sa.Column("consent_samples", sa.Boolean(), nullable=False),
        sa.Column("consent_future_research", sa.Boolean(), nullable=False),
        sa.Column("consent_inform_gp", sa.Boolean(), nullable=False),
        sa.Column(
            "contactable",
            sa.Boolean(),
            nullable=False,
            comment="may be approached: consent to contact, not withdrawn",
        ),
        sa.ForeignKeyConstraint(
            ["participant_pk"],
            ["participant.id"],
            name=op.f("fk_participant_facts_participant_pk_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["site.id"], name=op.f("fk_participant_facts_site_id_site")
        ),
        sa.PrimaryKeyConstraint("participant_pk", name=op.f("pk_participant_facts")),
    )
    with op.batch_alter_table("participant_facts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_participant_facts_cohort_contactable", ["cohort", "contactable"], unique=False
        )
        batch_op.create_index("ix_participant_facts_site_id", ["site_id"], unique=False)

    op.create_table(
        "treatment_trial",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_pk", sa.Integer(), nullable=False),
        sa.Column("drug", sa.String(length=80), nullable=False),
        sa.Column(
            "started_on", sa.Date(), nullable=False, comment="month precision: its first day"
        ),
        sa.Column("adequate_dose", sa.Boolean(), nullable=False),
        sa.Column("weeks", sa.Integer(), nullable=False),
        sa.Column(
            "outcome",
            sa.String(length=20),
            nullable=False,
            comment="response, partial_response, non_response or intolerance",
        ),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_pk"],
            ["participant.id"],
            name=op.f("fk_treatment_trial_participant_pk_participant"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["user_account.id"],
            name=op.f("fk_treatment_trial_recorded_by_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_treatment_trial")),
    )
    with op.batch_alter_table("treatment_trial", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_treatment_trial_participant_pk"), ["participant_pk"], unique=False
        )

    op.create_table(
        "consent_item_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("participant_pk", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["participant_pk"],
            ["participant.id"],
            name=op.f("fk_consent_item_event_participant_pk_participant"),
        ),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["consent_record.id"],
            name=op.f("fk_consent_item_event_record_id_consent_record"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_item_event")),
    )
    with op.batch_alter_table("consent_item_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_consent_item_event_participant_item", ["participant_pk", "item"], unique=False
        )

    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.add_column(sa.Column("enrolled_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("enrolled_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("sex", sa.String(length=10), nullable=True))
        batch_op.add_column(
            sa.Column("gender_identity", sa.String(length=1), nullable=True, comment="MHSDS code")
        )
        batch_op.add_column(
            sa.Column(
                "ethnicity", sa.String(length=2), nullable=True, comment="NHS DD ethnic category"
            )
        )
        batch_op.add_column(
            sa.Column(
                "ethnicity_group", sa.String(length=10), nullable=True, comment="ONS 2021, derived"
            )
        )
        batch_op.add_column(
            sa.Column(
                "imd_decile",
                sa.Integer(),
                nullable=True,
                comment="1 most deprived; null if unknown",
            )
        )
        batch_op.add_column(
            sa.Column(
                "imd_version", sa.String(length=8), nullable=True, comment="IoD2019 or IoD2025"
            )
        )
        batch_op.add_column(sa.Column("diagnosis_icd10", sa.String(length=8), nullable=True))
        batch_op.add_column(
            sa.Column("psychosis_onset", sa.Date(), nullable=True, comment="EP, month precision")
        )
        batch_op.add_column(
            sa.Column("first_antipsychotic_on", sa.Date(), nullable=True, comment="EP")
        )
        batch_op.add_column(sa.Column("eip_accepted_on", sa.Date(), nullable=True, comment="EP"))
        batch_op.add_column(
            sa.Column(
                "dup_weeks",
                sa.Integer(),
                nullable=True,
                comment="EP duration of untreated psychosis: given, or derived from the dates above",
            )
        )
        batch_op.add_column(
            sa.Column("episode_start", sa.Date(), nullable=True, comment="TRD, month precision")
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_participant_enrolled_by_id_user_account"),
            "user_account",
            ["enrolled_by_id"],
            ["id"],
        )

    for table in APPEND_ONLY:
        make_append_only(table)


def downgrade() -> None:
    for table in APPEND_ONLY:
        drop_append_only(table)
    with op.batch_alter_table("participant", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_participant_enrolled_by_id_user_account"), type_="foreignkey"
        )
        batch_op.drop_column("episode_start")
        batch_op.drop_column("dup_weeks")
        batch_op.drop_column("eip_accepted_on")
        batch_op.drop_column("first_antipsychotic_on")
        batch_op.drop_column("psychosis_onset")
        batch_op.drop_column("diagnosis_icd10")
        batch_op.drop_column("imd_version")
        batch_op.drop_column("imd_decile")
        batch_op.drop_column("ethnicity_group")
        batch_op.drop_column("ethnicity")
        batch_op.drop_column("gender_identity")
        batch_op.drop_column("sex")
        batch_op.drop_column("enrolled_by_id")
        batch_op.drop_column("enrolled_on")

    with op.batch_alter_table("consent_item_event", schema=None) as batch_op:
        batch_op.drop_index("ix_consent_item_event_participant_item")

    op.drop_table("consent_item_event")
    with op.batch_alter_table("treatment_trial", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_treatment_trial_participant_pk"))

    op.drop_table("treatment_trial")
    with op.batch_alter_table("participant_facts", schema=None) as batch_op:
        batch_op.drop_index("ix_participant_facts_site_id")
        batch_op.drop_index("ix_participant_facts_cohort_contactable")

    op.drop_table("participant_facts")
    with op.batch_alter_table("consent_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_consent_record_participant_pk"))

    op.drop_table("consent_record")
    with op.batch_alter_table("assessment", schema=None) as batch_op:
        batch_op.drop_index("ix_assessment_latest")

    op.drop_table("assessment")
