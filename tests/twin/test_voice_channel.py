"""Voice re-orders ("order my usual"): the usual basket, the daily plan, a run, determinism."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from twin_helpers import clock_for, scenario_data

from scenarios.errors import ScenarioError
from scenarios.schema import Scenario, parse_scenario
from twin.channels import VoiceChannel
from twin.engine import Twin
from twin.errors import TwinConfigError
from twin.voice_social import BasketHistory


def test_the_usual_basket_is_the_most_frequent_and_ties_go_to_the_most_recent() -> None:
    h = BasketHistory(np.array([True, True, False]))
    h.record(0, {3: 1, 1: 2})
    h.record(0, {5: 1})
    h.record(0, {1: 2, 3: 1})  # same basket as the first, lines in another order
    assert h.usual(0) == ((1, 2), (3, 1)) and h.count(0) == 3
    h.record(1, {4: 1})
    h.record(1, {6: 1})
    assert h.usual(1) == ((6, 1),)  # a tie: the latest
    h.record(2, {7: 1})  # not tracked
    assert h.usual(2) is None and h.count(2) == 0


def test_history_forgets_beyond_keep_and_ignores_empty_baskets() -> None:
    h = BasketHistory(np.array([True]), keep=2)
    h.record(0, {1: 1})
    h.record(0, {1: 1})
    h.record(0, {2: 1})
    h.record(0, {2: 1})
    h.record(0, {9: 0})
    assert h.count(0) == 2 and h.usual(0) == ((2, 1),)
    with pytest.raises(TwinConfigError, match="keep 0"):
        BasketHistory(np.array([True]), keep=0)


def _scenario(days: int = 4, **voice: Any) -> Scenario:
    d = scenario_data("baseline.yaml")
    d["duration_days"] = days
    d["warmup_days"] = 1
    d["catalog"]["n_skus"] = 20
    d["customers"]["population"] = 300
    d["customers"]["voice"] = {"adoption": 0.5, "reorder_interval_days": 2.0, **voice}
    return parse_scenario(d)


def test_the_scenario_refuses_an_all_zero_voice_profile() -> None:
    with pytest.raises(ScenarioError, match="hourly_profile"):
        _scenario(hourly_profile=[0.0] * 24)


def _run(fake_client: Any, sc: Scenario) -> tuple[Twin, dict[str, Any]]:
    twin = Twin(sc, fake_client(sc), clock_for(sc))
    return twin, twin.run().kpis


@pytest.mark.slow
def test_voice_orders_repeat_each_customers_usual_basket_through_the_api(
    fake_client: Any,
) -> None:
    sc = _scenario()
    twin, k = _run(fake_client, sc)
    (voice,) = [c for c in twin.channels if isinstance(c, VoiceChannel)]
    assert k["voice_sessions"] > 0 and k["voice_units"] > 0
    assert k["voice_units"] + k["voice_lost_units"] >= k["voice_sessions"]
    # a fresh plan for the next day: every session is the customer's usual basket, from the
    # customer's serving warehouse, on the app channel, after 00:15 and within the day
    hist = voice.history
    assert hist is not None
    day = sc.duration_days
    planned = voice.plan_day(day)
    assert len(planned) >= 10
    for se in planned:
        usual = hist.usual(se.customer.index)
        assert usual is not None
        assert sorted(se.basket) == sorted(s for s, q in usual for _ in range(q))
        assert se.row == twin.world.n_stores + se.customer.warehouse
        assert se.tag == "app" and day + 15 / 1440 <= se.t < day + 1
        assert hist.tracked[se.customer.index]


@pytest.mark.slow
def test_voice_and_social_runs_are_deterministic_for_a_seed(fake_client: Any) -> None:
    sc = _scenario(days=3)
    d = sc.model_dump(mode="json")
    d["customers"]["social_bursts"] = [
        {"sku": "SKU000002", "start_day": 1, "peak_sessions_per_hour": 15, "duration_hours": 20}
    ]
    sc = parse_scenario(d)
    _, a = _run(fake_client, sc)
    _, b = _run(fake_client, sc)
    assert a["kpis_digest"] == b["kpis_digest"] and a["events_digest"] == b["events_digest"]
    assert a["voice_sessions"] > 0 and a["social_sessions"] > 0


def test_without_voice_or_social_sections_no_extra_channels_run(fake_client: Any) -> None:
    d = scenario_data("baseline.yaml")
    d["duration_days"] = 1
    d["warmup_days"] = 0
    d["catalog"]["n_skus"] = 10
    d["customers"]["population"] = 100
    sc = parse_scenario(d)
    twin, k = _run(fake_client, sc)
    assert [c.name for c in twin.channels] == ["store", "online"]
    assert not any(key.startswith(("voice_", "social_")) for key in k)
