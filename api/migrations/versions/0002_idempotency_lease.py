"""idempotency key leases and the resource a key produced

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01 01:00:00

``lease_until``: an in-progress key belongs to its request until then; afterwards a retry may
take it over. ``resource_id``: the order a checkout key placed (so a retry can resume its
payment). Existing in-progress rows get no lease (NULL), i.e. they can be taken over at once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column(
                "resource_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
            )
        )
    op.create_index(
        "ix_orders_placed_created",
        "orders",
        ["created_at"],
        postgresql_where=sa.text("status = 'placed'"),
        sqlite_where=sa.text("status = 'placed'"),
    )


def downgrade() -> None:
    op.drop_index("ix_orders_placed_created", table_name="orders")
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("resource_id")
        batch.drop_column("lease_until")
