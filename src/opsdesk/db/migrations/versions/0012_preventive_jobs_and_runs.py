"""preventive jobs and runs

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "preventive_jobs",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("property_id", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=50), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("instructions", sa.Text(), nullable=False),
        sa.Column("trade", sa.String(length=32), nullable=False),
        sa.Column("every_days", sa.Integer(), nullable=True),
        sa.Column("every_months", sa.Integer(), nullable=True),
        sa.Column("first_due", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(every_days IS NULL) <> (every_months IS NULL)",
            name=op.f("ck_preventive_jobs_one_interval"),
        ),
        sa.ForeignKeyConstraint(
            ["property_id"],
            ["properties.id"],
            name=op.f("fk_preventive_jobs_property_id_properties"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preventive_jobs")),
    )
    with op.batch_alter_table("preventive_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_preventive_jobs_property_id"), ["property_id"], unique=False
        )

    op.create_table(
        "preventive_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("job_id", sa.String(length=64), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("started", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["preventive_jobs.id"],
            name=op.f("fk_preventive_runs_job_id_preventive_jobs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_preventive_runs")),
        sa.UniqueConstraint("job_id", "due", name=op.f("uq_preventive_runs_job_id_due")),
    )
    with op.batch_alter_table("preventive_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_preventive_runs_job_id"), ["job_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("preventive_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_preventive_runs_job_id"))

    op.drop_table("preventive_runs")
    with op.batch_alter_table("preventive_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_preventive_jobs_property_id"))

    op.drop_table("preventive_jobs")
