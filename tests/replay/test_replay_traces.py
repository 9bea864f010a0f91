"""Trace formats: the twin's traffic.jsonl conversion, the native round trip, the flash-sale
generator's arrival rate, and the chaos schedule."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import pytest

from replay.chaos import ChaosAction, parse_schedule
from replay.errors import ChaosScheduleError, ReplayError, TraceFormatError
from replay.flashsale import FlashSaleSpec, expected_orders, generate
from replay.keys import KeyBook, derive
from replay.trace import SETUP, STAFF, Trace, TraceRequest, load, resolve

TWIN_LINES = [
    {"timestamp": "2026-03-02T00:00:00+00:00", "method": "POST", "path": "/v1/categories",
     "body": {"code": "dairy", "name": "dairy"}, "status": 201, "latency_ms": 1.0},
    {"timestamp": "2026-03-02T00:00:10+00:00", "method": "POST", "path": "/v1/carts",
     "body": {"channel": "web", "location": "W1", "customer_id": "C7"}, "status": 201,
     "latency_ms": 1.0},
    {"timestamp": "2026-03-02T00:00:10.5+00:00", "method": "PUT", "path": "/v1/carts/1/lines",
     "body": {"sku": "S1", "quantity": 1}, "status": 200, "latency_ms": 1.0},
    {"timestamp": "2026-03-02T00:00:11+00:00", "method": "POST", "path": "/v1/checkout",
     "body": {"cart_id": 1, "payment_token": "tok_ok"}, "status": 201, "latency_ms": 1.0,
     "idempotency_key": "checkout-1"},
    {"timestamp": "2026-03-02T00:01:00+00:00", "method": "POST", "path": "/v1/orders/1/transition",
     "body": {"to": "allocated"}, "status": 200, "latency_ms": 1.0},
]  # fmt: skip


def test_twin_traffic_becomes_shopper_sessions_with_references(tmp_path: Path) -> None:
    p = tmp_path / "traffic.jsonl"
    p.write_bytes(b"".join(orjson.dumps(d) + b"\n" for d in TWIN_LINES))
    tr = load(p)
    assert tr.source == "twin" and tr.shoppers() == ["C7"]
    got = [(r.t, r.session, r.key, r.op, r.path, r.sets) for r in tr.requests]
    assert got == [
        (0.0, SETUP, STAFF, "post_categories", "/v1/categories", None),
        (10.0, "cart:1", "C7", "create_cart", "/v1/carts", "cart:1"),
        (10.5, "cart:1", "C7", "put_carts_lines", "/v1/carts/${cart:1}/lines", None),
        (11.0, "cart:1", "C7", "checkout", "/v1/checkout", "order:1"),
        (60.0, "order:1", STAFF, "post_orders_transition", "/v1/orders/${order:1}/transition",
         None),
    ]  # fmt: skip
    assert tr.requests[1].body == {"channel": "web", "location": "W1"}  # a customer key's own
    assert tr.requests[3].body["cart_id"] == "${cart:1}" and tr.requests[3].idem == "checkout-1"
    assert resolve(tr.requests[3], {"cart:1": 42}) == (
        "/v1/checkout",
        {"cart_id": 42, "payment_token": "tok_ok"},
    )
    assert resolve(tr.requests[4], {"order:1": 9})[0] == "/v1/orders/9/transition"


def test_native_trace_round_trips_and_bad_lines_name_line_and_field(tmp_path: Path) -> None:
    tr = Trace([TraceRequest(0.5, "s", "C1", "get", "GET", "/v1/skus/A")], "test", {"x": 1})
    p = tmp_path / "t.jsonl"
    tr.save(p)
    back = load(p)
    assert back.requests == tr.requests and back.meta == {"x": 1}
    lines = p.read_bytes().splitlines()
    p.write_bytes(lines[0] + b"\n" + lines[1].replace(b'"t":0.5', b'"t":"soon"') + b"\n")
    with pytest.raises(TraceFormatError, match=r"t\.jsonl:2: field 't' has bad value 'soon'"):
        load(p)
    p.write_bytes(lines[0].replace(b'"version":1', b'"version":9') + b"\n")
    with pytest.raises(TraceFormatError, match="'version' has bad value 9"):
        load(p)


def test_flash_sale_checkouts_follow_the_rate_integral_within_poisson_bounds() -> None:
    spec = FlashSaleSpec(duration_s=30, t0_s=5, hold_s=10, peak_orders_per_s=50, n_shoppers=100)
    tr = generate(spec, np.random.default_rng(3))
    n = sum(r.op == "checkout" for r in tr.requests)
    mu = expected_orders(spec)
    assert abs(n - mu) <= 4 * mu**0.5  # Poisson count: 4 standard deviations
    before = sum(r.op == "checkout" and r.t < spec.t0_s for r in tr.requests)
    mu_before = spec.peak_orders_per_s / spec.multiplier * spec.t0_s
    # checkouts follow session starts by think times, so allow the bound plus a spill-over
    assert before <= mu_before + 4 * mu_before**0.5 + 5
    bots = [r for r in tr.requests if r.bot]
    assert bots and all(r.t >= spec.t0_s for r in bots)
    assert all("HOT" in r.body["sku"] for r in bots if r.op == "set_cart_line")
    assert {s["sku"] for s in tr.meta["catalog"]["skus"] if s["hot"]} == set(spec.hot_skus())


def test_flash_sale_is_reproducible_and_rejects_bad_fields() -> None:
    a = generate(FlashSaleSpec(duration_s=5, t0_s=2, n_shoppers=10), np.random.default_rng(1))
    b = generate(FlashSaleSpec(duration_s=5, t0_s=2, n_shoppers=10), np.random.default_rng(1))
    assert a.requests == b.requests
    with pytest.raises(ReplayError, match=r"'multiplier' has bad value 0\.5"):
        generate(FlashSaleSpec(multiplier=0.5), np.random.default_rng(1))


def test_keys_are_derived_per_shopper_and_round_trip(tmp_path: Path) -> None:
    book = derive("s", ["C1", "C2"])
    assert set(book.tokens) == {"staff", "C1", "C2"}
    assert book.tokens == derive("s", ["C1", "C2"]).tokens != derive("t", ["C1", "C2"]).tokens
    assert f"customer:{book.tokens['C1']}:C1" in book.bootstrap_spec()
    book.save(tmp_path / "k.json")
    assert KeyBook.load(tmp_path / "k.json") == book
    with pytest.raises(ReplayError, match="no API key for 'C9'"):
        book.token("C9")


def test_chaos_schedule_parses_and_names_bad_entries() -> None:
    assert parse_schedule("pg-restart@30, kill-worker@12.5") == [
        ChaosAction("kill-worker", 12.5),
        ChaosAction("pg-restart", 30.0),
    ]
    with pytest.raises(ChaosScheduleError, match="'reboot@3'"):
        parse_schedule("reboot@3")
    with pytest.raises(ChaosScheduleError, match="time 'soon' is not a number"):
        parse_schedule("kill-worker@soon")
