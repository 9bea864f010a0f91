"""Forecasters by name, for the CLI, scenarios and benchmarks.

Every name in :data:`MODEL_NAMES` is also registered in :mod:`policies.registry` under kind
``"forecasting"``: ``create("forecasting", "ets", season_length=7)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from policies.forecasting.base import Forecaster
from policies.forecasting.baselines import (
    TSB,
    Croston,
    ExponentialSmoothing,
    MovingAverage,
    SeasonalNaive,
)
from policies.forecasting.ensemble import Ensemble
from policies.forecasting.errors import ForecastingError
from policies.forecasting.prophet_model import ProphetForecaster
from policies.registry import register

MODEL_NAMES: tuple[str, ...] = (
    "seasonal_naive",
    "moving_average",
    "ets",
    "ses",
    "croston",
    "sba",
    "tsb",
    "prophet",
    "ensemble",
)
DEFAULT_ENSEMBLE_MEMBERS: tuple[str, ...] = ("ets", "moving_average", "tsb")


def make_model(
    name: str,
    *,
    season_length: int = 7,
    window: int = 28,
    holidays_country: str | None = None,
    ensemble_members: Sequence[str] = DEFAULT_ENSEMBLE_MEMBERS,
    ensemble_combine: str = "median",
) -> Forecaster:
    """The forecaster called ``name`` (one of :data:`MODEL_NAMES`).

    ``season_length`` is periods per season (7 for daily data with a weekly cycle, 52 for
    weekly data with a yearly one); ``window`` is the moving average's length in periods.

    Raises:
        ForecastingError: an unknown name (also inside ``ensemble_members``).
    """
    if name == "seasonal_naive":
        return SeasonalNaive(season_length)
    if name == "moving_average":
        return MovingAverage(window)
    if name == "ets":
        return ExponentialSmoothing(season_length)
    if name == "ses":
        return ExponentialSmoothing(1, name="ses")
    if name == "croston":
        return Croston()
    if name == "sba":
        return Croston(sba=True, name="sba")
    if name == "tsb":
        return TSB()
    if name == "prophet":
        return ProphetForecaster(weekly=season_length == 7, holidays_country=holidays_country)
    if name == "ensemble":
        if "ensemble" in ensemble_members:
            raise ForecastingError("ensemble_members", list(ensemble_members), "cannot nest")
        members = tuple(
            make_model(
                m, season_length=season_length, window=window, holidays_country=holidays_country
            )
            for m in ensemble_members
        )
        if ensemble_combine not in ("median", "mean", "inverse_error"):
            raise ForecastingError(
                "ensemble_combine", ensemble_combine, "must be median, mean or inverse_error"
            )
        return Ensemble(members, combine=ensemble_combine)  # type: ignore[arg-type]
    raise ForecastingError("model", name, f"must be one of {', '.join(MODEL_NAMES)}")


def make_models(names: Sequence[str], **kwargs: object) -> list[Forecaster]:
    """Several models by name (see :func:`make_model` for the keyword arguments)."""
    return [make_model(n.strip(), **kwargs) for n in names if n.strip()]  # type: ignore[arg-type]


def _registered_factory(name: str) -> Callable[..., Forecaster]:
    def build(
        season_length: int = 7,
        window: int = 28,
        holidays_country: str | None = None,
        ensemble_members: Sequence[str] = DEFAULT_ENSEMBLE_MEMBERS,
        ensemble_combine: str = "median",
    ) -> Forecaster:
        return make_model(
            name,
            season_length=season_length,
            window=window,
            holidays_country=holidays_country,
            ensemble_members=ensemble_members,
            ensemble_combine=ensemble_combine,
        )

    build.__name__ = build.__qualname__ = f"forecaster_{name}"
    build.__doc__ = f"The {name!r} forecaster (see :func:`make_model`)."
    return build


for _name in MODEL_NAMES:
    register("forecasting", _name)(_registered_factory(_name))
