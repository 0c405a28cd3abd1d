"""treatment history: coded drugs, modality, dose, end, adherence, response; Maudsley score

Issue #19: a trial names a drug from the coded list (dm+d VTM), its modality, dose and unit,
end month, adherence, response percentage and reason for stopping. Trials recorded before
keep their values: a drug name that matches the list takes its name and code, every row is
an antidepressant trial (all the old form recorded), and each row lists in
``not_recovered`` the new fields its old record could not give. The facts row gains the
Maudsley Staging Method score and its note.

Revision ID: 0015_treatment_history
Revises: 0014_scales_outcomes
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from registry.assessments.drugs import drug_list, find_drug

revision = "0015_treatment_history"
down_revision = "0014_scales_outcomes"
branch_labels = None
depends_on = None

# What no record before this revision held.
NEVER_RECORDED = ["dose", "ended_on", "adherence", "response_percent", "stop_reason"]
# Classes of drug the old form's "antidepressant trial" cannot have been on its own: such a
# row keeps modality antidepressant, marked as not recovered (it was likely augmentation).
_NOT_ANTIDEPRESSANTS = {"antipsychotic", "mood_stabiliser", "antiepileptic", "thyroid"}


def upgrade() -> None:
    with op.batch_alter_table("treatment_trial", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "modality",
                sa.String(length=24),
                server_default="antidepressant",
                nullable=False,
                comment="treatment.toml modalities",
            )
        )
        batch_op.alter_column(
            "drug",
            existing_type=sa.String(length=80),
            nullable=True,
            comment="drugs.toml name; free text on rows from before 0015 it matched none",
        )
        batch_op.add_column(
            sa.Column(
                "drug_code",
                sa.String(length=20),
                nullable=True,
                comment="dm+d VTM code; null for non-drug modalities or an unconfirmed code",
            )
        )
        batch_op.add_column(sa.Column("drug_list_version", sa.String(length=16), nullable=True))
        batch_op.add_column(
            sa.Column("dose", sa.Numeric(precision=10, scale=3, asdecimal=False), nullable=True)
        )
        batch_op.add_column(
            sa.Column(
                "dose_unit", sa.String(length=10), nullable=True, comment="mg, microgram, sessions"
            )
        )
        batch_op.add_column(
            sa.Column(
                "ended_on", sa.Date(), nullable=True, comment="month precision; null if ongoing"
            )
        )
        batch_op.add_column(
            sa.Column(
                "adherence",
                sa.String(length=10),
                server_default="unknown",
                nullable=False,
                comment="adequate, partial, poor or unknown",
            )
        )
        batch_op.add_column(
            sa.Column(
                "response_percent",
                sa.Integer(),
                nullable=True,
                comment="improvement from baseline in %, negative if worse",
            )
        )
        batch_op.add_column(sa.Column("stop_reason", sa.String(length=20), nullable=True))
        batch_op.add_column(
            sa.Column(
                "not_recovered",
                sa.JSON(),
                nullable=True,
                comment="rows from before 0015: the new fields the old record could not give",
            )
        )
    with op.batch_alter_table("participant_facts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "msm_score", sa.Integer(), nullable=True, comment="Maudsley Staging Method, 3-15"
            )
        )
        batch_op.alter_column(
            "failed_trials_definition",
            existing_type=sa.String(length=32),
            existing_nullable=True,
            comment="which definition counted them, e.g. eu-pearl-2022@2",
        )
    _recover_old_trials()


def _recover_old_trials() -> None:
    trials = sa.table(
        "treatment_trial",
        sa.column("id", sa.Integer()),
        sa.column("drug", sa.String()),
        sa.column("drug_code", sa.String()),
        sa.column("drug_list_version", sa.String()),
        sa.column("not_recovered", sa.JSON()),
    )
    connection = op.get_bind()
    version = drug_list().version
    for trial_id, name in connection.execute(sa.select(trials.c.id, trials.c.drug)).all():
        drug = find_drug(name or "")
        missing = list(NEVER_RECORDED)
        values: dict[str, object] = {}
        if drug is None:
            missing.insert(0, "drug_code")
        else:
            values = {"drug": drug.name, "drug_code": drug.vtm, "drug_list_version": version}
            if drug.drug_class.key in _NOT_ANTIDEPRESSANTS:
                missing.insert(0, "modality")
        connection.execute(
            sa.update(trials).where(trials.c.id == trial_id).values(**values, not_recovered=missing)
        )


def downgrade() -> None:
    with op.batch_alter_table("participant_facts", schema=None) as batch_op:
        batch_op.alter_column(
            "failed_trials_definition",
            existing_type=sa.String(length=32),
            existing_nullable=True,
            comment="which definition counted them, e.g. eu-pearl-2022",
        )
        batch_op.drop_column("msm_score")
    # Non-drug trials have no drug name: the old schema cannot hold them.
    op.execute("DELETE FROM treatment_trial WHERE drug IS NULL")
    with op.batch_alter_table("treatment_trial", schema=None) as batch_op:
        for column in (
            "not_recovered",
            "stop_reason",
            "response_percent",
            "adherence",
            "ended_on",
            "dose_unit",
            "dose",
            "drug_list_version",
            "drug_code",
            "modality",
        ):
            batch_op.drop_column(column)
        batch_op.alter_column("drug", existing_type=sa.String(length=80), nullable=False)
