"""owner call preference, outbox provider ids for phone calls

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "calls", sa.String(length=24), nullable=False, server_default="email_and_call"
            )
        )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provider_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("callback_url", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("call_outcome", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_outbox_provider_id"), ["provider_id"])


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_outbox_provider_id"), type_="unique")
        batch_op.drop_column("attempted_at")
        batch_op.drop_column("callback_url")
        batch_op.drop_column("call_outcome")
        batch_op.drop_column("provider_id")
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.drop_column("calls")
