"""The value of shelf cameras: phantom inventory, staff restocking, availability, lost sales.

A vectorised store-shelf model over ``(replications, SKUs)`` in hourly steps, with and without
cameras, under common random numbers (both arms see the same demand and shrink draws, so their
difference has far less noise than either arm). Demand uses the shared kernel
:func:`dynamics.demand.sample_demand`.

Per SKU and hour (store open ``open_hour..close_hour``):

- shoppers buy ``min(demand, shelf)``; the rest is a lost sale; POS lowers the ledger;
- *shrink* (theft, damage, mis-scans) removes a unit from the shelf without touching the ledger:
  from then on the ledger overstates stock (*phantom inventory*);
- the store orders from the DC once a day on the *ledger*: order-up-to ``order_up_to_days`` of
  demand on ledger plus pipeline, delivered to the backroom ``lead_time_days`` later. Phantom
  stock therefore suppresses orders: a SKU can sit at zero while the system believes it holds
  units, until a cycle count (every ``audit_days``, random phase) resets the ledger;
- staff walk the aisles once a day before opening and fill every shelf from the backroom.

With cameras, :class:`ShelfMonitor` scans every ``scan_interval_h``: a gap (shelf at or below
``low_units``) is seen with probability ``recall`` (from the vision benchmark), a full shelf is
misreported with probability ``false_gap_rate``. A seen gap opens a restock task done after an
exponential delay (mean ``restock_delay_h``): staff fill the shelf from the backroom; when the
backroom is empty while the ledger says stock, the task confirms phantom inventory and the
ledger is set to the count (what ``POST /shelf/observations`` flags in the API).

Twin hook: the twin calls :meth:`ShelfMonitor.step` once per simulated hour with its shelf and
ledger arrays and applies the returned :class:`MonitorActions` (restock now, phantom confirmed)
through ``CommerceClient``; :func:`compare_cameras` is the stand-alone experiment.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from dynamics.demand import sample_demand
from edge_sim.errors import ConfigError

__all__ = [
    "CameraValue",
    "MonitorActions",
    "MonitorConfig",
    "ShelfMonitor",
    "StoreShelfConfig",
    "compare_cameras",
    "simulate_store",
]


@dataclass(frozen=True, slots=True)
class StoreShelfConfig:
    """One store's shelves (units: units of stock, hours, days, cents)."""

    n_skus: int = 200
    days: int = 28
    open_hour: int = 8
    close_hour: int = 22
    mean_daily_demand: float = 4.0
    shelf_days: float = 1.5
    order_up_to_days: float = 6.0
    lead_time_days: int = 2
    shrink_per_day: float = 0.04
    audit_days: int = 45
    restock_walk_hour: int = 7
    price_cents: int = 349

    def __post_init__(self) -> None:
        if self.n_skus < 1 or self.days < 1:
            raise ConfigError(f"n_skus {self.n_skus} and days {self.days} must be >= 1")
        if not 0 <= self.open_hour < self.close_hour <= 24:
            raise ConfigError(f"opening hours {self.open_hour}..{self.close_hour} invalid")
        if self.mean_daily_demand <= 0 or self.shrink_per_day < 0:
            raise ConfigError(
                f"mean_daily_demand {self.mean_daily_demand} / shrink {self.shrink_per_day}"
            )
        if self.lead_time_days < 0 or self.audit_days < 1:
            raise ConfigError(
                f"lead_time_days {self.lead_time_days} / audit_days {self.audit_days}"
            )


@dataclass(frozen=True, slots=True)
class MonitorConfig:
    """Camera monitoring: scan interval, detection quality, restock delay (hours)."""

    scan_interval_h: int = 1
    recall: float = 0.96
    false_gap_rate: float = 0.002
    restock_delay_h: float = 1.5
    low_units: int = 0

    def __post_init__(self) -> None:
        if self.scan_interval_h < 1:
            raise ConfigError(f"scan_interval_h {self.scan_interval_h} < 1")
        if not (0 <= self.recall <= 1 and 0 <= self.false_gap_rate <= 1):
            raise ConfigError(f"recall {self.recall} / false_gap_rate {self.false_gap_rate}")
        if self.restock_delay_h < 0:
            raise ConfigError(f"restock_delay_h {self.restock_delay_h} < 0")


