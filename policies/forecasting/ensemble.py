"""Forecast combinations: the median or mean of members, or weights learnt inside the history.

``combine="validated"`` (the default ensemble's) learns one weight per member on the last
``validation_windows`` windows of ``validation_horizon`` periods *of the training history it is
given* (fewer on a short history, leaving at least one window's length before the first): each
member is refitted on the history before each window and forecasts it; the weights are the
non-negative least-squares fit of the actual values (each series divided by its mean, so large
series do not dominate) on the members' forecasts, normalised to sum to 1 (``loss="l2"``), or
the non-negative least-absolute-deviations fit constrained to sum to 1 (``loss="l1"``, a linear
program): absolute error is minimised by the median of the predictive distribution, not its
mean, so ``l1`` weights suit MASE, WAPE and MAE. Then every member is refitted on the whole
history. A backtest hands ``fit`` only the periods before its test window, so the weights never
see it (``tests/policies/test_forecasting_ensemble_weights.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np

from policies.forecasting.base import FittedForecaster, Forecast, Forecaster, check_horizon_level
from policies.forecasting.errors import ForecastingError
from policies.forecasting.panel import Panel

Combine = Literal["median", "mean", "inverse_error", "validated"]
Loss = Literal["l2", "l1"]
COMBINES: tuple[str, ...] = ("median", "mean", "inverse_error", "validated")


@dataclass(frozen=True, slots=True)
class Ensemble:
    """Combine member forecasts period by period.

    ``median`` and ``mean`` combine the members' means, stds and interval bounds with the same
    statistic. ``inverse_error`` weights member ``k`` for series ``i`` by ``1 / MAE_ki`` measured
    on the last ``validation_horizon`` periods of the history (members refitted without them),
    then refits every member on the full history.
    """

    members: tuple[Forecaster, ...]
    combine: Combine = "median"
    validation_horizon: int = 14
    validation_windows: int = 2
    loss: Loss = "l2"
    name: str = "ensemble"

    def __post_init__(self) -> None:
        if not self.members:
            raise ForecastingError("members", self.members, "an ensemble needs at least one")
        if self.combine not in COMBINES:
            raise ForecastingError("combine", self.combine, f"must be one of {list(COMBINES)}")
        if self.validation_windows < 1:
            raise ForecastingError("validation_windows", self.validation_windows, "must be >= 1")
        if self.loss not in ("l2", "l1"):
            raise ForecastingError("loss", self.loss, "must be 'l2' or 'l1'")

    @property
    def global_model(self) -> bool:
        """True when the fit learns across series (then the panel is never split): a member
        does, or the ``validated`` weights, which are shared by every series of the panel."""
        return self.combine == "validated" or any(
            getattr(m, "global_model", False) for m in self.members
        )

    @property
    def uses_regressors(self) -> bool:
        """True when a member uses the panel's regressors."""
        return any(getattr(m, "uses_regressors", False) for m in self.members)

    @property
    def vectorised(self) -> bool:
        """True when every member fits all series in one vectorised pass."""
        return all(getattr(m, "vectorised", False) for m in self.members)

    def fit(self, history: Panel) -> FittedEnsemble:
        weights = None
        if self.combine == "inverse_error":
            weights = self._weights(history)
        elif self.combine == "validated":
            weights = self.validated_weights(history)[:, None] * np.ones((1, history.n_series))
        fitted = tuple(m.fit(history) for m in self.members)
        return FittedEnsemble(self.name, self.combine, fitted, weights)

    def validated_weights(self, history: Panel) -> np.ndarray:
        """``(n_members,)`` weights learnt on the last validation windows of ``history`` only.

        Raises:
            ForecastingError: the history is too short for the validation windows.
        """
        from scipy.optimize import nnls

        v, k, t = self.validation_horizon, self.validation_windows, history.n_periods
        # fewer windows on a short history, keeping at least v periods before the first one
        while k > 1 and t - k * v < max(2, v):
            k -= 1
        if v < 1 or t - k * v < 2:
            raise ForecastingError(
                "validation_horizon", v, f"{k} windows need 1 <= v <= {(t - 2) // k} periods"
            )
        preds: list[list[np.ndarray]] = [[] for _ in self.members]
        actuals: list[np.ndarray] = []
        for w in range(k):
            cut = t - (k - w) * v
            train = history.slice_time(0, cut)
            future = {name: a[:, cut : cut + v] for name, a in history.regressors.items()}
            with np.errstate(invalid="ignore"):
                scale = np.nanmean(np.abs(train.values), axis=1, keepdims=True)
            scale = np.where(np.isfinite(scale) & (scale > 0), scale, 1.0)
            actuals.append(history.values[:, cut : cut + v] / scale)
            for j, m in enumerate(self.members):
                fc = m.fit(train).predict(v, future_regressors=future)
                preds[j].append(fc.mean / scale)
        a = np.concatenate([x.ravel() for x in actuals])
        x = np.column_stack([np.concatenate([p.ravel() for p in col]) for col in preds])
        ok = np.isfinite(a) & np.all(np.isfinite(x), axis=1)
        if not ok.any():
            return np.full(len(self.members), 1.0 / len(self.members))
        if self.loss == "l1":
            return _lad_simplex(x[ok], a[ok])
        w_raw, _ = nnls(x[ok], a[ok])
        total = w_raw.sum()
        if not np.isfinite(total) or total <= 0:
            return np.full(len(self.members), 1.0 / len(self.members))
        out: np.ndarray = w_raw / total
        return out

    def _weights(self, history: Panel) -> np.ndarray:
        v = self.validation_horizon
        t = history.n_periods
        if v < 1 or t - v < 2:
            raise ForecastingError("validation_horizon", v, f"needs 1 <= v <= {t - 2} periods")
        train = history.slice_time(0, t - v)
        actual = history.values[:, t - v :]
        future = {k: a[:, t - v :] for k, a in history.regressors.items()}
        maes = []
        for m in self.members:
            fc = m.fit(train).predict(v, future_regressors=future)
            maes.append(np.nanmean(np.abs(fc.mean - actual), axis=1))
        mae = np.nan_to_num(np.asarray(maes), nan=np.inf)
        inv = 1.0 / np.maximum(mae, 1e-9)
        total = inv.sum(axis=0, keepdims=True)
        return np.where(total > 0, inv / np.where(total > 0, total, 1.0), 1.0 / len(maes))


