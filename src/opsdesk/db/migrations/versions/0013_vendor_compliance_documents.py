"""vendors' compliance documents and their expiry reminders

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vendor_documents",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("vendor_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=True),
        sa.Column("issuer", sa.String(length=200), nullable=True),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("file_key", sa.String(length=200), nullable=True),
        sa.Column("file_type", sa.String(length=100), nullable=True),
        sa.Column("file_name", sa.String(length=200), nullable=True),
        sa.Column("file_size", sa.BigInteger(), nullable=True),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('general_liability', 'workers_comp', 'licence')",
            name=op.f("ck_vendor_documents_kind"),
        ),
        sa.ForeignKeyConstraint(
            ["vendor_id"], ["vendors.id"], name=op.f("fk_vendor_documents_vendor_id_vendors")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_documents")),
    )
    with op.batch_alter_table("vendor_documents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vendor_documents_vendor_id"), ["vendor_id"], unique=False
        )

    op.create_table(
        "vendor_document_reminders",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "document_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=16), nullable=False),
        sa.Column("run_id", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["vendor_documents.id"],
            name=op.f("fk_vendor_document_reminders_document_id_vendor_documents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vendor_document_reminders")),
        sa.UniqueConstraint(
            "document_id",
            "days_before",
            "recipient",
            name=op.f("uq_vendor_document_reminders_document_id_days_before_recipient"),
        ),
    )
    with op.batch_alter_table("vendor_document_reminders", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_vendor_document_reminders_document_id"), ["document_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("vendor_document_reminders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vendor_document_reminders_document_id"))

    op.drop_table("vendor_document_reminders")
    with op.batch_alter_table("vendor_documents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vendor_documents_vendor_id"))

    op.drop_table("vendor_documents")
