"""The shared demand kernel: expected demand for every SKU-location at once, and sampling.

Time: one simulated day is 1.0 time unit; ``day`` is days since the scenario's ``start_date``
(day 0.0 is midnight at its start); the calendar day used for weekday, day of year and
holidays is ``start_date + floor(day)``. Rates are units/day; prices are cents.

For SKU ``i`` at location ``j`` on day ``d`` the expected demand is::

    rate[i, j] = base_rate[i, j]
                 * weekly[weekday(d)]                                   # Monday = 0
                 * (1 + yearly_amplitude * cos(2π (doy(d) - yearly_peak_day) / 365.25))
                 * product of holiday multipliers on d
                 * product over active events e of event_factor_e[i, j]
                 * (price[i, j] / list_price[i]) ** elasticity[i]       # elasticity <= 0
                 * (0 if location j is closed on d else 1)

where an event active on ``day`` (``start_day <= day < end_day``) multiplies the SKU-locations
in its scope by ``multiplier * category_multipliers[category[i]]``. With a flat week, no
yearly amplitude, no holidays or events and prices at list, the rate is exactly ``base_rate``
(multiplications by 1.0 are exact): the theory scenario's Poisson(λ) is exactly λ.

Used event by event by the SimPy twin and batched by the Gymnasium environments; everything is
vectorised over SKUs and locations (no Python loop over SKUs).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import overload

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DemandEvent",
    "DemandParams",
    "HolidayEffect",
    "calendar_multiplier",
    "demand_rates",
    "discount_fractions",
    "event_factors",
    "poisson_cdf_table",
    "price_factors",
    "sample_arrival_times",
    "sample_demand",
    "sample_demand_from_table",
    "sample_demand_periods",
]

YEAR_DAYS = 365.25


@dataclass(frozen=True, slots=True)
class HolidayEffect:
    """A holiday: on ``when`` (every year on its month and day if ``recurring``) demand is
    multiplied by ``multiplier``."""

    when: date
    multiplier: float = 1.0
    recurring: bool = True
    stores_closed: bool = False

    def applies(self, on: date) -> bool:
        if self.recurring:
            return (on.month, on.day) == (self.when.month, self.when.day)
        return on == self.when


@dataclass(frozen=True, slots=True)
class DemandEvent:
    """A demand-changing event over ``[start_day, end_day)`` (simulated days).

    Within scope (``sku_mask`` x ``location_mask``, None meaning all) demand is multiplied by
    ``multiplier * category_multipliers[category]``. ``discount`` is the price cut (0..1) of a
    flash sale, reported by :func:`discount_fractions`; demand responds to it only through the
    prices passed to :func:`demand_rates` (elasticity), never twice. ``closes_locations``
    closes the in-scope locations (a holiday with closed stores).
    """

    start_day: float
    end_day: float
    multiplier: float = 1.0
    category_multipliers: np.ndarray | None = None
    sku_mask: np.ndarray | None = None
    location_mask: np.ndarray | None = None
    discount: float = 0.0
    closes_locations: bool = False
    name: str = ""

    def __post_init__(self) -> None:
        if not self.end_day > self.start_day:
            raise ValueError(
                f"event {self.name!r}: end_day {self.end_day} is not after "
                f"start_day {self.start_day}"
            )
        if not (math.isfinite(self.multiplier) and self.multiplier >= 0):
            raise ValueError(
                f"event {self.name!r}: negative or non-finite multiplier {self.multiplier}"
            )
        if not 0.0 <= self.discount < 1.0:
            raise ValueError(f"event {self.name!r}: discount {self.discount} is not in [0, 1)")

    def active(self, day: float) -> bool:
        return self.start_day <= day < self.end_day


@dataclass(frozen=True, slots=True)
class DemandParams:
    """Parameters of the demand model for ``n_skus`` SKUs at ``n_locations`` locations.

    Attributes:
        base_rate: (n_skus, n_locations) units/day at list price on a flat calendar.
        category: (n_skus,) category index of each SKU, in ``0..n_categories-1``.
        list_price_cents: (n_skus,) list prices (cents, > 0).
        elasticity: (n_skus,) price elasticities (<= 0).
        weekly: (7,) multipliers Monday..Sunday.
        yearly_amplitude, yearly_peak_day: the yearly cosine (amplitude in [0, 1)).
        start_date: the calendar date of day 0.
        holidays: holiday multipliers by date.
        closed_weekdays: (7, n_locations) bool, True where a location is closed that weekday.
        store_mask: (n_locations,) bool, True for stores (holiday closures apply to stores only).
        n_categories: number of categories.
        segment_weights, segment_sensitivity: (K,) optional customer-segment mixture: the
            price factor is ``sum_k weight_k * (price/list) ** (elasticity * sensitivity_k)``
            (weights: each segment's share of units demanded, summing to 1). None: one segment
            with sensitivity 1, i.e. ``(price/list) ** elasticity``.
    """

    base_rate: np.ndarray
    category: np.ndarray
    list_price_cents: np.ndarray
    elasticity: np.ndarray
    weekly: np.ndarray = field(default_factory=lambda: np.ones(7))
    yearly_amplitude: float = 0.0
    yearly_peak_day: int = 1
    start_date: date = date(2026, 1, 1)
    holidays: tuple[HolidayEffect, ...] = ()
    closed_weekdays: np.ndarray | None = None
    store_mask: np.ndarray | None = None
    n_categories: int = 1
    segment_weights: np.ndarray | None = None
    segment_sensitivity: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.base_rate.ndim != 2:
            raise ValueError(
                f"base_rate must be (n_skus, n_locations), got shape {self.base_rate.shape}"
            )
        n_skus, n_loc = self.base_rate.shape
        if np.any(self.base_rate < 0) or not np.all(np.isfinite(self.base_rate)):
            raise ValueError("base_rate has negative or non-finite entries")
        for name in ("category", "list_price_cents", "elasticity"):
            shape = getattr(self, name).shape
            if shape != (n_skus,):
                raise ValueError(f"{name} has shape {shape}, expected ({n_skus},)")
        if self.weekly.shape != (7,) or np.any(self.weekly < 0):
            raise ValueError(f"weekly must be 7 non-negative multipliers, got {self.weekly!r}")
        if np.any(self.list_price_cents <= 0):
            raise ValueError("list_price_cents must be positive")
        if np.any(self.elasticity > 0):
            raise ValueError("elasticity must be <= 0")
        if n_skus and (self.category.min() < 0 or self.category.max() >= self.n_categories):
            raise ValueError(f"category indices outside 0..{self.n_categories - 1}")
        if not 0.0 <= self.yearly_amplitude < 1.0:
            raise ValueError(f"yearly_amplitude {self.yearly_amplitude} is not in [0, 1)")
        if self.closed_weekdays is not None and self.closed_weekdays.shape != (7, n_loc):
            raise ValueError(
                f"closed_weekdays has shape {self.closed_weekdays.shape}, expected (7, {n_loc})"
            )
        if self.store_mask is not None and self.store_mask.shape != (n_loc,):
            raise ValueError(f"store_mask has shape {self.store_mask.shape}, expected ({n_loc},)")
        if (self.segment_weights is None) != (self.segment_sensitivity is None):
            raise ValueError("give both segment_weights and segment_sensitivity, or neither")
        if self.segment_weights is not None and self.segment_sensitivity is not None:
            w, sens = self.segment_weights, self.segment_sensitivity
            if w.ndim != 1 or w.shape != sens.shape:
                raise ValueError(
                    f"segment arrays have shapes {w.shape} and {sens.shape}, expected (K,)"
                )
            if np.any(w < 0) or abs(float(w.sum()) - 1.0) > 1e-9 or np.any(sens < 0):
                raise ValueError(
                    "segment_weights must be >= 0 and sum to 1, segment_sensitivity >= 0"
                )

    @property
    def n_skus(self) -> int:
        return int(self.base_rate.shape[0])

    @property
    def n_locations(self) -> int:
        return int(self.base_rate.shape[1])

    def date_of(self, day: float) -> date:
        """The calendar date of simulated ``day``."""
        return self.start_date + timedelta(days=math.floor(day))


def calendar_multiplier(params: DemandParams, day: float) -> float:
    """Weekly x yearly x holiday multiplier of ``day`` (the same for every SKU-location)."""
    on = params.date_of(day)
    mult = float(params.weekly[on.weekday()])
    if params.yearly_amplitude:
        doy = on.timetuple().tm_yday
        mult *= 1.0 + params.yearly_amplitude * math.cos(
            2.0 * math.pi * (doy - params.yearly_peak_day) / YEAR_DAYS
        )
    for h in params.holidays:
        if h.applies(on):
            mult *= h.multiplier
    return mult


def _open_mask(params: DemandParams, day: float) -> np.ndarray | None:
    """(n_locations,) bool, False where the location is closed on ``day``; None if all open."""
    on = params.date_of(day)
    closed = np.zeros(params.n_locations, dtype=bool)
    if params.closed_weekdays is not None:
        closed |= params.closed_weekdays[on.weekday()]
    if any(h.stores_closed and h.applies(on) for h in params.holidays):
        closed |= params.store_mask if params.store_mask is not None else True
    return ~closed if closed.any() else None


def event_factors(
    params: DemandParams, day: float, events: tuple[DemandEvent, ...] | list[DemandEvent]
) -> np.ndarray | None:
    """(n_skus, n_locations) product of the multipliers of events active on ``day``; None if
    none is active."""
    factor: np.ndarray | None = None
    for ev in events:
        if not ev.active(day):
            continue
        per_sku = np.full(params.n_skus, ev.multiplier)
        if ev.category_multipliers is not None:
            per_sku *= ev.category_multipliers[params.category]
        if ev.sku_mask is not None:
            per_sku = np.where(ev.sku_mask, per_sku, 1.0)
        if factor is None:
            factor = np.ones((params.n_skus, params.n_locations))
        if ev.location_mask is None:
            factor *= per_sku[:, None]
        else:
            factor[:, ev.location_mask] *= per_sku[:, None]
        if ev.closes_locations:
            closed = ev.location_mask if ev.location_mask is not None else slice(None)
            scope = ev.sku_mask if ev.sku_mask is not None else slice(None)
            factor[
                np.ix_(np.arange(params.n_skus)[scope], np.arange(params.n_locations)[closed])
            ] = 0.0
    return factor


def price_factors(params: DemandParams, prices_cents: np.ndarray) -> np.ndarray:
    """Demand multiplier of selling at ``prices_cents``: ``(price / list_price) ** elasticity``.

    With a segment mixture, ``sum_k weight_k * (price / list) ** (elasticity * sensitivity_k)``.
    Shape of ``prices_cents``: (n_skus,) or (n_skus, n_locations).

    Raises:
        ValueError: on a non-positive price or a wrong shape.
    """
    prices = np.asarray(prices_cents, dtype=np.float64)
    if prices.shape not in ((params.n_skus,), params.base_rate.shape):
        raise ValueError(
            f"prices have shape {prices.shape}, expected ({params.n_skus},) or "
            f"{params.base_rate.shape}"
        )
    if np.any(prices <= 0):
        raise ValueError("prices must be positive (cents)")
    if prices.ndim == 1:
        ratio, elasticity = prices / params.list_price_cents, params.elasticity
    else:
        ratio, elasticity = prices / params.list_price_cents[:, None], params.elasticity[:, None]
    if params.segment_weights is None or params.segment_sensitivity is None:
        single: np.ndarray = np.power(ratio, elasticity)
        return single
    total: np.ndarray = np.zeros_like(ratio)
    for weight, sensitivity in zip(params.segment_weights, params.segment_sensitivity, strict=True):
        total += weight * np.power(ratio, elasticity * sensitivity)
    return total


def demand_rates(
    params: DemandParams,
    day: float,
    prices_cents: np.ndarray | None = None,
    events: tuple[DemandEvent, ...] | list[DemandEvent] = (),
    *,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Expected demand (units/day) of every SKU-location on ``day``: (n_skus, n_locations).

    Args:
        params: the demand parameters.
        day: simulated days since start (the calendar day is ``floor(day)``; events are checked
            at ``day`` itself, so pass e.g. ``d + 0.5`` for a mid-day view).
        prices_cents: selling prices, (n_skus,) or (n_skus, n_locations); None: list prices.
        events: demand events; only those active at ``day`` apply.
        out: optional (n_skus, n_locations) float64 array to write into (saves an allocation).

    Raises:
        ValueError: on a non-positive price or a wrongly shaped ``out``.
    """
    shape = params.base_rate.shape
    if out is None:
        out = np.empty(shape)
    elif out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, expected {shape}")
    np.multiply(params.base_rate, calendar_multiplier(params, day), out=out)
    factor = event_factors(params, day, events)
    if factor is not None:
        out *= factor
    if prices_cents is not None:
        pf = price_factors(params, prices_cents)
        out *= pf[:, None] if pf.ndim == 1 else pf
    open_mask = _open_mask(params, day)
    if open_mask is not None:
        out[:, ~open_mask] = 0.0
    return out


def discount_fractions(
    params: DemandParams, day: float, events: tuple[DemandEvent, ...] | list[DemandEvent]
) -> np.ndarray:
    """(n_skus, n_locations) price cut (0..1) from active flash sales: the largest in scope."""
    cut = np.zeros(params.base_rate.shape)
    for ev in events:
        if not ev.active(day) or ev.discount == 0.0:
            continue
        per_sku = np.full(params.n_skus, ev.discount)
        if ev.sku_mask is not None:
            per_sku = np.where(ev.sku_mask, per_sku, 0.0)
        if ev.location_mask is None:
            np.maximum(cut, per_sku[:, None], out=cut)
        else:
            cut[:, ev.location_mask] = np.maximum(cut[:, ev.location_mask], per_sku[:, None])
    return cut


@overload
def sample_demand(rng: np.random.Generator, rates: float, days: float = 1.0) -> int: ...


@overload
def sample_demand(
    rng: np.random.Generator, rates: NDArray[np.float64], days: float = 1.0
) -> NDArray[np.int64]: ...


def sample_demand(
    rng: np.random.Generator, rates: float | NDArray[np.float64], days: float = 1.0
) -> int | NDArray[np.int64]:
    """Poisson demand (units) over ``days`` at ``rates`` (units/day or units/period).

    An array gives an int64 array of the same shape; a Python float gives an ``int`` (the
    single-env fast path). The draws are those of ``rng.poisson`` either way.

    Raises:
        ValueError: on a negative duration.
    """
    if days < 0:
        raise ValueError(f"negative duration {days}")
    if isinstance(rates, np.ndarray):
        return np.asarray(rng.poisson(rates * days if days != 1.0 else rates), dtype=np.int64)
    return int(rng.poisson(rates * days))


def sample_demand_periods(rng: np.random.Generator, rate: float, periods: int) -> NDArray[np.int64]:
    """``periods`` i.i.d. Poisson(``rate``) demands (int64 units) for one SKU-location: the same
    draws as :func:`sample_demand` on ``periods`` copies of ``rate``, without building them."""
    if periods < 0:
        raise ValueError(f"negative number of periods {periods}")
    return np.asarray(rng.poisson(rate, periods), dtype=np.int64)


def poisson_cdf_table(mean: float, tail: float = 1e-16) -> NDArray[np.float64]:
    """Cumulative Poisson(``mean``) probabilities ``P(D <= k)`` for ``k = 0 .. top - 1``.

    ``top`` is where the upper tail falls below ``tail``; :func:`sample_demand_from_table`
    draws by inverse CDF on this table (for one mean shared by many SKU-locations this is
    several times faster than ``Generator.poisson``). NumPy only: the pmf is built in log space.

    Raises:
        ValueError: on a negative or non-finite mean.
    """
    if not (math.isfinite(mean) and mean >= 0):
        raise ValueError(f"Poisson mean must be finite and >= 0, got {mean}")
    if mean == 0:
        return np.ones(1)
    k_max = math.ceil(mean + 40.0 * math.sqrt(mean) + 40.0)
    k = np.arange(1, k_max + 1, dtype=np.float64)
    log_pmf = -mean + np.concatenate([[0.0], np.cumsum(math.log(mean) - np.log(k))])
    pmf = np.exp(log_pmf)
    upper = np.cumsum(pmf[::-1])[::-1]  # P(D >= k), summed from the small end for accuracy
    survival = np.append(upper[1:], 0.0)  # P(D > k)
    top = int(np.argmax(survival <= tail)) + 2
    return np.asarray(np.cumsum(pmf[:top])[:-1], dtype=np.float64)


def sample_demand_from_table(
    rng: np.random.Generator, cdf: NDArray[np.float64], shape: tuple[int, ...]
) -> NDArray[np.int64]:
    """Poisson draws (int64 units) of ``shape`` by inverse CDF on :func:`poisson_cdf_table`."""
    u = rng.random(shape)
    return np.asarray(np.searchsorted(cdf, u, side="right"), dtype=np.int64)


def sample_arrival_times(
    rng: np.random.Generator,
    n: int,
    hourly_profile: np.ndarray | None = None,
    open_hour: float = 0.0,
    close_hour: float = 24.0,
) -> np.ndarray:
    """``n`` sorted arrival times within one day, as fractions of a day in ``[0, 1)``.

    Given the day's count ``n`` (e.g. from :func:`sample_demand`), the times of a
    non-homogeneous Poisson process on that day are i.i.d. with density proportional to the
    intensity: here ``hourly_profile`` (24 relative weights, piecewise constant per hour; None:
    flat) restricted to ``[open_hour, close_hour)``.

    Raises:
        ValueError: if the profile has no weight inside the opening hours while ``n > 0``.
    """
    if n < 0:
        raise ValueError(f"negative arrival count {n}")
    if not 0.0 <= open_hour < close_hour <= 24.0:
        raise ValueError(f"opening hours {open_hour}..{close_hour} are not within 0..24")
    profile = (
        np.ones(24) if hourly_profile is None else np.asarray(hourly_profile, dtype=np.float64)
    )
    hours = np.arange(24.0)
    # the open part of each hour [h, h+1) ∩ [open, close)
    overlap = np.clip(np.minimum(hours + 1.0, close_hour) - np.maximum(hours, open_hour), 0.0, 1.0)
    weights = profile * overlap
    total = weights.sum()
    if n == 0:
        return np.empty(0)
    if total <= 0:
        raise ValueError("hourly_profile has no weight within the opening hours")
    hour = rng.choice(24, size=n, p=weights / total)
    lo = np.maximum(hours[hour], open_hour)
    times = lo + rng.random(n) * overlap[hour]
    times.sort()
    out: np.ndarray = times / 24.0
    return out