@dataclass(frozen=True, slots=True)
class MonitorActions:
    """What the camera loop asks for this hour: restock these SKUs now (bool arrays)."""

    restock: np.ndarray
    gap_seen: np.ndarray


class ShelfMonitor:
    """Camera-driven restock tasks for an array of shelves (any shape), one call per hour."""

    def __init__(self, cfg: MonitorConfig, shape: tuple[int, ...]) -> None:
        self.cfg = cfg
        self._due = np.full(shape, np.inf)

    def step(self, hour: int, shelf: np.ndarray, rng: np.random.Generator) -> MonitorActions:
        """Scan (every ``scan_interval_h``), open tasks for seen gaps, return tasks due now."""
        c = self.cfg
        seen = np.zeros(shelf.shape, bool)
        if hour % c.scan_interval_h == 0:
            u = rng.random(shelf.shape)
            gap = shelf <= c.low_units
            seen = np.where(gap, u < c.recall, u < c.false_gap_rate)
            new = seen & np.isinf(self._due)
            delay = rng.exponential(max(c.restock_delay_h, 1e-9), size=shelf.shape)
            self._due = np.where(new, hour + delay, self._due)
        due = self._due <= hour + 1  # done within this hour
        self._due = np.where(due, np.inf, self._due)
        return MonitorActions(restock=due, gap_seen=seen)


@dataclass(frozen=True, slots=True)
class ArmResult:
    """Per replication: availability (share of open SKU-hours with stock on the shelf), units
    lost, units demanded, phantom SKU-hours (ledger > 0, shelf and backroom empty)."""

    availability: np.ndarray
    lost_units: np.ndarray
    demand_units: np.ndarray
    phantom_hours: np.ndarray


def simulate_store(
    cfg: StoreShelfConfig, monitor: MonitorConfig | None, seed: int, replications: int
) -> ArmResult:
    """Run ``replications`` stores; the same ``seed`` gives the same demand and shrink in both
    arms (common random numbers: separate streams for demand, shrink, audits and cameras)."""
    if replications < 1:
        raise ConfigError(f"replications {replications} < 1")
    ss = np.random.SeedSequence(seed)
    r_dem, r_shr, r_aud, r_cam = (np.random.default_rng(s) for s in ss.spawn(4))
    shape = (replications, cfg.n_skus)
    hours_open = cfg.close_hour - cfg.open_hour
    daily = cfg.mean_daily_demand * r_dem.lognormal(-0.5, 1.0, size=shape)
    hourly = daily / hours_open
    shelf_cap = np.maximum(np.ceil(daily * cfg.shelf_days), 2).astype(np.int64)
    up_to = np.ceil(daily * cfg.order_up_to_days).astype(np.int64) + shelf_cap
    shelf = shelf_cap.copy()
    back = up_to - shelf_cap
    ledger = shelf + back
    pipeline = np.zeros((cfg.lead_time_days + 1, *shape), np.int64)
    audit_phase = r_aud.integers(0, cfg.audit_days, size=shape)
    mon = ShelfMonitor(monitor, shape) if monitor is not None else None
    open_h = np.zeros(shape)
    in_stock_h = np.zeros(shape)
    lost = np.zeros(shape)
    demand_total = np.zeros(shape)
    phantom_h = np.zeros(shape)
    p_shrink = cfg.shrink_per_day / 24.0
    for day in range(cfg.days):
        # morning: deliveries, cycle counts, the DC order on the ledger, the restock walk
        arrive = pipeline[0].copy()
        pipeline[:-1] = pipeline[1:]
        pipeline[-1] = 0
        back += arrive
        ledger += arrive
        audit = (day % cfg.audit_days) == audit_phase
        ledger = np.where(audit, shelf + back, ledger)
        order = np.maximum(up_to - ledger - pipeline.sum(0), 0)
        pipeline[cfg.lead_time_days] += order
        for hour in range(24):
            if hour == cfg.restock_walk_hour:
                move = np.minimum(shelf_cap - shelf, back)
                shelf += move
                back -= move
            is_open = cfg.open_hour <= hour < cfg.close_hour
            # common random numbers: these draws do not depend on the arm
            dem = sample_demand(r_dem, hourly) if is_open else np.zeros(shape, np.int64)
            shrink = r_shr.random(shape) < p_shrink
            if is_open:
                open_h += 1
                in_stock_h += shelf > 0
                sold = np.minimum(dem, shelf)
                shelf -= sold
                ledger -= sold
                lost += dem - sold
                demand_total += dem
            gone = shrink & (shelf > 0)
            shelf -= gone
            phantom_h += (ledger > 0) & (shelf + back == 0)
            if mon is not None and is_open:
                act = mon.step(day * 24 + hour, shelf, r_cam)
                fill = act.restock
                move = np.where(fill, np.minimum(shelf_cap - shelf, back), 0)
                shelf += move
                back -= move
                # staff find the backroom empty while the ledger says stock: phantom confirmed
                confirmed = fill & (back == 0) & (shelf == 0) & (ledger > 0)
                ledger = np.where(confirmed, 0, ledger)
    return ArmResult(
        availability=(in_stock_h / open_h).mean(1),
        lost_units=lost.sum(1),
        demand_units=demand_total.sum(1),
        phantom_hours=phantom_h.sum(1),
    )


