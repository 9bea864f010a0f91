"""Behaviour of the vectorised replenishment policies."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from policies.exact import newsvendor_quantity, poisson_demand
from policies.registry import create
from policies.replenishment import (
    SS,
    BaseStock,
    CappedBaseStock,
    EchelonBaseStock,
    ForecastOrderUpTo,
    Newsvendor,
    ObservationError,
    PeriodicSS,
    ReplenishmentObservation,
    ReplenishmentPolicy,
)


def _obs(**kw: object) -> ReplenishmentObservation:
    base: dict[str, object] = {
        "on_hand": [3, 0, 10, 4],
        "pipeline": [[1, 2], [0, 0], [3, 3], [0, 1]],
        "backorders": [0, 2, 0, 0],
    }
    base.update(kw)
    return ReplenishmentObservation.create(**base)  # type: ignore[arg-type]


def test_inventory_position_counts_pipeline_and_backorders() -> None:
    np.testing.assert_array_equal(_obs().inventory_position, [6, -2, 16, 5])


def test_base_stock_orders_up_to_the_level() -> None:
    d = BaseStock(12).decide(_obs())
    np.testing.assert_array_equal(d.orders, [6, 14, 0, 7])
    assert d.orders.dtype == np.int64


def test_capped_base_stock_never_orders_more_than_the_cap() -> None:
    d = CappedBaseStock(base_stock=12, cap=[5, 5, 5, 6]).decide(_obs())
    np.testing.assert_array_equal(d.orders, [5, 5, 0, 6])


def test_s_big_s_orders_only_at_or_below_the_reorder_point() -> None:
    d = SS(s=5, S=12).decide(_obs())
    np.testing.assert_array_equal(d.orders, [0, 14, 0, 7])


def test_periodic_s_big_s_orders_only_in_review_periods() -> None:
    policy = PeriodicSS(R=3, s=5, S=12, offset=[0, 1, 2, 0])
    ordered = np.array([policy.decide(_obs(period=t)).orders for t in range(6)])
    assert ordered[:, 1].tolist() == [0, 14, 0, 0, 14, 0]
    assert ordered[:, 3].tolist() == [7, 0, 0, 7, 0, 0]


def test_forecast_order_up_to_covers_lead_time_plus_review_with_safety_stock() -> None:
    obs = _obs(demand_mean=[5, 5, 5, 1], demand_std=[2, 2, 2, 0])
    d = ForecastOrderUpTo(service_level=0.95, review_period=1).decide(obs)
    z = stats.norm.ppf(0.95)
    target = 5 * 3 + z * 2 * np.sqrt(3)
    assert d.target is not None
    assert d.target[0] == pytest.approx(target)
    expected = [int(np.ceil(target - ip)) for ip in (6, -2, 16)] + [0]  # row 3: 3 < 5
    assert d.orders.tolist() == expected


def test_forecast_order_up_to_estimates_the_forecast_from_history_when_absent() -> None:
    obs = ReplenishmentObservation.create([0], [[0]], demand_history=[[4, 6, 4, 6]])
    d = ForecastOrderUpTo(service_level=0.5).decide(obs)
    assert d.orders.tolist() == [10]  # mean 5 over L + R = 2 periods, z = 0


def test_forecast_policy_names_the_missing_field() -> None:
    with pytest.raises(ObservationError, match="demand_mean or a demand_history"):
        ForecastOrderUpTo().decide(_obs())


def test_newsvendor_with_no_lead_time_orders_the_closed_form_quantity() -> None:
    obs = ReplenishmentObservation.create([0, 2], None, demand_mean=[20.0, 20.0])
    d = Newsvendor(underage_cost=3.0, overage_cost=1.0).decide(obs)
    q = newsvendor_quantity(poisson_demand(20.0), 3.0, 1.0)
    assert d.orders.tolist() == [q, q - 2]


def test_echelon_base_stock_uses_echelon_position_and_rations_short_warehouse() -> None:
    # row 0: warehouse with 50 on hand; rows 1, 2: its stores; row 3: a lone store.
    obs = ReplenishmentObservation.create(
        [50, 2, 2, 0], [[0], [0], [0], [0]], parent=[-1, 0, 0, -1]
    )
    d = EchelonBaseStock(base_stock=[70, 30, 31, 5]).decide(obs)
    # stores want 28 and 29 = 57 > 50 on hand: rationed in proportion, all 50 shipped
    assert d.orders[1] + d.orders[2] == 50
    assert abs(int(d.orders[1]) - 50 * 28 / 57) < 1 and abs(int(d.orders[2]) - 50 * 29 / 57) < 1
    # warehouse orders up to its echelon level: 70 - (50 + 2 + 2)
    assert d.orders[0] == 16
    assert d.orders[3] == 5


def test_echelon_base_stock_requires_two_level_parents() -> None:
    obs = ReplenishmentObservation.create([1, 1, 1], None, parent=[-1, 0, 1])
    with pytest.raises(ObservationError, match="parent"):
        EchelonBaseStock(5).decide(obs)


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("base_stock", {"base_stock": 9}),
        ("capped_base_stock", {"base_stock": 9, "cap": 4}),
        ("s_S", {"s": 4, "S": 9}),
        ("R_s_S", {"R": 2, "s": 4, "S": 9}),
        ("forecast_order_up_to", {"service_level": 0.9}),
        ("newsvendor", {"underage_cost": 9, "overage_cost": 1}),
    ],
)
def test_vectorised_decisions_equal_row_by_row_decisions(
    name: str, params: dict[str, float]
) -> None:
    rng = np.random.default_rng(0)
    n = 200
    obs = ReplenishmentObservation.create(
        rng.integers(0, 12, n),
        rng.integers(0, 4, (n, 2)),
        rng.integers(0, 3, n),
        demand_mean=rng.uniform(1, 6, n),
        demand_std=rng.uniform(0.5, 2, n),
        period=1,
    )
    policy = create("replenishment", name, params)
    assert isinstance(policy, ReplenishmentPolicy)
    together = policy.decide(obs).orders
    assert (together >= 0).all()
    for i in range(0, n, 17):
        row = ReplenishmentObservation.create(
            obs.on_hand[i : i + 1],
            obs.pipeline[i : i + 1],
            obs.backorders[i : i + 1],
            demand_mean=obs.demand_mean[i : i + 1],  # type: ignore[index]
            demand_std=obs.demand_std[i : i + 1],  # type: ignore[index]
            period=1,
        )
        assert policy.decide(row).orders[0] == together[i]


def test_observation_rejects_bad_shapes_and_negative_stock() -> None:
    with pytest.raises(ObservationError, match=r"pipeline must have shape \(2, L\)"):
        ReplenishmentObservation.create([1, 2], [[1, 2, 3]])
    with pytest.raises(ObservationError, match="on_hand must be >= 0, got min -1"):
        ReplenishmentObservation.create([-1, 2])
    with pytest.raises(ObservationError, match=r"demand_mean must be a scalar or shape \(2,\)"):
        ReplenishmentObservation.create([1, 2], demand_mean=[1, 2, 3])


def test_per_row_parameters_must_match_the_number_of_rows() -> None:
    from policies.registry import PolicyParameterError

    with pytest.raises(
        PolicyParameterError, match="base_stock has 3 values but the observation has 4 rows"
    ):
        BaseStock([1, 2, 3]).decide(_obs())
