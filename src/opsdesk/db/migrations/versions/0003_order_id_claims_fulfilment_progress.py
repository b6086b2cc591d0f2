"""order id claims; fulfilment requests follow shipment and delivery

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "order_id_claims",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("stamp", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_order_id_claims")),
    )
    # Every order id that already left a trace is taken, by an order of unknown stamp.
    op.execute(
        "INSERT INTO order_id_claims (order_id, stamp, created_at) "
        "SELECT order_id, NULL, MIN(created_at) FROM ("
        " SELECT order_id, created_at FROM charges"
        " UNION ALL SELECT order_id, created_at FROM reservations"
        " UNION ALL SELECT order_id, created_at FROM stock_waits"
        " UNION ALL SELECT order_id, created_at FROM fulfilment_requests"
        ") AS used GROUP BY order_id"
    )
    with op.batch_alter_table("fulfilment_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tracking_number", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("fulfilment_requests", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("tracking_number")
    op.drop_table("order_id_claims")
