"""Catalog and demand parameters generated from scenarios, and scenario events in the kernel."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from dynamics.demand import demand_rates, discount_fractions
from scenarios.schema import load_scenario
from twin.catalog import (
    build_demand_params,
    build_sku_catalog,
    demand_events,
    haversine_km,
    serving_warehouses,
)

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def _build(name: str, seed: int | None = None):  # type: ignore[no-untyped-def]
    sc = load_scenario(SCENARIOS / f"{name}.yaml", check_policies=False)
    rng = np.random.default_rng(sc.seed if seed is None else seed)
    skus = build_sku_catalog(sc, rng)
    params = build_demand_params(sc, skus, rng)
    return sc, skus, params, demand_events(sc, skus)


def test_catalog_is_consistent_and_deterministic_for_a_seed() -> None:
    _, skus, params, _ = _build("baseline")
    _, again, params2, _ = _build("baseline")
    _, other, _, _ = _build("baseline", seed=43)
    assert skus.n_skus == 200 and skus.codes[0] == "SKU000001" and skus.codes[-1] == "SKU000200"
    assert set(skus.category.tolist()) == set(range(8))  # every category has a SKU
    assert np.all((skus.cost_cents >= 1) & (skus.cost_cents <= skus.list_price_cents))
    assert np.all(skus.elasticity <= 0) and np.all(skus.base_demand >= 0)
    assert skus.list_price_cents.max() <= 5000  # the lognormal's max
    for field in (
        "list_price_cents",
        "cost_cents",
        "base_demand",
        "elasticity",
        "supplier",
        "shelf_life_days",
    ):
        assert np.array_equal(getattr(skus, field), getattr(again, field)), field
    assert np.array_equal(params.base_rate, params2.base_rate)
    assert not np.array_equal(skus.list_price_cents, other.list_price_cents)
    assert skus.index_of("SKU000042") == 41


def test_shares_of_suppliers_and_perishables_match_the_scenario() -> None:
    sc, skus, _, _ = _build("large")
    n = skus.n_skus
    shares = np.array([s.sku_share for s in sc.world.suppliers])
    for k, p in enumerate(shares / shares.sum()):
        # binomial share: 5 standard errors
        assert abs(np.mean(skus.supplier == k) - p) <= 5 * math.sqrt(p * (1 - p) / n)
    assert sc.catalog.perishability is not None
    p = sc.catalog.perishability.share
    assert abs(skus.perishable.mean() - p) <= 5 * math.sqrt(p * (1 - p) / n)
    assert skus.shelf_life_days[skus.perishable].min() >= 1


def test_location_rates_split_store_and_online_demand() -> None:
    sc, skus, params, _ = _build("heatwave")
    assert sc.catalog.store_affinity_sd > 0
    # without affinity noise the split is exact
    exact = sc.model_copy(
        update={"catalog": sc.catalog.model_copy(update={"store_affinity_sd": 0.0})}
    )
    params = build_demand_params(exact, skus, np.random.default_rng(0))
    mix = sc.customers.channel_mix
    sizes = np.array([s.size_m2 for s in sc.world.stores]) / 1000.0
    np.testing.assert_allclose(
        params.base_rate[:, :3], skus.base_demand[:, None] * sizes * mix.store, rtol=1e-14
    )
    np.testing.assert_allclose(
        params.base_rate[:, 3], skus.base_demand * sizes.sum() * (mix.web + mix.app), rtol=1e-14
    )
    assert params.base_rate.shape == (200, len(sc.location_codes))


def test_store_affinity_keeps_expected_store_demand() -> None:
    sc, skus, params, _ = _build("large")
    n_st = len(sc.world.stores)
    mix = sc.customers.channel_mix
    sizes = np.array([s.size_m2 for s in sc.world.stores]) / 1000.0
    ratio = params.base_rate[:, :n_st].sum() / (skus.base_demand.sum() * sizes.sum() * mix.store)
    # log-normal affinity with mean 1: the total is unbiased (weighted by base demand; loose bound)
    assert abs(ratio - 1.0) < 0.02


def test_theory_scenario_demand_is_exactly_lambda_every_day() -> None:
    sc, skus, params, events = _build("theory_single_sku")
    assert events == ()
    for day in range(0, sc.duration_days, 13):
        rates = demand_rates(params, day, skus.list_price_cents, events)
        assert rates.tolist() == [[5.0, 0.0]]  # store S1, warehouse W1 (no online channel)


def test_heatwave_multiplies_named_categories_only_inside_the_window() -> None:
    sc, skus, params, events = _build("heatwave")
    (shock,) = [e for e in sc.events if e.kind == "weather_shock"]
    names = list(skus.category_names)
    mult = np.ones(len(names))
    for cat, m in shock.category_multipliers.items():
        mult[names.index(cat)] = m
    for day, expect in (
        (shock.start_day - 1, np.ones_like(mult)),
        (shock.start_day, mult),
        (shock.end_day - 0.5, mult),
    ):
        ratio = demand_rates(params, day, events=events) / demand_rates(params, day)
        np.testing.assert_allclose(
            ratio, np.broadcast_to(expect[skus.category][:, None], ratio.shape), rtol=1e-14
        )


def test_black_friday_traffic_and_discount_in_scope() -> None:
    _, skus, params, events = _build("black_friday")
    names = list(skus.category_names)
    scoped = np.isin(
        skus.category,
        [names.index(c) for c in ("beverages", "snacks", "household", "personal_care")],
    )
    ratio = demand_rates(params, 11.5, events=events) / demand_rates(params, 11.5)
    np.testing.assert_allclose(ratio[scoped], 4.0 * 1.25, rtol=1e-14)  # both sales on day 11
    np.testing.assert_allclose(ratio[~scoped], 1.25, rtol=1e-14)
    ratio12 = demand_rates(params, 12.0, events=events) / demand_rates(params, 12.0)  # Saturday
    np.testing.assert_allclose(ratio12[scoped], 4.0, rtol=1e-14)
    assert np.all(
        demand_rates(params, 13.0, events=events)[:, 2] == 0.0
    )  # S03 shuts on Sundays, sale or not
    cut = discount_fractions(params, 11.5, events)
    assert np.all(cut[scoped] == 0.30) and np.all(cut[~scoped] == 0.10)


def test_nearest_warehouse_serves_a_store_without_one() -> None:
    sc = load_scenario(SCENARIOS / "large.yaml", check_policies=False)
    stores = [s.model_copy(update={"warehouse": None}) for s in sc.world.stores]
    sc2 = sc.model_copy(update={"world": sc.world.model_copy(update={"stores": stores})})
    whs = sc.world.warehouses
    for s, k in zip(sc2.world.stores, serving_warehouses(sc2), strict=True):
        dists = [haversine_km(s.lat, s.lon, w.lat, w.lon) for w in whs]
        assert dists[k] == min(dists)
    assert haversine_km(52.52, 13.405, 48.137, 11.575) == pytest.approx(
        504.2, abs=1.0
    )  # Berlin-Munich


def test_segments_weigh_price_response_by_units_demanded() -> None:
    sc, skus, params, _ = _build("baseline")
    segs = sc.customers.segments
    units = np.array([s.share * s.visits_per_week * s.basket_size.mean_value() for s in segs])
    assert params.segment_weights is not None and params.segment_sensitivity is not None
    np.testing.assert_allclose(params.segment_weights, units / units.sum(), rtol=1e-14)
    assert params.segment_sensitivity.tolist() == [s.price_sensitivity for s in segs]
    # at list price every segment buys its base share: no price effect at all
    np.testing.assert_allclose(
        demand_rates(params, 0, skus.list_price_cents), demand_rates(params, 0), rtol=1e-14
    )
