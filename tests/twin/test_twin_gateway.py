"""The order gateway: single calls for one order, the batch doors for a slice of orders."""

from __future__ import annotations

import pytest
from twin_helpers import small_baseline

from twin.gateway import OrderGateway
from twin.runner import run_scenario


def test_sliced_online_orders_use_the_batch_doors_with_the_same_outcome(
    fake_client, monkeypatch: pytest.MonkeyPatch
) -> None:
    sc = small_baseline(days=4)
    sc = sc.model_copy(update={"engine": sc.engine.model_copy(update={"mode": "sliced"})})
    batched = run_scenario(sc, write=False, client=fake_client(sc))
    monkeypatch.setattr(OrderGateway, "_batch", lambda self, name: None)
    single = run_scenario(sc, write=False, client=fake_client(sc))
    for k in ("units_sold", "lost_units", "online_orders", "revenue_cents", "fill_rate"):
        assert batched.kpis[k] == single.kpis[k], k
    assert batched.result.events_digest == single.result.events_digest
    api_b, api_s = batched.kpis["api"], single.kpis["api"]
    # a slice of several orders costs two calls (carts with their lines, checkouts)
    assert api_b["batch_create_carts"]["calls"] == api_b["batch_checkout"]["calls"] > 0
    assert "batch_create_carts" not in api_s
    assert api_b.get("set_cart_line", {}).get("calls", 0) < api_s["set_cart_line"]["calls"]
    assert batched.kpis["api_calls"] < single.kpis["api_calls"]
