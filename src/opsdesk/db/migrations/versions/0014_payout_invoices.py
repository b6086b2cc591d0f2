"""payouts record the invoice they paid and the property

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Payouts made before this have none of these: the workflow knew them, the ledger did not.
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("property_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("invoice_number", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("document_key", sa.String(length=200), nullable=True))
        batch_op.create_index(batch_op.f("ix_payouts_property_id"), ["property_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("payouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_payouts_property_id"))
        batch_op.drop_column("document_key")
        batch_op.drop_column("invoice_number")
        batch_op.drop_column("property_id")
