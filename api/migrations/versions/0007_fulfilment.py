"""fulfilment: shipments (split and merge) and returns (RMA)

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)
_SHIP = (
    "('allocated', 'picked', 'packed', 'shipped', 'delivered', 'failed', 'returned', 'cancelled')"
)
_RMA = "('requested', 'received', 'inspected', 'restocked', 'written_off', 'refunded')"


def upgrade() -> None:
    op.create_table(
        "shipments",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("origin_id", _ID, sa.ForeignKey("locations.id"), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("merge_into", _ID, sa.ForeignKey("shipments.id"), nullable=True),
        sa.Column("carrier", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.BigInteger(), nullable=False),
        sa.Column("dest_lat", sa.Float(), nullable=False),
        sa.Column("dest_lon", sa.Float(), nullable=False),
        sa.Column("distance_km", sa.Float(), nullable=False),
        sa.Column("cost_cents", sa.BigInteger(), nullable=False),
        sa.Column("co2_g", sa.Float(), nullable=False),
        sa.Column("promised_day", sa.String(length=10), nullable=False),
        sa.Column("deliver_from", _TS, nullable=False),
        sa.Column("deliver_to", _TS, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint(f"status IN {_SHIP}", name="ck_shipments_status"),
        sa.CheckConstraint("kind IN ('direct', 'leg', 'merged')", name="ck_shipments_kind"),
        sa.CheckConstraint("attempts >= 0", name="ck_shipments_attempts"),
    )
    op.create_index("ix_shipments_order", "shipments", ["order_id", "id"])
    op.create_index("ix_shipments_carrier_day", "shipments", ["carrier", "promised_day"])
    op.create_index("ix_shipments_origin_day", "shipments", ["origin_id", "promised_day"])
    op.create_table(
        "shipment_lines",
        sa.Column("shipment_id", _ID, sa.ForeignKey("shipments.id"), nullable=False),
        sa.Column("sku_id", _ID, sa.ForeignKey("skus.id"), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("shipment_id", "sku_id"),
        sa.CheckConstraint("quantity > 0", name="ck_shipment_lines_qty"),
    )
    op.create_table(
        "rmas",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, sa.ForeignKey("orders.id"), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("location_id", _ID, sa.ForeignKey("locations.id"), nullable=True),
        sa.Column("refund_cents", sa.BigInteger(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.CheckConstraint(f"status IN {_RMA}", name="ck_rmas_status"),
        sa.CheckConstraint("refund_cents >= 0", name="ck_rmas_refund"),
    )
    op.create_index("ix_rmas_order", "rmas", ["order_id", "id"])
    op.create_table(
        "rma_lines",
        sa.Column("rma_id", _ID, sa.ForeignKey("rmas.id"), nullable=False),
        sa.Column("sku_id", _ID, sa.ForeignKey("skus.id"), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price_cents", sa.BigInteger(), nullable=False),
        sa.Column("restock_qty", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("rma_id", "sku_id"),
        sa.CheckConstraint(
            "quantity > 0 AND restock_qty >= 0 AND restock_qty <= quantity",
            name="ck_rma_lines_qty",
        ),
    )


def downgrade() -> None:
    op.drop_table("rma_lines")
    op.drop_index("ix_rmas_order", table_name="rmas")
    op.drop_table("rmas")
    op.drop_table("shipment_lines")
    op.drop_index("ix_shipments_origin_day", table_name="shipments")
    op.drop_index("ix_shipments_carrier_day", table_name="shipments")
    op.drop_index("ix_shipments_order", table_name="shipments")
    op.drop_table("shipments")
