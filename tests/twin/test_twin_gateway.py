"""The order gateway: single calls for one order, batch doors for a slice where available."""

from __future__ import annotations

import pytest
from twin_helpers import clock_for, small_baseline

from api.client.fake import FakeCommerce
from twin.gateway import OrderGateway
from twin.runner import run_scenario


def test_sliced_online_orders_go_through_the_batch_doors_with_the_same_kpis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sc = small_baseline(days=4)
    sc = sc.model_copy(update={"engine": sc.engine.model_copy(update={"mode": "sliced"})})
    # The same sliced run once with the batch doors hidden (single calls only) ...
    monkeypatch.setattr(OrderGateway, "_batch", lambda self, name: None)
    plain = run_scenario(sc, write=False, client=FakeCommerce(clock_for(sc)))
    monkeypatch.undo()
    # ... and once through the client's real batch doors.
    batched = run_scenario(sc, write=False, client=FakeCommerce(clock_for(sc)))
    for k in ("units_sold", "lost_units", "online_orders", "revenue_cents", "fill_rate"):
        assert batched.kpis[k] == plain.kpis[k], k
    assert batched.result.events_digest == plain.result.events_digest
    calls = batched.kpis["api"]
    # a slice of several orders costs two calls; single orders keep the single calls
    assert calls["batch_create_carts"]["calls"] == calls["batch_checkout"]["calls"] > 0
    assert calls["create_cart"]["calls"] < plain.kpis["api"]["create_cart"]["calls"]
