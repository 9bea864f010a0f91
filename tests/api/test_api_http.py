"""The HTTP door: typed error bodies (never a 500 for bad input), OpenAPI, CSV import, and the
same scenario giving the same results through the in-process and the HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_helpers import ServerThread, fresh_engine, make_test_env, seed
from sqlalchemy import Engine

from api.app import create_app
from api.client.base import CommerceClient, CommerceError
from api.client.inprocess import InProcessClient
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
    ReturnCreate,
    SearchQuery,
    StockLine,
    StockQuery,
    TransferCreate,
)
from api.services.context import Principal, encode_cursor
from api.settings import Settings


@pytest.fixture(scope="module")
def module_server(engine: Engine) -> Iterator[ServerThread]:
    """One server for the many cheap request/answer checks of this module."""
    with ServerThread(make_test_env(engine, ManualClock())) as srv:
        yield srv


@pytest.fixture
def raw(module_server: ServerThread) -> Iterator[httpx.Client]:
    token = module_server.client("staff")._http.headers["X-API-Key"]
    with httpx.Client(
        base_url=module_server.url, headers={"X-API-Key": token}, timeout=30
    ) as client:
        yield client


def _is_error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"code", "message", "details"} and body["code"] == code, body
    return dict(body)


@pytest.mark.parametrize(
    ("method", "path", "content"),
    [
        ("POST", "/v1/checkout", b"{not json"),
        ("POST", "/v1/checkout", b'{"cart_id": "seven"}'),
        ("POST", "/v1/checkout", b'{"cart_id": 1000000000000000000000000000000}'),
        ("POST", "/v1/checkout", b'{"cart_id": 1, "surprise": true}'),
        ("POST", "/v1/checkout", b"[]"),
        (
            "POST",
            "/v1/stock/receipts",
            b'{"location": "W", "lines": [{"sku": "a", "quantity": 1e400}]}',
        ),
        (
            "POST",
            "/v1/stock/adjustments",
            b'{"location": "W", "sku": "a", "delta": -99999999999999999999, "reason": "x"}',
        ),
        ("PUT", "/v1/carts/1/lines", b'{"sku": "bad sku!", "quantity": 1}'),
        ("GET", "/v1/orders/123456789012345678901234567890", b""),
        ("GET", "/v1/orders?limit=0", b""),
        ("GET", "/v1/search?limit=100000", b""),
        ("GET", "/v1/search?sort=cheapest", b""),
        ("GET", "/v1/orders?cursor=%%%", b""),
        ("GET", "/v1/orders?cursor=" + encode_cursor({"id": 10**30}), b""),
        ("GET", "/v1/search?sort=price_asc&cursor=" + encode_cursor({"k": ["cheap", 1]}), b""),
        ("POST", "/v1/skus/import", b'[{"sku": "x"}]'),
    ],
)
def test_malformed_input_is_a_422_error_body_not_a_500(
    raw: httpx.Client, method: str, path: str, content: bytes
) -> None:
    resp = raw.request(method, path, content=content, headers={"Content-Type": "application/json"})
    _is_error(resp, 422, "VALIDATION_ERROR")


def test_missing_or_wrong_key_is_401_and_unknown_route_404(server: ServerThread) -> None:
    with httpx.Client(base_url=server.url) as anon:
        _is_error(anon.get("/v1/locations"), 401, "UNAUTHENTICATED")
        _is_error(anon.get("/v1/locations", headers={"X-API-Key": "nope"}), 401, "UNAUTHENTICATED")
        _is_error(anon.get("/v1/nowhere"), 404, "NOT_FOUND")
        assert anon.get("/v1/health").json()["status"] == "ok"


def test_openapi_is_3_1_and_lists_the_v1_routes(raw: httpx.Client) -> None:
    spec = raw.get("/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert {
        "/v1/checkout",
        "/v1/carts/{cart_id}/lines",
        "/v1/skus/import",
        "/v1/stock/pos-sales",
    } <= set(spec["paths"])


def test_csv_import_over_http_and_line_numbered_errors(raw: httpx.Client) -> None:
    csv_ok = (
        "sku,product,name,category,cost_cents,list_price_cents,attr_color\n"
        "csv-1,csv-p,Lamp,csv-home,500,999,red\ncsv-2,csv-p,Lamp XL,csv-home,700,1299,\n"
    )
    resp = raw.post("/v1/skus/import", content=csv_ok, headers={"Content-Type": "text/csv"})
    assert resp.status_code == 200 and resp.json()["created"] + resp.json()["updated"] == 2
    assert raw.get("/v1/skus/csv-1").json()["attributes"] == {"color": "red"}
    bad = (
        "sku,product,name,category,cost_cents,list_price_cents\ncsv-3,csv-p,Lamp,csv-home,cheap,1\n"
    )
    body = _is_error(
        raw.post("/v1/skus/import", content=bad, headers={"Content-Type": "text/csv"}),
        422,
        "VALIDATION_ERROR",
    )
    assert body["details"]["line"] == 2


def test_http_client_raises_commerce_error_with_typed_body(server: ServerThread) -> None:
    client = server.client("staff")
    with pytest.raises(CommerceError) as err:
        client.get_sku("missing-sku")
    assert (err.value.code, err.value.status, err.value.details) == (
        "NOT_FOUND",
        404,
        {"sku": "missing-sku"},
    )


def test_production_mode_refuses_an_injected_clock(tmp_path: Path) -> None:
    settings = Settings(
        mode="production",
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        api_key_pepper="p" * 32,
        bootstrap_api_keys="staff:" + "k" * 32,
    )
    with pytest.raises(ValueError, match="system clock"):
        create_app(settings, clock=ManualClock())


def _scenario(staff: CommerceClient, shopper: CommerceClient) -> list[Any]:
    """A day in miniature; returns everything the calls returned."""
    out: list[Any] = []
    s = seed(staff, n_skus=3, stock=6, price_cents=1000)  # type: ignore[arg-type]
    out.append(staff.list_locations())
    staff.create_location(
        LocationCreate(
            code=f"{s.prefix}-ST", kind=LocationKind.STORE, name="Store", lat=0.5, lon=0.5
        )
    )
    out.append(
        staff.transfer(
            TransferCreate(
                from_location=s.location,
                to_location=f"{s.prefix}-ST",
                lines=[StockLine(sku=s.skus[0], quantity=2)],
            )
        )
    )
    out.append(staff.set_prices([PriceSet(sku=s.skus[1], channel=Channel.WEB, price_cents=555)]))
    out.append(staff.get_prices(s.skus, "web"))
    cart = shopper.create_cart(
        CartCreate(channel=Channel.WEB, location=s.location), idempotency_key="cart-1"
    )
    out.append(shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[1], quantity=2)))
    out.append(shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[2], quantity=1)))
    order = shopper.checkout(CheckoutRequest(cart_id=cart.id), idempotency_key="co-1")
    out += [order, shopper.checkout(CheckoutRequest(cart_id=cart.id), idempotency_key="co-1")]
    for to in (OrderStatus.ALLOCATED, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
        out.append(staff.transition_order(order.id, to))
    out.append(
        shopper.return_order(order.id, ReturnCreate(lines=[StockLine(sku=s.skus[2], quantity=1)]))
    )
    out.append(
        staff.pos_sales(
            PosSaleBatch(location=f"{s.prefix}-ST", sales=[PosSale(sku=s.skus[0], quantity=3)])
        )
    )
    out.append(staff.stock_levels(StockQuery()))
    out.append(staff.movements(limit=3))
    out.append(staff.search(SearchQuery(q="item", sort="price_desc", limit=2)))
    out.append(shopper.list_orders())
    for call in (
        lambda: shopper.get_order(order.id + 99),
        lambda: staff.get_sku("zz"),
        lambda: shopper.checkout(CheckoutRequest(cart_id=cart.id), idempotency_key="cart-1"),
    ):
        try:
            call()
        except CommerceError as exc:
            out.append((exc.code, exc.status, exc.details))
    out.append((staff.expire_reservations(), staff.expire_unpaid_orders()))
    return [_plain(o) for o in out]


def _plain(o: Any) -> Any:
    if isinstance(o, list):
        return [_plain(x) for x in o]
    if hasattr(o, "model_dump"):
        d = o.model_dump(mode="json")
        return d
    return o


def _strip_prefix(data: Any, prefix: str) -> Any:
    import json

    return json.loads(json.dumps(data).replace(prefix, "P"))


def test_same_scenario_same_results_through_both_clients(backend: str, tmp_path: Path) -> None:
    results: list[Any] = []
    for door in ("inprocess", "http"):
        with fresh_engine(backend, tmp_path) as eng:
            env = make_test_env(eng, ManualClock())
            staff_ip = InProcessClient(env, Principal(role="staff", key_id=1))
            if door == "inprocess":
                assert isinstance(staff_ip, CommerceClient)
                data = _scenario(staff_ip, staff_ip.as_principal("customer", "c-parity"))
            else:
                with ServerThread(env) as srv:
                    http_staff = srv.client("staff")
                    assert isinstance(http_staff, CommerceClient)
                    data = _scenario(http_staff, srv.client("customer", "c-parity"))
            prefix = data[0][0]["code"].split("-")[0]
            results.append(_strip_prefix(data, prefix))
    assert results[0] == results[1]
    errors = [
        r[0] for r in results[0] if isinstance(r, list) and len(r) == 3 and isinstance(r[0], str)
    ]
    assert errors == ["NOT_FOUND", "NOT_FOUND", "IDEMPOTENCY_MISMATCH"]


def test_validation_error_names_the_field_and_the_bad_value(raw: httpx.Client) -> None:
    resp = raw.post(
        "/v1/locations",
        json={"code": "S-bad", "kind": "store", "name": "x", "lat": 123.0, "lon": 0.0},
    )
    body = _is_error(resp, 422, "VALIDATION_ERROR")
    assert body["message"].startswith("body.lat: 123.0: ")
    assert body["details"][0]["loc"] == ["body", "lat"] and body["details"][0]["value"] == 123.0
