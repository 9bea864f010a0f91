"""shelf observations and restock tasks (edge_sim shelf cameras)

Revision ID: 0004
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "shelf_observations",
        sa.Column("id", _ID, nullable=False),
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("camera", sa.String(length=64), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("facings", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "facings >= 0 AND capacity >= 1 AND facings <= capacity", name="ck_shelf_obs_facings"
        ),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "restock_tasks",
        sa.Column("id", _ID, nullable=False),
        sa.Column(
            "location_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("sku_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("open_slot", sa.Integer(), nullable=True),
        sa.Column("phantom_suspected", sa.Boolean(), nullable=False),
        sa.Column("ledger_on_hand", sa.BigInteger(), nullable=False),
        sa.Column("facings_seen", sa.Integer(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("camera", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("found_units", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("status IN ('open', 'done')", name="ck_restock_tasks_status"),
        sa.CheckConstraint(
            "reason IN ('out_of_stock', 'low_stock', 'misplaced')", name="ck_restock_tasks_reason"
        ),
        sa.ForeignKeyConstraint(["location_id"], ["locations.id"]),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("sku_id", "location_id", "open_slot", name="uq_restock_tasks_open"),
    )


def downgrade() -> None:
    op.drop_table("restock_tasks")
    op.drop_table("shelf_observations")
