"""Hierarchical reconciliation: coherence, the methods' algebra, accuracy on a synthetic chain."""

from __future__ import annotations

import numpy as np
import pytest

from policies.forecasting import (
    RECONCILE_METHODS,
    ForecastingError,
    Hierarchy,
    Panel,
    forecast_hierarchy,
    make_model,
    reconcile,
)
from policies.forecasting.hierarchy import shrunk_covariance

HORIZON = 14


def _keys() -> list[tuple[str, str, str]]:
    return [(f"S{s}", f"C{c}", f"K{c}{k}") for s in range(3) for c in range(2) for k in range(4)]


def _sales(periods: int = 200, seed: int = 0) -> np.ndarray:
    """Poisson daily sales of 24 SKU-stores with weekly seasonality and a store effect."""
    rng = np.random.default_rng(seed)
    keys = _keys()
    level = rng.uniform(2.0, 20.0, len(keys)) * np.array([1.0 + 0.5 * int(k[0][1]) for k in keys])
    week = 1.0 + 0.3 * np.sin(2.0 * np.pi * np.arange(periods) / 7.0)
    return rng.poisson(level[:, None] * week[None, :]).astype(np.float64)


def _mase(actual: np.ndarray, forecast: np.ndarray, train: np.ndarray, m: int = 7) -> float:
    scale = np.mean(np.abs(train[:, m:] - train[:, :-m]), axis=1)
    return float(np.mean(np.mean(np.abs(actual - forecast), axis=1) / scale))


def test_hierarchy_has_total_stores_categories_and_skus_in_top_down_order() -> None:
    h = Hierarchy.from_keys(_keys())
    assert h.n_bottom == 24
    assert h.n_nodes == 1 + 3 + 6 + 24
    assert h.ids[:4] == ("total", "S0", "S1", "S2")
    assert h.ids[4] == "S0/C0"
    assert h.bottom_ids[0] == "S0/C0/K00"
    assert h.node_levels.count("category") == 6
    assert (h.summing[0] == 1).all()
    assert h.summing[4].sum() == 4  # S0/C0 holds 4 SKUs
    assert h.parent[h.ids.index("S0/C0/K00")] == h.ids.index("S0/C0")


def test_aggregate_makes_every_parent_exactly_the_sum_of_its_children() -> None:
    h = Hierarchy.from_keys(_keys())
    full = h.aggregate(_sales(50) / 3.0)  # non-integer values
    assert h.incoherence(full) == 0.0
    assert np.allclose(full, h.summing @ (_sales(50) / 3.0))


@pytest.mark.parametrize("method", RECONCILE_METHODS)
def test_every_method_returns_exactly_coherent_nonnegative_forecasts(method: str) -> None:
    h = Hierarchy.from_keys(_keys())
    rng = np.random.default_rng(1)
    base = rng.uniform(-1.0, 30.0, (h.n_nodes, HORIZON))  # incoherent, some negative
    residuals = rng.normal(0.0, 2.0, (h.n_nodes, 28))
    mean, std = reconcile(
        base,
        h,
        method,
        residuals=residuals,
        history=_sales(60),
        base_std=np.full_like(base, 2.0),
    )
    assert h.incoherence(mean) == 0.0
    assert (mean >= 0).all()
    assert std is not None and std.shape == base.shape and (std >= 0).all()


def test_reconciling_coherent_forecasts_keeps_them_for_projection_methods() -> None:
    h = Hierarchy.from_keys(_keys())
    coherent = h.aggregate(np.random.default_rng(2).uniform(1.0, 9.0, (24, HORIZON)))
    residuals = np.random.default_rng(3).normal(0.0, 1.0, (h.n_nodes, 40))
    for method in ("bottom_up", "ols", "wls_struct", "wls_var", "mint_shrink"):
        mean, _ = reconcile(coherent, h, method, residuals=residuals)
        assert np.allclose(mean, coherent), method


def test_bottom_up_sums_the_bottom_and_top_down_splits_the_total_by_history_shares() -> None:
    h = Hierarchy.from_keys(_keys())
    base = np.random.default_rng(4).uniform(1.0, 9.0, (h.n_nodes, 3))
    bu, _ = reconcile(base, h, "bottom_up")
    assert np.array_equal(bu[-24:], base[-24:])
    history = _sales(80)
    td, _ = reconcile(base, h, "top_down", history=history, window=28)
    share = history[:, -28:].mean(axis=1) / history[:, -28:].mean(axis=1).sum()
    assert np.allclose(td[0], base[0])
    assert np.allclose(td[-24:], share[:, None] * base[0][None, :])


def test_shrinkage_intensity_is_high_for_independent_noise_and_low_for_common_shocks() -> None:
    rng = np.random.default_rng(5)
    _, lam_noise = shrunk_covariance(rng.normal(size=(10, 30)))
    common = rng.normal(size=(1, 30)) + 0.1 * rng.normal(size=(10, 30))
    _, lam_common = shrunk_covariance(common)
    assert lam_noise > 0.5
    assert lam_common < 0.1


@pytest.mark.parametrize("method", ["bottom_up", "ols", "wls_struct", "mint_shrink"])
def test_reconciliation_does_not_worsen_holdout_mase_much_on_a_synthetic_hierarchy(
    method: str,
) -> None:
    h = Hierarchy.from_keys(_keys())
    sales = _sales(200)
    full = h.aggregate(sales)
    train = Panel.from_arrays(sales[:, :-HORIZON])
    model = make_model("ets")
    base = model.fit(h.aggregate_panel(train)).predict(HORIZON)
    fc = forecast_hierarchy(train, h, model, HORIZON, method=method)
    actual, history = full[:, -HORIZON:], full[:, :-HORIZON]
    base_mase = _mase(actual, base.mean, history)
    assert h.incoherence(fc.mean) == 0.0
    assert fc.ids == h.ids
    assert _mase(actual, fc.mean, history) <= 1.05 * base_mase
    assert (fc.lower <= fc.mean).all() and (fc.mean <= fc.upper).all()


def test_bad_keys_and_shapes_name_the_field() -> None:
    with pytest.raises(ForecastingError, match="keys"):
        Hierarchy.from_keys([("S1", "C1")])
    with pytest.raises(ForecastingError, match="keys"):
        Hierarchy.from_keys([("S1", "C1", "K1"), ("S1", "C1", "K1")])
    with pytest.raises(ForecastingError, match="keys"):
        Hierarchy.from_keys([("S1", "C/1", "K1")])
    h = Hierarchy.from_keys(_keys())
    with pytest.raises(ForecastingError, match="base"):
        reconcile(np.zeros((3, 2)), h, "ols")
    with pytest.raises(ForecastingError, match="residuals"):
        reconcile(np.zeros((h.n_nodes, 2)), h, "mint_shrink")
    with pytest.raises(ForecastingError, match="method"):
        reconcile(np.zeros((h.n_nodes, 2)), h, "middle_out")