@dataclass(frozen=True, slots=True, eq=False)
class FittedEnsemble:
    """Fitted members plus, for ``inverse_error``, weights ``(n_members, n_series)``."""

    model: str
    combine: Combine
    members: tuple[FittedForecaster, ...]
    weights: np.ndarray | None

    def predict(
        self,
        horizon: int,
        *,
        level: float = 0.8,
        future_regressors: Mapping[str, np.ndarray] | None = None,
    ) -> Forecast:
        check_horizon_level(horizon, level)
        fcs = [
            m.predict(horizon, level=level, future_regressors=future_regressors)
            for m in self.members
        ]

        def comb(attr: str) -> np.ndarray:
            stack = np.stack([getattr(f, attr) for f in fcs])
            out: np.ndarray
            if self.combine == "median":
                out = np.median(stack, axis=0)
            elif self.combine == "mean" or self.weights is None:
                out = stack.mean(axis=0)
            else:
                out = np.einsum("kn,knh->nh", self.weights, stack)
            return out

        first = fcs[0]
        return Forecast(
            model=self.model,
            ids=first.ids,
            dates=first.dates,
            mean=comb("mean"),
            std=comb("std"),
            lower=comb("lower"),
            upper=comb("upper"),
            level=level,
        )


def _lad_simplex(x: np.ndarray, a: np.ndarray, max_rows: int = 20_000) -> np.ndarray:
    """Weights ``w >= 0, sum(w) = 1`` minimising ``sum |a - x w|`` (a linear program, HiGHS).

    Above ``max_rows`` observations an evenly strided subset of them is used.
    """
    from scipy import sparse
    from scipy.optimize import linprog

    if len(a) > max_rows:
        keep = np.linspace(0, len(a) - 1, max_rows).astype(np.int64)
        x, a = x[keep], a[keep]
    n, k = x.shape
    # variables: w (k), then the positive and the negative parts of the n residuals
    cost = np.concatenate([np.zeros(k), np.ones(2 * n)])
    eye = sparse.identity(n, format="csr")
    eq = sparse.vstack(
        [
            sparse.hstack([sparse.csr_matrix(x), eye, -eye]),
            sparse.csr_matrix(np.concatenate([np.ones(k), np.zeros(2 * n)])[None, :]),
        ],
        format="csr",
    )
    rhs = np.concatenate([a, [1.0]])
    res = linprog(cost, A_eq=eq, b_eq=rhs, bounds=(0, None), method="highs")
    if not res.success:
        return np.full(k, 1.0 / k)
    w: np.ndarray = np.maximum(res.x[:k], 0.0)
    return w / w.sum() if w.sum() > 0 else np.full(k, 1.0 / k)
