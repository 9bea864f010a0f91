"""Returns of a discounted order refund what was paid for the returned units, never the list
value (SQLite and PostgreSQL): the order's discounts are shared over its lines by value."""

from __future__ import annotations

import uuid

from api_helpers import seed

from api.client.inprocess import InProcessClient
from api.schemas import Channel, CheckoutLine, CheckoutRequest, OrderStatus, StockLine
from api.schemas_fulfilment import AllocationRequest, RmaCreate, RmaTransition, ShipmentTransition
from api.schemas_promo import PromotionCreate
from api.services import promotions
from api.services.context import Principal, ServiceContext

STAFF = Principal(role="staff", key_id=1)


def _delivered_with_voucher(
    env: ServiceContext, staff: InProcessClient, percent_off: int
) -> tuple[list[str], str, int]:
    s = seed(staff, n_skus=2, stock=10, price_cents=1000)  # prices 1000 and 1001
    code = f"{s.prefix}-V{percent_off}"
    promotions.create_promotion(
        env,
        STAFF,
        PromotionCreate.model_validate(
            {"name": "v", "kind": "percent", "code": code, "percent_off": percent_off}
        ),
    )
    o = staff.checkout(
        CheckoutRequest(
            lines=[
                CheckoutLine(sku=s.skus[0], quantity=3),
                CheckoutLine(sku=s.skus[1], quantity=1),
            ],
            location=s.location,
            channel=Channel.WEB,
            customer_id=f"c-{uuid.uuid4().hex[:6]}",
            voucher=code,
        )
    )
    assert o.discount_cents > 0
    for ship in staff.allocate_order(o.id, AllocationRequest(lat=52.53, lon=13.45)):
        for to in ("picked", "packed", "shipped", "delivered"):
            staff.transition_shipment(ship.id, ShipmentTransition(to=to))
    return s.skus, s.location, o.id


def test_an_rma_of_a_discounted_order_refunds_the_discounted_value(
    env: ServiceContext, staff: InProcessClient
) -> None:
    skus, wh, oid = _delivered_with_voucher(env, staff, 20)
    order = staff.get_order(oid)
    sub = 3 * 1000 + 1001
    rma = staff.create_rma(oid, RmaCreate(lines=[StockLine(sku=skus[0], quantity=2)]))
    for to in ("received", "inspected", "restocked", "refunded"):
        staff.transition_rma(
            rma.id, RmaTransition(to=to, location=wh if to == "received" else None)
        )
    done = staff.get_rma(rma.id)
    assert done.refund_cents == 2000 * order.total_cents // sub < 2000
    assert staff.get_order(oid).payment.refunded_cents == done.refund_cents  # type: ignore[union-attr]


def test_returning_every_unit_of_a_discounted_order_refunds_exactly_what_was_paid(
    env: ServiceContext, staff: InProcessClient
) -> None:
    from api.schemas import ReturnCreate

    skus, _, oid = _delivered_with_voucher(env, staff, 15)
    paid = staff.get_order(oid).total_cents
    staff.return_order(
        oid,
        ReturnCreate(
            lines=[StockLine(sku=skus[0], quantity=3), StockLine(sku=skus[1], quantity=1)],
            restock=True,
        ),
    )
    after = staff.get_order(oid)
    assert after.status is OrderStatus.REFUNDED
    assert after.payment is not None and after.payment.refunded_cents == paid
