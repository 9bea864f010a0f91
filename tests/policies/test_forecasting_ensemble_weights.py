"""The validated ensemble learns its weights inside the training history, never the test window."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pytest

from policies.forecasting import Ensemble, ExponentialSmoothing, Forecast, Panel, backtest
from policies.forecasting.base import normal_forecast

T_TRAIN = 140
HORIZON = 14


def truth() -> np.ndarray:
    rng = np.random.default_rng(11)
    week = np.array([5.0, 1.0, 2.0, 3.0, 4.0, 8.0, 9.0])
    t = T_TRAIN + HORIZON
    return 20.0 + week[np.arange(t) % 7] + rng.normal(0.0, 2.0, (3, t))


@dataclass(frozen=True, slots=True, eq=False)
class _OracleFit:
    history: Panel
    full: np.ndarray

    def predict(
        self,
        horizon: int,
        *,
        level: float = 0.8,
        future_regressors: Mapping[str, np.ndarray] | None = None,
    ) -> Forecast:
        start = self.history.n_periods
        rows = [int(i) for i in self.history.ids]
        if start >= T_TRAIN:  # the test window: it knows the answer
            mean = self.full[rows, start : start + horizon]
        else:  # inside the training data it is useless
            mean = np.full((len(rows), horizon), 100.0)
        return normal_forecast("oracle", self.history, mean, np.ones_like(mean), level)


@dataclass(frozen=True, slots=True)
class Oracle:
    """Perfect on the test window, terrible anywhere else: wins only by seeing the test window."""

    full: np.ndarray
    name: str = "oracle"

    def fit(self, history: Panel) -> _OracleFit:
        return _OracleFit(history, self.full)


def ensemble(full: np.ndarray) -> Ensemble:
    return Ensemble(
        (Oracle(full), ExponentialSmoothing(7)),
        combine="validated",
        validation_horizon=HORIZON,
        validation_windows=2,
    )


def test_validated_weights_ignore_a_member_that_only_wins_on_the_test_window() -> None:
    full = truth()
    history = Panel.from_arrays(full[:, :T_TRAIN])
    weights = ensemble(full).validated_weights(history)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] < 0.05


def test_the_leakage_check_can_fail_a_peeking_ensemble() -> None:
    # Control: weights learnt on windows that include the test window go to the oracle.
    full = truth()
    peek = Panel.from_arrays(full)
    shifted = Ensemble(
        (Oracle(full), ExponentialSmoothing(7)),
        combine="validated",
        validation_horizon=HORIZON,
        validation_windows=1,
    )
    assert shifted.validated_weights(peek)[0] > 0.9


def test_backtest_of_the_validated_ensemble_matches_its_honest_member() -> None:
    full = truth()
    panel = Panel.from_arrays(full)
    model = ensemble(full)
    result = backtest(
        panel, [model, ExponentialSmoothing(7)], horizon=HORIZON, folds=1, scale_lag=7
    )
    summary = result.summary().set_index("model")
    # The oracle is perfect on the test window; had its weight been learnt there, MASE ~ 0.
    assert summary.loc["ensemble", "mase"] == pytest.approx(summary.loc["ets", "mase"], rel=0.1)
    assert summary.loc["ensemble", "mase"] > 0.3


def test_validated_weights_refuse_a_history_too_short_for_one_window() -> None:
    from policies.forecasting import ForecastingError

    with pytest.raises(ForecastingError, match="validation_horizon"):
        ensemble(truth()).validated_weights(Panel.from_arrays(truth()[:, : HORIZON + 1]))


def test_a_short_history_gets_fewer_validation_windows_not_an_error() -> None:
    full = truth()
    weights = ensemble(full).validated_weights(Panel.from_arrays(full[:, : 2 * HORIZON + 1]))
    assert weights.sum() == pytest.approx(1.0)


def test_l1_weights_fit_the_median_of_skewed_errors_and_sum_to_one() -> None:
    from policies.forecasting.ensemble import _lad_simplex

    rng = np.random.default_rng(0)
    truth_ = rng.exponential(1.0, 400)  # skewed: median ln 2 ~ 0.69, mean 1
    members = np.column_stack([np.full(400, 1.0), np.full(400, 0.5)])  # mean-ish, median-ish
    w = _lad_simplex(members, truth_)
    assert w.sum() == pytest.approx(1.0) and (w >= 0).all()
    assert members @ w == pytest.approx(np.full(400, np.median(truth_)), abs=0.02)