@dataclass(frozen=True, slots=True)
class CameraValue:
    """Means per arm and the paired difference (cameras minus none) with a ``level`` CI."""

    availability_without: float
    availability_with: float
    availability_gain: tuple[float, float, float]
    lost_share_without: float
    lost_share_with: float
    lost_units_saved_per_store_day: tuple[float, float, float]
    lost_revenue_saved_cents_per_store_day: tuple[int, int, int]
    phantom_hours_cut: float
    replications: int
    level: float


def _ci(x: np.ndarray, level: float) -> tuple[float, float, float]:
    m = float(x.mean())
    if len(x) < 2:
        return (m, m, m)
    h = float(stats.t.ppf(0.5 + level / 2, len(x) - 1) * x.std(ddof=1) / np.sqrt(len(x)))
    return (m, m - h, m + h)


def compare_cameras(
    cfg: StoreShelfConfig,
    monitor: MonitorConfig,
    replications: int = 30,
    seed: int = 0,
    level: float = 0.95,
) -> CameraValue:
    """Both arms on the same seed (CRN); CIs from the paired per-replication differences."""
    if not 0 < level < 1:
        raise ConfigError(f"level {level} outside (0, 1)")
    base = simulate_store(cfg, None, seed, replications)
    cam = simulate_store(cfg, monitor, seed, replications)
    saved = (base.lost_units - cam.lost_units) / cfg.days
    s_m, s_lo, s_hi = _ci(saved, level)
    ph = base.phantom_hours.sum()
    return CameraValue(
        availability_without=float(base.availability.mean()),
        availability_with=float(cam.availability.mean()),
        availability_gain=_ci(cam.availability - base.availability, level),
        lost_share_without=float(base.lost_units.sum() / base.demand_units.sum()),
        lost_share_with=float(cam.lost_units.sum() / cam.demand_units.sum()),
        lost_units_saved_per_store_day=(s_m, s_lo, s_hi),
        lost_revenue_saved_cents_per_store_day=tuple(  # type: ignore[arg-type]
            round(v * cfg.price_cents) for v in (s_m, s_lo, s_hi)
        ),
        phantom_hours_cut=float(1 - cam.phantom_hours.sum() / ph) if ph > 0 else 0.0,
        replications=replications,
        level=level,
    )
