"""Returns flow back in the twin through the API's RMA flow; the twin and the ledger agree."""

from __future__ import annotations

import pytest
from twin_helpers import clock_for, small_baseline

from api.client.inprocess import InProcessClient
from api.schemas import MovementKind
from scenarios.schema import with_overrides
from twin.reconcile import check_conservation, reconcile_stock
from twin.returns import ReturnsSettings
from twin.runner import run_scenario

pytestmark = pytest.mark.slow


def test_returned_orders_are_restocked_written_off_and_refunded_in_twin_and_ledger() -> None:
    sc = with_overrides(
        small_baseline(days=5, n_skus=24, population=300),
        returns={
            "rate": 0.6,
            "delay_days_min": 0.2,
            "delay_days_max": 0.6,
            "transit_days": 0.3,
            "inspect_days": 0.1,
        },
    )
    clock = clock_for(sc)
    client = InProcessClient.for_sqlite(":memory:", clock)
    try:
        out = run_scenario(sc, write=False, client=client, clock=clock)
        k = out.kpis
        assert k["returns_requested"] > 0 and k["returns_refunded"] > 0
        done = k["returns_restocked_units"] + k["returns_written_off_units"]
        assert 0 < done <= k["returns_units"]  # some are still on their way at the end
        assert k["returns_refused_steps"] == 0
        assert k["returns_refund_cents"] > 0
        # derived bound: requested ~ Binomial(delivered, 0.6) minus those still in flight
        assert 0.2 <= k["returns_rate"] <= 0.8
        res = out.result
        assert res.flows["return"].sum() >= done  # the flows count the warm-up too
        stock = reconcile_stock(res, client)
        assert stock.ok, stock.examples
        cons = check_conservation(res, client)
        assert cons.ok, cons.examples
        kinds = {
            m.kind
            for loc in res.world.location_codes[res.world.n_stores :]
            for m in client.movements(location=loc, limit=500).items
        }
        assert MovementKind.RETURN in kinds
    finally:
        client.close()


def test_settings_refuse_out_of_range_values() -> None:
    with pytest.raises(ValueError, match=r"returns.rate: 1.5"):
        ReturnsSettings(rate=1.5)
    with pytest.raises(ValueError, match="delay_days_min/max"):
        ReturnsSettings(delay_days_min=3.0, delay_days_max=1.0)
