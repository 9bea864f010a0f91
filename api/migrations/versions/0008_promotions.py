"""promotions, vouchers, usage counters, order discounts; product views and recommendation
models (api.models_promo)

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "promotions",
        sa.Column("id", _ID, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("percent_off", sa.Integer(), nullable=True),
        sa.Column("amount_off_cents", sa.BigInteger(), nullable=True),
        sa.Column("bundle_qty", sa.Integer(), nullable=True),
        sa.Column("bundle_price_cents", sa.BigInteger(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=True),
        sa.Column("min_subtotal_cents", sa.BigInteger(), nullable=False),
        sa.Column("valid_from", _TS, nullable=False),
        sa.Column("valid_to", _TS, nullable=True),
        sa.Column("max_uses", sa.BigInteger(), nullable=True),
        sa.Column("max_uses_per_customer", sa.BigInteger(), nullable=True),
        sa.Column("uses", sa.BigInteger(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("kind IN ('percent', 'fixed', 'bundle')", name="ck_promotions_kind"),
        sa.CheckConstraint(
            "percent_off IS NULL OR (percent_off > 0 AND percent_off <= 100)",
            name="ck_promotions_percent",
        ),
        sa.CheckConstraint(
            "uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)", name="ck_promotions_uses"
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name="ck_promotions_window"
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code"),
    )
    op.create_index("ix_promotions_auto", "promotions", ["active", "valid_from"])
    op.create_table(
        "promotion_skus",
        sa.Column("promotion_id", _ID, nullable=False),
        sa.Column("sku_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(["promotion_id"], ["promotions.id"]),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"]),
        sa.PrimaryKeyConstraint("promotion_id", "sku_id"),
    )
    op.create_table(
        "promotion_customer_uses",
        sa.Column("promotion_id", _ID, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("uses", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("uses >= 0", name="ck_promotion_customer_uses"),
        sa.ForeignKeyConstraint(["promotion_id"], ["promotions.id"]),
        sa.PrimaryKeyConstraint("promotion_id", "customer_id"),
    )
    op.create_table(
        "cart_vouchers",
        sa.Column("cart_id", _ID, nullable=False),
        sa.Column("promotion_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(["cart_id"], ["carts.id"]),
        sa.ForeignKeyConstraint(["promotion_id"], ["promotions.id"]),
        sa.PrimaryKeyConstraint("cart_id"),
    )
    op.create_table(
        "order_discounts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("order_id", _ID, nullable=False),
        sa.Column("promotion_id", _ID, nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.CheckConstraint("amount_cents > 0", name="ck_order_discounts_amount"),
        sa.ForeignKeyConstraint(["order_id"], ["orders.id"]),
        sa.ForeignKeyConstraint(["promotion_id"], ["promotions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_order_discounts_order", "order_discounts", ["order_id"])
    op.create_table(
        "product_views",
        sa.Column("id", _ID, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("sku_id", _ID, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.ForeignKeyConstraint(["sku_id"], ["skus.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_product_views_customer", "product_views", ["customer_id", "id"])
    op.create_table(
        "recommendation_models",
        sa.Column("id", _ID, nullable=False),
        sa.Column("trained_at", _TS, nullable=False),
        sa.Column("n_orders", sa.BigInteger(), nullable=False),
        sa.Column("n_views", sa.BigInteger(), nullable=False),
        sa.Column("factors", sa.Integer(), nullable=False),
        sa.Column("train_seconds", sa.Float(), nullable=False),
        sa.Column("blob", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("recommendation_models")
    op.drop_index("ix_product_views_customer", table_name="product_views")
    op.drop_table("product_views")
    op.drop_index("ix_order_discounts_order", table_name="order_discounts")
    op.drop_table("order_discounts")
    op.drop_table("cart_vouchers")
    op.drop_table("promotion_customer_uses")
    op.drop_table("promotion_skus")
    op.drop_index("ix_promotions_auto", table_name="promotions")
    op.drop_table("promotions")
