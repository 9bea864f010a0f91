"""waiting room tickets for hot SKUs (api.waiting_room)

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "waiting_room_tickets",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku", "customer_id", name="uq_waiting_room_sku_customer"),
    )
    op.create_index("ix_waiting_room_sku_id", "waiting_room_tickets", ["sku", "id"])


def downgrade() -> None:
    op.drop_index("ix_waiting_room_sku_id", table_name="waiting_room_tickets")
    op.drop_table("waiting_room_tickets")
