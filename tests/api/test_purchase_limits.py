"""Per-customer purchase limits on a SKU, enforced by the database: a typed 409 past the limit
(nothing else changes), other customers unaffected, cancelled orders give their units back, the
cart and express paths both count, and concurrent checkouts of one customer get exactly the
limit (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
from api_helpers import ServerThread, make_test_env, require_pg, seed
from sqlalchemy import Engine, func, select

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.models import T
from api.schemas import CartCreate, CartLineSet, Channel, CheckoutLine, CheckoutRequest, StockQuery
from api.services.context import Principal, ServiceContext
from api.services.purchase_limits import PurchaseLimitSet, get_limit, remove_limit, set_limit

STAFF = Principal(role="staff", key_id=1)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> str:
    """SQLite and PostgreSQL; the PostgreSQL cases carry the ``postgres`` marker."""
    if request.param == "postgres":
        require_pg()
    return str(request.param)


@pytest.fixture
def shop(engine: Engine) -> ServiceContext:
    """The module's database (every test seeds SKUs of its own)."""
    return make_test_env(engine, ManualClock())


def _buy(env: ServiceContext, customer: str, sku: str, loc: str, q: int = 1) -> int:
    shopper = InProcessClient(env, Principal(role="customer", customer_id=customer))
    return shopper.checkout(
        CheckoutRequest(
            lines=[CheckoutLine(sku=sku, quantity=q)], location=loc, channel=Channel.WEB
        )
    ).id


def _events(env: ServiceContext) -> int:
    with env.engine.connect() as c:
        return int(c.scalar(select(func.count()).select_from(T["outbox_events"])) or 0)


def test_checkout_past_the_limit_is_refused_with_a_typed_409_and_changes_nothing(
    shop: ServiceContext,
) -> None:
    staff = InProcessClient(shop, STAFF)
    s = seed(staff, n_skus=2, stock=20)
    set_limit(shop, STAFF, s.skus[0], PurchaseLimitSet(max_per_customer=2))
    _buy(shop, "c1", s.skus[0], s.location)
    _buy(shop, "c1", s.skus[0], s.location)
    before = (
        staff.stock_levels(StockQuery(skus=[s.skus[0]], locations=[s.location])),
        _events(shop),
    )
    with pytest.raises(CommerceError) as err:
        _buy(shop, "c1", s.skus[0], s.location)
    assert (err.value.status, err.value.code) == (409, "PURCHASE_LIMIT_EXCEEDED")
    assert err.value.details == [{"sku": s.skus[0], "limit": 2, "requested": 1, "already": 2}]
    after = (
        staff.stock_levels(StockQuery(skus=[s.skus[0]], locations=[s.location])),
        _events(shop),
    )
    assert after == before  # no reservation, no order, no event
    with pytest.raises(CommerceError) as err:
        _buy(shop, "c2", s.skus[0], s.location, q=3)  # more than the limit in one order
    assert err.value.details == [{"sku": s.skus[0], "limit": 2, "requested": 3, "already": 0}]
    _buy(shop, "c2", s.skus[0], s.location, q=2)  # another customer has their own allowance
    _buy(shop, "c1", s.skus[1], s.location, q=5)  # an unlimited SKU


def test_a_cancelled_order_gives_its_units_back(shop: ServiceContext) -> None:
    staff = InProcessClient(shop, STAFF)
    s = seed(staff, n_skus=1, stock=20)
    set_limit(shop, STAFF, s.skus[0], PurchaseLimitSet(max_per_customer=1))
    oid = _buy(shop, "c1", s.skus[0], s.location)
    with pytest.raises(CommerceError):
        _buy(shop, "c1", s.skus[0], s.location)
    InProcessClient(shop, Principal(role="customer", customer_id="c1")).cancel_order(oid)
    _buy(shop, "c1", s.skus[0], s.location)
    with pytest.raises(CommerceError) as err:  # a declined payment cancels and gives back too
        InProcessClient(shop, Principal(role="customer", customer_id="c3")).checkout(
            CheckoutRequest(
                lines=[CheckoutLine(sku=s.skus[0], quantity=1)],
                location=s.location,
                channel=Channel.WEB,
                payment_token="tok_decline",
            )
        )
    assert err.value.code == "PAYMENT_DECLINED"
    _buy(shop, "c3", s.skus[0], s.location)


