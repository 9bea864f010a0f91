"""Every request of the outside tester's report (issue 9, points 1-4) gets a typed 4xx over HTTP,
and the server keeps answering other users."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from api_helpers import PEPPER, ServerThread, seed

from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.schemas import CheckoutRequest
from api.services.auth import create_api_key
from api.services.checkout import checkout_idempotent
from api.services.context import Principal, ServiceContext

SKU_ROW = {
    "sku": "H-1",
    "product": "HP-1",
    "name": "x",
    "category": "HC",
    "cost_cents": 1,
    "list_price_cents": 2,
}


@pytest.fixture
def http(server: ServerThread) -> dict[str, httpx.Client]:
    """Clients of three users: staff, a customer, and a bystander whose requests must go on."""
    out = {}
    for name, role, cust in (
        ("staff", "staff", None),
        ("cust", "customer", "c-h1"),
        ("other", "customer", "c-h2"),
    ):
        key = create_api_key(server.env.engine, server.env.clock, PEPPER, role, cust)
        out[name] = httpx.Client(base_url=server.url, headers={"X-API-Key": key}, timeout=60)
    return out


def _typed(resp: httpx.Response, status: int, code: str | None = None) -> dict[str, object]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"code", "message", "details"}
    if code is not None:
        assert body["code"] == code, body
    return dict(body)


def _still_serving(http: dict[str, httpx.Client]) -> None:
    assert http["other"].get("/v1/orders").status_code == 200


def test_customer_bulk_import_is_refused_before_its_body_is_read(
    http: dict[str, httpx.Client],
) -> None:
    body = ("[" + ",".join(["{}"] * 300_000) + "]").encode()  # ~1.5 MB of empty rows
    resp = http["cust"].post(
        "/v1/skus/import", content=body, headers={"content-type": "application/json"}
    )
    _typed(resp, 403, "FORBIDDEN")
    _still_serving(http)


def test_unauthenticated_body_is_refused_before_it_is_read(server: ServerThread) -> None:
    resp = httpx.post(f"{server.url}/v1/carts", content=b"{" * 100_000)
    _typed(resp, 401, "UNAUTHENTICATED")


def test_oversized_bodies_are_413_while_bulk_endpoints_take_staff_bulk(
    http: dict[str, httpx.Client],
) -> None:
    big = json.dumps({"channel": "web", "location": "W", "customer_id": "x" * 200_000})
    _typed(http["cust"].post("/v1/carts", content=big), 413, "PAYLOAD_TOO_LARGE")
    rows = [dict(SKU_ROW, sku=f"HB-{i}", product=f"HBP-{i}") for i in range(3000)]  # ~400 kB
    resp = http["staff"].post("/v1/skus/import", json=rows)
    assert resp.status_code == 200 and resp.json()["created"] == 3000
    _still_serving(http)


def test_ten_megabyte_description_is_refused(http: dict[str, httpx.Client]) -> None:
    row = dict(SKU_ROW, description="d" * 10_000_000)
    body = _typed(http["staff"].post("/v1/skus/import", json=[row]), 422, "VALIDATION_ERROR")
    assert "description" in str(body["message"])
    _still_serving(http)


def test_deeply_nested_json_is_refused(http: dict[str, httpx.Client]) -> None:
    deep = "[" * 5000 + "]" * 5000
    _typed(http["staff"].post("/v1/prices", content=deep), 422, "VALIDATION_ERROR")
    _typed(http["cust"].post("/v1/carts", content=deep), 422, "VALIDATION_ERROR")
    _still_serving(http)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/skus/a%00b",
        "/v1/search?category=a%00b",
        "/v1/search?in_stock_at=a%00b",
        "/v1/prices?sku=a%00b&channel=web",
        "/v1/stock/movements?sku=a%00b",
    ],
)
def test_nul_in_path_or_query_is_a_typed_422(http: dict[str, httpx.Client], path: str) -> None:
    _typed(http["staff"].get(path), 422, "VALIDATION_ERROR")
    _still_serving(http)


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/categories", {"code": "c1", "name": "a\u0000b"}),
        ("/v1/locations", {"code": "L1", "kind": "store", "name": "a\u0000", "lat": 1, "lon": 1}),
        (
            "/v1/stock/receipts",
            {"location": "L", "lines": [{"sku": "S", "quantity": 1}], "reference": "r\u0000"},
        ),
        ("/v1/stock/adjustments", {"location": "L", "sku": "S", "delta": 1, "reason": "\u0000"}),
        ("/v1/skus/import", [dict(SKU_ROW, name="n\u0000")]),
    ],
)
def test_nul_in_a_staff_post_is_a_typed_422(
    http: dict[str, httpx.Client], path: str, body: object
) -> None:
    _typed(http["staff"].post(path, json=body), 422, "VALIDATION_ERROR")
    _still_serving(http)


@pytest.mark.parametrize(
    ("who", "path", "body"),
    [
        ("staff", "/v1/carts", {"channel": "web", "location": "L", "customer_id": "c" * 100}),
        (
            "staff",
            "/v1/stock/receipts",
            {"location": "L", "lines": [{"sku": "S", "quantity": 1}], "reference": "r" * 300},
        ),
        (
            "staff",
            "/v1/stock/pos-sales",
            {"location": "L", "sales": [{"sku": "S", "quantity": 1}], "reference": "r" * 300},
        ),
    ],
)
def test_strings_longer_than_their_column_are_a_typed_422(
    http: dict[str, httpx.Client], who: str, path: str, body: object
) -> None:
    resp = _typed(http[who].post(path, json=body), 422, "VALIDATION_ERROR")
    assert "at most" in str(resp["message"])
    _still_serving(http)


@pytest.mark.parametrize(
    ("who", "path", "raw"),
    [
        ("cust", "/v1/carts", '{"channel": "\\ud800", "location": "L"}'),
        ("cust", "/v1/carts", '{"channel": "web", "location": "L\\udc00"}'),
        ("staff", "/v1/categories", '{"code": "c2", "name": "ok \\ud83d"}'),
        ("staff", "/v1/skus/import", '[{"sku": "\\ud800"}]'),
    ],
)
def test_lone_surrogates_are_a_typed_422(
    http: dict[str, httpx.Client], who: str, path: str, raw: str
) -> None:
    resp = http[who].post(path, content=raw, headers={"content-type": "application/json"})
    _typed(resp, 422, "VALIDATION_ERROR")
    _still_serving(http)


def test_a_valid_surrogate_pair_is_accepted(http: dict[str, httpx.Client]) -> None:
    raw = '{"code": "emoji", "name": "snacks \\ud83c\\udf7f"}'
    resp = http["staff"].post(
        "/v1/categories", content=raw, headers={"content-type": "application/json"}
    )
    assert resp.status_code == 201 and resp.json()["name"] == "snacks \U0001f37f"


def test_naive_datetime_in_a_price_is_a_typed_422(http: dict[str, httpx.Client]) -> None:
    body = [{"sku": "S", "channel": "web", "price_cents": 1, "valid_from": "2026-01-01T00:00:00"}]
    resp = _typed(http["staff"].post("/v1/prices", json=body), 422, "VALIDATION_ERROR")
    assert "timezone" in str(resp["message"])
    _still_serving(http)


def _cart(http: httpx.Client, loc: str, sku: str) -> int:
    cart = http.post("/v1/carts", json={"channel": "web", "location": loc})
    assert cart.status_code == 201, cart.text
    cid = int(cart.json()["id"])
    assert http.put(f"/v1/carts/{cid}/lines", json={"sku": sku, "quantity": 1}).status_code == 200
    return cid


def test_checkout_after_a_payment_timeout_is_never_an_unpaid_201(
    server: ServerThread, http: dict[str, httpx.Client]
) -> None:
    s = seed(InProcessClient(server.env, Principal(role="staff", key_id=1)), n_skus=1, stock=3)
    cid = _cart(http["cust"], s.location, s.skus[0])
    first = http["cust"].post("/v1/checkout", json={"cart_id": cid, "payment_token": "tok_timeout"})
    oid = _typed(first, 402, "PAYMENT_TIMEOUT")["details"]
    again = http["cust"].post("/v1/checkout", json={"cart_id": cid, "payment_token": "tok_timeout"})
    assert _typed(again, 402, "PAYMENT_TIMEOUT")["details"] == oid
    paid = http["cust"].post(
        "/v1/checkout", json={"cart_id": cid}, headers={"Idempotency-Key": "n"}
    )
    assert paid.status_code == 201 and paid.json()["status"] == "paid"
    assert {"order_id": paid.json()["id"]} == oid


def test_key_left_by_a_dead_checkout_is_resumed_over_http_after_its_lease(
    server: ServerThread, http: dict[str, httpx.Client]
) -> None:
    ctx: ServiceContext = server.env
    assert isinstance(ctx.clock, ManualClock)
    s = seed(InProcessClient(ctx, Principal(role="staff", key_id=1)), n_skus=1, stock=3)
    cid = _cart(http["cust"], s.location, s.skus[0])

    class Died(BaseException):
        pass

    real = ctx.gateway

    class DyingGateway:
        def authorize(self, **kw: object) -> object:
            raise Died

    ctx.gateway = DyingGateway()  # type: ignore[assignment]
    who = Principal(role="customer", customer_id="c-h1")
    with pytest.raises(Died):
        checkout_idempotent(ctx, who, CheckoutRequest(cart_id=cid), "dead-1")
    ctx.gateway = real
    ctx.idempotency_wait_s = 0.05
    busy = http["cust"].post(
        "/v1/checkout", json={"cart_id": cid}, headers={"Idempotency-Key": "dead-1"}
    )
    _typed(busy, 409, "IDEMPOTENCY_IN_PROGRESS")
    ctx.clock.advance(timedelta(seconds=ctx.idempotency_lease_s))
    done = http["cust"].post(
        "/v1/checkout", json={"cart_id": cid}, headers={"Idempotency-Key": "dead-1"}
    )
    assert done.status_code == 201 and done.json()["status"] == "paid", done.text


def test_validation_error_handler_can_always_echo_the_value_it_refuses() -> None:
    from api.app import _clean_errors

    [item] = _clean_errors(
        [{"loc": ("body", "k\ud800"), "msg": "bad \x00", "type": "t", "input": "a\ud800\x00b"}]
    )
    assert isinstance(item, dict)
    text = json.dumps(item, ensure_ascii=False).encode("utf-8")  # would raise on a surrogate
    assert b"\\\\x00" in text and b"\\\\ud800" in text
