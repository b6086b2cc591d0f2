"""after the job and requests that age: survey answers, vendor jobs, aging alerts

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "aging_alerts",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("threshold_days", sa.Integer(), nullable=False),
        sa.Column("claimed_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_aging_alerts")),
        sa.UniqueConstraint(
            "request_id", "threshold_days", name=op.f("uq_aging_alerts_request_id_threshold_days")
        ),
    )
    with op.batch_alter_table("aging_alerts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_aging_alerts_claimed_by"), ["claimed_by"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_aging_alerts_request_id"), ["request_id"], unique=False
        )

    op.create_table(
        "survey_answers",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("rating BETWEEN 1 AND 5", name=op.f("ck_survey_answers_rating_1_to_5")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_survey_answers")),
        sa.UniqueConstraint("request_id", name=op.f("uq_survey_answers_request_id")),
    )
    op.create_table(
        "vendor_jobs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=False),
        sa.Column("property_id", sa.String(length=64), nullable=False),
        sa.Column("reported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_answer_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("quote_asked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("not_fixed", sa.Boolean(), nullable=False),
        sa.Column("quote_cents", sa.BigInteger(), nullable=True),
        sa.Column("approved_cents", sa.BigInteger(), nullable=True),
        sa.Column("invoice_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("ending", sa.String(length=16), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "ending IN ('CLOSED', 'DECLINED', 'EXPIRED', 'CANCELLED', 'FAILED')",
            name=op.f("ck_vendor_jobs_ending"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_jobs")),
        sa.UniqueConstraint("request_id", name=op.f("uq_vendor_jobs_request_id")),
    )
    with op.batch_alter_table("vendor_jobs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vendor_jobs_completed_at"), ["completed_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_vendor_jobs_property_id"), ["property_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_vendor_jobs_vendor_id"), ["vendor_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vendor_jobs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vendor_jobs_vendor_id"))
        batch_op.drop_index(batch_op.f("ix_vendor_jobs_property_id"))
        batch_op.drop_index(batch_op.f("ix_vendor_jobs_completed_at"))

    op.drop_table("vendor_jobs")
    op.drop_table("survey_answers")
    with op.batch_alter_table("aging_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_aging_alerts_request_id"))
        batch_op.drop_index(batch_op.f("ix_aging_alerts_claimed_by"))

    op.drop_table("aging_alerts")
