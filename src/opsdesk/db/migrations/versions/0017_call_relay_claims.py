"""a call's conversation is taken up once

Revision ID: 0017
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "call_relay_claims",
        sa.Column("link_id", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("link_id", name=op.f("pk_call_relay_claims")),
    )
    with op.batch_alter_table("call_relay_claims", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_call_relay_claims_request_id"), ["request_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("call_relay_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_call_relay_claims_request_id"))
    op.drop_table("call_relay_claims")
