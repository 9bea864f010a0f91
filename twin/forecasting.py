"""Demand forecasts for the twin's replenishment policies, fitted on the twin's own history.

With ``forecast.source: model`` in the scenario, :class:`ForecastProvider` records every
SKU-location's daily sales from the twin's cumulative sale flows (what the commerce service
booked: point-of-sale batches and shipped online orders, so stock-outs censor it like real
sales data), fits the scenario's forecaster (:mod:`policies.forecasting`, by name) on the last
``history_days`` days every ``refit_days`` days, and hands the replenisher daily forecasts for
the coming lead time. Until ``min_history_days`` days are recorded, the scenario's average
daily demand per SKU-location (the opening plan, the same the initial levels use) stands in.

With ``known_events`` (the default), announced events are treated as a known multiplicative
regressor: the kernel's event uplift of a day (events and announced discounts against a plain
day, both from the demand model) is divided out of that day's recorded sales before fitting
and multiplies the forecast of a future day. With ``known_events: false`` the models see raw
sales and know nothing of the calendar.

Rows are the demand locations in kernel order (stores, then warehouses' online demand); time
is days; quantities units.
"""

from __future__ import annotations

import logging

import numpy as np

from policies.forecasting import ForecastingError, Panel, make_model
from policies.forecasting.base import FittedForecaster, Forecaster
from scenarios.sections import DemandForecast

__all__ = ["ForecastProvider"]

logger = logging.getLogger(__name__)


class ForecastProvider:
    """Daily demand forecasts per SKU-location from models fitted on the twin's sales.

    Args:
        config: the scenario's ``forecast`` section (``source: model``).
        plan: ``(n_rows, n_skus)`` the scenario's average daily demand (units/day), used until
            enough history is recorded.
        lead_horizon: the longest lead time in days (forecasts cover ``lead_horizon + 1`` days).
    """

    def __init__(self, config: DemandForecast, plan: np.ndarray, lead_horizon: int) -> None:
        self.config = config
        self.plan = np.asarray(plan, dtype=np.float64)
        self.n_rows, self.n_skus = self.plan.shape
        self.days_ahead = int(lead_horizon) + 1
        self.model: Forecaster = make_model(
            config.model,
            season_length=config.season_length,
            horizon=config.refit_days + self.days_ahead,
        )
        window = config.history_days
        self._sales = np.zeros((window, self.n_rows, self.n_skus), dtype=np.float32)
        self._uplift = np.ones((window, self.n_rows, self.n_skus), dtype=np.float32)
        self._recorded = 0  # days recorded so far
        self._last_cum: np.ndarray | None = None
        self._pending_uplift: np.ndarray | None = None
        self._fitted_on = -1  # the day of the last fit
        self._mean: np.ndarray | None = None  # (n_rows * n_skus, refit + days_ahead)
        self.fits = 0
        self.refused = 0  # refits the model refused (history still too short for it)
        self.last_source = "plan"

    @property
    def recorded_days(self) -> int:
        return self._recorded

    def observe(self, day: int, cumulative_sales: np.ndarray) -> None:
        """Record yesterday's sales from the cumulative sale flows ``(n_rows, n_skus)``.

        Called each morning before the day's decisions; the first call only sets the
        baseline. ``day`` is the current day.
        """
        cum = np.asarray(cumulative_sales, dtype=np.float64)
        if self._last_cum is not None and day >= 1:
            sold = np.maximum(cum - self._last_cum, 0.0)
            slot = self._recorded % self.config.history_days
            self._sales[slot] = sold
            self._uplift[slot] = 1.0 if self._pending_uplift is None else self._pending_uplift
            self._recorded += 1
        self._last_cum = cum.copy()

    def _history(self) -> np.ndarray:
        """``(n_rows * n_skus, T)`` recorded sales, oldest first, event uplift divided out."""
        t = min(self._recorded, self.config.history_days)
        idx = (self._recorded - t + np.arange(t)) % self.config.history_days
        sales = self._sales[idx].astype(np.float64)
        if self.config.known_events:
            sales = sales / np.maximum(self._uplift[idx].astype(np.float64), 1e-6)
        return sales.reshape(t, -1).T

    def _refit(self, day: int) -> bool:
        """Fit on the recorded history; False (and the previous fit kept) when the model
        cannot fit it yet, e.g. an ensemble whose validation windows need more days."""
        history = self._history()
        try:
            fitted: FittedForecaster = self.model.fit(Panel.from_arrays(history))
            fc = fitted.predict(self.config.refit_days + self.days_ahead)
        except ForecastingError as exc:
            if self.refused == 0:
                logger.warning(
                    "forecast model %s not fitted on day %d: %s", self.model.name, day, exc
                )
            self.refused += 1
            return False
        self._mean = np.maximum(np.nan_to_num(fc.mean), 0.0)
        self._fitted_on = day
        self.fits += 1
        return True

    def daily(self, day: int, uplift: np.ndarray | None = None) -> np.ndarray:
        """``(days_ahead, n_rows, n_skus)`` forecast demand for days ``day .. day+K-1``.

        ``uplift`` is the kernel's ``(days_ahead, n_rows, n_skus)`` event uplift of those days
        (1 on a plain day); with ``known_events`` it multiplies the forecast, and today's
        uplift is remembered to be divided out of today's sales once they are recorded.
        """
        k = self.days_ahead
        up = np.ones((k, self.n_rows, self.n_skus)) if uplift is None else uplift
        if self.config.known_events:
            self._pending_uplift = np.asarray(up[0], dtype=np.float64)
        else:
            up = np.ones_like(up)
        if self._recorded < self.config.min_history_days:
            self.last_source = "plan"
            return self.plan[None] * up
        if self._mean is None or day - self._fitted_on >= self.config.refit_days:
            self._refit(day)
        if self._mean is None or day - self._fitted_on >= self._mean.shape[1] - k + 1:
            self.last_source = "plan"  # no usable fit yet: the opening plan stands in
            return self.plan[None] * up
        off = day - self._fitted_on
        mean = self._mean[:, off : off + k].T.reshape(k, self.n_rows, self.n_skus)
        self.last_source = "model"
        out: np.ndarray = mean * up
        return out
