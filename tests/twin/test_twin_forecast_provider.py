"""The twin's forecast provider: policies see forecasts fitted on the twin's own sales."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pytest
from twin_helpers import small_baseline

from policies.registry import register
from policies.replenishment.forecast import ForecastOrderUpTo
from policies.replenishment.types import ReplenishmentDecision, ReplenishmentObservation
from scenarios.errors import ScenarioError
from scenarios.schema import Scenario, parse_scenario
from scenarios.sections import DemandForecast
from twin.forecasting import ForecastProvider
from twin.runner import run_scenario

DAYS = 21


@register("replenishment", "test_spy_forecast_order_up_to")
class SpyOrderUpTo(ForecastOrderUpTo):
    """Forecast order-up-to that records the demand means it was given."""

    seen: ClassVar[list[tuple[int, int, np.ndarray]]] = []

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        assert observation.demand_mean is not None
        SpyOrderUpTo.seen.append(
            (int(observation.period), observation.n, observation.demand_mean.copy())
        )
        return super().decide(observation)


def _scenario(source: str, **forecast: Any) -> Scenario:
    d = small_baseline(days=DAYS, n_skus=20, population=400).model_dump(mode="json")
    d["policies"]["replenishment"] = {"name": "test_spy_forecast_order_up_to", "params": {}}
    d["forecast"] = {"source": source, "min_history_days": 7, "refit_days": 7, **forecast}
    return parse_scenario(d, source="forecast provider test")


def _run(sc: Scenario, fake_client: Any) -> tuple[dict[str, Any], list[tuple[int, int, Any]]]:
    SpyOrderUpTo.seen = []
    out = run_scenario(sc, write=False, client=fake_client(sc))
    return out.result.kpis, list(SpyOrderUpTo.seen)


@pytest.mark.slow
def test_policies_see_model_forecasts_not_oracle_means_and_runs_repeat_for_a_seed(
    fake_client: Any,
) -> None:
    kpis_a, seen_a = _run(_scenario("model"), fake_client)
    kpis_b, seen_b = _run(_scenario("model"), fake_client)
    _, seen_oracle = _run(_scenario("oracle"), fake_client)
    # deterministic for a seed: same KPIs, same forecasts handed to the policies
    assert kpis_a["kpis_digest"] == kpis_b["kpis_digest"]
    assert len(seen_a) == len(seen_b) == len(seen_oracle) > 0
    for (pa, na, ma), (pb, nb, mb) in zip(seen_a, seen_b, strict=True):
        assert (pa, na) == (pb, nb) and np.array_equal(ma, mb)
    # after the opening plan, the means differ from the demand kernel's on every day
    late = [
        (ma, mo)
        for (p, _, ma), (_, _, mo) in zip(seen_a, seen_oracle, strict=True)
        if p >= 8  # 7 days recorded by the morning of day 8
    ]
    assert late
    assert all(not np.allclose(ma, mo) for ma, mo in late)
    # ... yet they are forecasts of the same demand: the network totals agree within 25%
    for ma, mo in late:
        assert abs(ma.sum() / mo.sum() - 1.0) < 0.25


def test_oracle_is_the_default_forecast_source() -> None:
    assert DemandForecast().source == "oracle"
    assert small_baseline(days=2).forecast.source == "oracle"


def test_an_unknown_forecast_model_is_refused_with_its_name() -> None:
    d = small_baseline(days=2).model_dump(mode="json")
    d["forecast"] = {"source": "model", "model": "crystal_ball"}
    with pytest.raises(ScenarioError, match=r"forecast\.model.*'crystal_ball' is not a forecast"):
        parse_scenario(d, source="bad model")


def _provider(**config: Any) -> ForecastProvider:
    cfg = DemandForecast(source="model", min_history_days=7, refit_days=7, **config)
    return ForecastProvider(cfg, plan=np.full((2, 3), 5.0), lead_horizon=2)


def test_provider_uses_the_plan_until_enough_history_then_the_fitted_model() -> None:
    p = _provider(model="moving_average")
    cum = np.zeros((2, 3))
    for day in range(10):
        p.observe(day, cum)
        fc = p.daily(day)
        assert fc.shape == (3, 2, 3)
        if p.recorded_days < 7:
            assert p.last_source == "plan" and np.array_equal(fc, np.full((3, 2, 3), 5.0))
        else:
            assert p.last_source == "model"
            assert np.allclose(fc, 2.0)  # sold 2 units of every SKU-location per day
        cum = cum + 2.0
    assert p.fits == 1  # refitted every 7 days: day 7 only


def test_provider_refits_every_refit_days_and_divides_known_event_uplift_out() -> None:
    p = _provider(model="moving_average")
    cum = np.zeros((2, 3))
    for day in range(30):
        p.observe(day, cum)
        uplift = np.ones((3, 2, 3))
        uplift[1] = 3.0  # tomorrow is announced at three times a plain day
        if day % 5 == 0:
            uplift[0] = 3.0  # an announced event triples today's demand
        fc = p.daily(day, uplift)
        if p.last_source == "model":
            # events divided out of the history: a plain day's forecast is the plain level
            assert np.allclose(fc[2], 2.0) and np.allclose(fc[1], 6.0)
        cum = cum + (6.0 if day % 5 == 0 else 2.0)
    assert p.fits == 4  # on days 7, 14, 21 and 28


def test_without_known_events_the_model_sees_raw_sales_and_no_uplift() -> None:
    p = _provider(model="moving_average", known_events=False)
    cum = np.zeros((2, 3))
    for day in range(8):
        p.observe(day, cum)
        fc = p.daily(day, np.full((3, 2, 3), 3.0))
        cum = cum + (9.0 if day % 2 == 0 else 1.0)
    assert p.last_source == "model"
    assert np.allclose(fc, (4 * 9.0 + 3 * 1.0) / 7.0)


def test_a_model_that_cannot_fit_a_short_history_leaves_the_plan_until_it_can() -> None:
    p = _provider(model="ensemble")  # validation windows of 7 + 3 days need >= 12 days
    cum = np.zeros((2, 3))
    sources = []
    for day in range(16):
        p.observe(day, cum)
        fc = p.daily(day)
        sources.append(p.last_source)
        if p.last_source == "plan":
            assert np.array_equal(fc, np.full((3, 2, 3), 5.0))
        cum = cum + 2.0
    assert p.refused >= 1 and p.fits >= 1
    assert sources[:12] == ["plan"] * 12 and sources[-1] == "model"
