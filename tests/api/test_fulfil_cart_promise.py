"""GET /v1/carts/{id}/promise: earliest delivery per carrier and mode for a cart, from stock,
cut-offs, reach, payload and the carriers' daily capacity."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import yaml
from api_helpers import PEPPER, ServerThread, seed

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.schemas import (
    CartCreate,
    CartLineSet,
    Channel,
    CheckoutLine,
    CheckoutRequest,
    LocationCreate,
    LocationKind,
    ReceiptCreate,
    StockLine,
)
from api.schemas_fulfilment import AllocationRequest, CartPromiseQuery
from api.services.auth import create_api_key
from api.services.carriers import DEFAULT_FILE

AT = datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
Q = CartPromiseQuery(lat=52.53, lon=13.45, at=AT)


def _cart(client: InProcessClient, loc: str, lines: dict[str, int]) -> int:
    cart = client.create_cart(
        CartCreate(channel=Channel.WEB, location=loc, customer_id=f"c-{uuid.uuid4().hex[:6]}")
    )
    for sku, q in lines.items():
        client.set_cart_line(cart.id, CartLineSet(sku=sku, quantity=q))
    return cart.id


def test_a_cart_gets_every_mode_its_stock_and_place_allow(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=2, stock=4)
    store = f"{s.prefix}-ST"
    staff.create_location(
        LocationCreate(code=store, kind=LocationKind.STORE, name="S", lat=52.52, lon=13.41)
    )
    staff.receive(ReceiptCreate(location=store, lines=[StockLine(sku=s.skus[0], quantity=1)]))
    cid = _cart(staff, s.location, {s.skus[0]: 1})
    got = staff.cart_promise(cid, Q)
    modes = {o.mode: o for o in got.options}
    assert set(modes) == {"own_fleet", "parcel", "locker", "click_and_collect", "drone"}
    assert modes["own_fleet"].origin == s.location
    assert modes["own_fleet"].deliver_from == datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
    assert modes["click_and_collect"].origin == store
    assert modes["parcel"].deliver_from.date().isoformat() == "2026-06-03"
    assert [o.deliver_from for o in got.options] == sorted(o.deliver_from for o in got.options)
    # three units: over the drone's payload of 2; the store lacks them
    big = _cart(staff, s.location, {s.skus[0]: 3})
    modes = {o.mode for o in staff.cart_promise(big, Q).options}
    assert "drone" not in modes and "click_and_collect" not in modes
    # the cart's own reservation counts as its stock: the warehouse's last 3 units are in it
    assert "own_fleet" in modes
    # after the 09:00 cut-off the van comes tomorrow
    late = staff.cart_promise(cid, Q.model_copy(update={"at": AT.replace(hour=10)}))
    van = next(o for o in late.options if o.mode == "own_fleet")
    assert van.deliver_from == datetime(2026, 6, 3, 10, 0, tzinfo=UTC)


def test_an_empty_cart_has_no_options_and_another_customers_cart_is_404(
    staff: InProcessClient,
) -> None:
    s = seed(staff, n_skus=1, stock=3)
    cid = _cart(staff, s.location, {})
    assert staff.cart_promise(cid, Q).options == []
    with pytest.raises(CommerceError) as exc:
        staff.as_principal("customer", customer_id="nobody").cart_promise(cid, Q)
    assert exc.value.status == 404


def test_a_full_carrier_day_moves_the_promise_to_the_next_day(
    staff: InProcessClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = yaml.safe_load(DEFAULT_FILE.read_text())
    data["carriers"] = [c for c in data["carriers"] if c["mode"] in ("own_fleet", "parcel")]
    data["carriers"][0]["capacity_per_day"] = 1
    p = tmp_path / "carriers.yaml"
    p.write_text(yaml.safe_dump(data))
    monkeypatch.setenv("SHOPSPHERE_CARRIERS_FILE", str(p))
    s = seed(staff, n_skus=1, stock=5)
    staff.ctx.clock.set(AT)  # type: ignore[attr-defined]
    cid = _cart(staff, s.location, {s.skus[0]: 1})
    q = Q.model_copy(update={"at": None})
    van = next(o for o in staff.cart_promise(cid, q).options if o.mode == "own_fleet")
    assert van.deliver_from == datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
    order = staff.checkout(
        CheckoutRequest(
            lines=[CheckoutLine(sku=s.skus[0], quantity=1)],
            location=s.location,
            channel=Channel.WEB,
            customer_id="c-cap",
        )
    )
    (ship,) = staff.allocate_order(order.id, AllocationRequest(lat=52.53, lon=13.45))
    assert ship.carrier == "own-van"  # the cheapest; it takes today's only van slot
    van = next(o for o in staff.cart_promise(cid, q).options if o.mode == "own_fleet")
    assert van.deliver_from == datetime(2026, 6, 3, 10, 0, tzinfo=UTC)


def test_over_http_a_shopper_asks_for_their_cart_and_bad_coordinates_are_422(
    staff: InProcessClient, server: ServerThread
) -> None:
    s = seed(staff, n_skus=1, stock=3)
    token = create_api_key(server.env.engine, server.env.clock, PEPPER, "customer", "c-http")
    shopper = staff.as_principal("customer", customer_id="c-http")
    cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
    shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=1))
    url = f"{server.url}/v1/carts/{cart.id}/promise"
    h = {"X-API-Key": token}
    r = httpx.get(url, params={"lat": 52.53, "lon": 13.45, "at": AT.isoformat()}, headers=h)
    assert r.status_code == 200, r.text
    assert "own_fleet" in {o["mode"] for o in r.json()["options"]}
    assert httpx.get(url, params={"lat": 95, "lon": 13.45}, headers=h).status_code == 422
    assert httpx.get(url, params={"lon": 13.45}, headers=h).status_code == 422