def test_cart_checkout_counts_against_the_same_limit(shop: ServiceContext) -> None:
    staff = InProcessClient(shop, STAFF)
    s = seed(staff, n_skus=1, stock=20)
    set_limit(shop, STAFF, s.skus[0], PurchaseLimitSet(max_per_customer=3))
    _buy(shop, "c1", s.skus[0], s.location, q=2)
    shopper = InProcessClient(shop, Principal(role="customer", customer_id="c1"))
    cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
    shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=2))
    with pytest.raises(CommerceError) as err:
        shopper.checkout(CheckoutRequest(cart_id=cart.id))
    assert err.value.code == "PURCHASE_LIMIT_EXCEEDED"
    assert shopper.get_cart(cart.id).status == "open"  # rolled back: the cart can be changed
    shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=1))
    assert shopper.checkout(CheckoutRequest(cart_id=cart.id)).status == "paid"


def test_limits_are_read_changed_and_removed_by_staff(shop: ServiceContext) -> None:
    staff = InProcessClient(shop, STAFF)
    s = seed(staff, n_skus=1, stock=20)
    with ServerThread(shop) as srv:
        st, cust = srv.client("staff"), srv.client("customer", "c1")
        url = f"/v1/purchase-limits/{s.skus[0]}"
        assert st._http.put(url, json={"max_per_customer": 2}).json() == {
            "sku": s.skus[0],
            "max_per_customer": 2,
        }
        assert st._http.get(url).json()["max_per_customer"] == 2
        assert cust._http.put(url, json={"max_per_customer": 9}).status_code == 403
        assert st._http.put(url, json={"max_per_customer": 0}).status_code == 422
        assert (
            st._http.put("/v1/purchase-limits/NOPE", json={"max_per_customer": 1}).status_code
            == 404
        )
        r = cust._http.post(
            "/v1/checkout",
            json={
                "lines": [{"sku": s.skus[0], "quantity": 3}],
                "location": s.location,
                "channel": "web",
            },
        )
        assert r.status_code == 409 and r.json()["code"] == "PURCHASE_LIMIT_EXCEEDED"
        assert st._http.delete(url).status_code == 204
        assert st._http.get(url).status_code == 404
        st.close()
        cust.close()
    with pytest.raises(CommerceError):
        get_limit(shop, STAFF, s.skus[0])
    remove_limit(shop, STAFF, s.skus[0])  # removing again is harmless


def test_concurrent_checkouts_of_one_customer_get_exactly_the_limit(shop: ServiceContext) -> None:
    staff = InProcessClient(shop, STAFF)
    s = seed(staff, n_skus=1, stock=100)
    set_limit(shop, STAFF, s.skus[0], PurchaseLimitSet(max_per_customer=3))
    results: list[str] = []
    lock = threading.Lock()
    go = threading.Barrier(12)

    def shopper() -> None:
        go.wait()
        try:
            _buy(shop, "racer", s.skus[0], s.location)
            out = "ok"
        except CommerceError as exc:
            out = exc.code
        with lock:
            results.append(out)

    threads = [threading.Thread(target=shopper) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["PURCHASE_LIMIT_EXCEEDED"] * 9 + ["ok"] * 3
    csp = T["customer_sku_purchases"]
    with shop.engine.connect() as c:
        assert c.scalar(select(csp.c.quantity).where(csp.c.customer_id == "racer")) == 3
    level = staff.stock_levels(StockQuery(skus=[s.skus[0]], locations=[s.location]))[0]
    assert level.reserved == 3
