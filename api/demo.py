"""A small, seeded demo: import a catalog, stock a warehouse and a store, place orders.

Used by ``shopsphere demo``; everything goes through the :class:`CommerceClient` interface.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import numpy as np

from api.client.base import CommerceClient, CommerceError
from api.clock import ManualClock
from api.schemas import (
    CartCreate,
    CartLineSet,
    Channel,
    CheckoutRequest,
    LocationCreate,
    LocationKind,
    OrderStatus,
    PosSale,
    PosSaleBatch,
    PriceSet,
    ReceiptCreate,
    SearchQuery,
    SkuImportRow,
    StockLine,
    StockQuery,
)

CATEGORIES = ("shirts", "pants", "shoes", "bags", "hats")


def run_demo(
    client: CommerceClient,
    *,
    n_skus: int = 200,
    n_orders: int = 100,
    seed: int = 7,
    customer_client: CommerceClient | None = None,
    clock: ManualClock | None = None,
) -> dict[str, object]:
    """Seed and trade; returns a summary (counts, revenue in cents, ledger state).

    ``client`` needs a staff or service role; ``customer_client`` (default: ``client``) places
    the orders; ``clock`` (the one the client runs on) is advanced an hour before expiring
    reservations. The same seed gives the same summary.
    """
    rng = np.random.default_rng(seed)
    rows = [
        SkuImportRow(
            sku=f"SKU-{i:05d}",
            product=f"P-{i // 3:05d}",
            name=f"{CATEGORIES[i % 5][:-1].title()} model {i}",
            category=CATEGORIES[i % 5],
            description="demo article",
            attributes={"size": ("S", "M", "L")[i % 3]},
            cost_cents=int(rng.integers(200, 5000)),
            list_price_cents=0,
        )
        for i in range(n_skus)
    ]
    rows = [r.model_copy(update={"list_price_cents": r.cost_cents * 2}) for r in rows]
    imported = client.import_skus(rows)
    client.create_location(
        LocationCreate(
            code="WH-1", kind=LocationKind.WAREHOUSE, name="Central warehouse", lat=52.52, lon=13.40
        )
    )
    client.create_location(
        LocationCreate(
            code="ST-1", kind=LocationKind.STORE, name="Main street store", lat=52.50, lon=13.42
        )
    )
    qty = rng.integers(0, 6, size=n_skus)
    client.receive(
        ReceiptCreate(
            location="WH-1",
            reference="initial",
            lines=[
                StockLine(sku=r.sku, quantity=int(q)) for r, q in zip(rows, qty, strict=True) if q
            ],
        )
    )
    client.receive(
        ReceiptCreate(
            location="ST-1",
            reference="initial",
            lines=[StockLine(sku=r.sku, quantity=3) for r in rows],
        )
    )
    client.set_prices(
        [
            PriceSet(sku=r.sku, channel=Channel.WEB, price_cents=int(r.list_price_cents * 0.9))
            for r in rows[::4]
        ]
    )
    shopper = customer_client or client
    outcomes: Counter[str] = Counter()
    revenue = 0
    for n in range(n_orders):
        cart = shopper.create_cart(
            CartCreate(channel=Channel.WEB, location="WH-1", customer_id=f"cust-{n % 25}")
        )
        try:
            for i in rng.choice(n_skus, size=int(rng.integers(1, 4)), replace=False):
                shopper.set_cart_line(
                    cart.id, CartLineSet(sku=rows[int(i)].sku, quantity=int(rng.integers(1, 3)))
                )
            token = "tok_decline" if rng.random() < 0.05 else "tok_ok"
            order = shopper.checkout(
                CheckoutRequest(cart_id=cart.id, payment_token=token), idempotency_key=f"demo-{n}"
            )
            revenue += order.total_cents
            outcomes["paid"] += 1
        except CommerceError as exc:
            outcomes[exc.code.lower()] += 1
    pos = client.pos_sales(
        PosSaleBatch(
            location="ST-1",
            reference="till-1",
            sales=[
                PosSale(sku=rows[int(i)].sku, quantity=1)
                for i in rng.choice(n_skus, size=min(n_skus, 30), replace=False)
            ],
        )
    )
    if clock is not None:  # let abandoned carts run out of time
        clock.advance(timedelta(hours=1))
    expired = client.expire_reservations()
    levels = client.stock_levels(StockQuery())
    shipped = 0
    for o in client.list_orders(status=OrderStatus.PAID, limit=20).items:
        client.transition_order(o.id, OrderStatus.ALLOCATED)
        client.transition_order(o.id, OrderStatus.SHIPPED)
        shipped += 1
    return {
        "skus created": imported.created,
        "checkouts paid": outcomes["paid"],
        "out of stock": outcomes["insufficient_stock"],
        "payments declined": outcomes["payment_declined"],
        "web revenue (cents)": revenue,
        "POS sales accepted": len(pos.accepted),
        "POS revenue (cents)": pos.revenue_cents,
        "carts expired": expired,
        "orders shipped": shipped,
        "units on hand": sum(lv.on_hand for lv in levels),
        "search 'shirt' hits": len(client.search(SearchQuery(q="shirt", limit=500)).items),
    }
