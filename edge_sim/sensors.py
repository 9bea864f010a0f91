"""Shelf sensors beside the cameras, on one event stream, fused with vision.

Every source emits :class:`ShelfEvent` estimates of the units on a shelf slot with a variance:

- :class:`WeightShelf` - a load cell under the slot: ``units * unit_weight_g`` plus Gaussian noise
  and a slow drift (grams); the estimate divides by the unit weight;
- :class:`RfidReader` - each tagged unit is read with probability ``p_read`` per scan, plus
  Poisson ghost reads of neighbouring tags; the estimate is ``reads / p_read``;
- camera facings (from :class:`edge_sim.vision.ShelfVision`, :func:`camera_event`) - the front
  row only: a count below capacity estimates the units, a full front row says only ``>=``
  capacity; the variance grows as the vision confidence falls;
- :class:`BleBeacons` - shoppers' phones near the bay (RSSI above a threshold, with noise):
  not a count but a *presence* event; while shoppers stand at the bay camera events are treated
  as occluded (their variance is inflated).

:func:`fuse` combines the latest event of each source for a slot by inverse-variance weighting
(a Gaussian measurement update) and reports P(out of stock). Units: units of stock, grams,
seconds, dBm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from edge_sim.errors import ConfigError

__all__ = [
    "BleBeacons",
    "FusedEstimate",
    "RfidReader",
    "ShelfEvent",
    "WeightShelf",
    "camera_event",
    "fuse",
]

SOURCES = ("camera", "weight", "rfid", "ble")


@dataclass(frozen=True, slots=True)
class ShelfEvent:
    """An estimate of units on ``slot`` (``value``, ``variance``) from ``source`` at ``t_s``.

    BLE events carry the number of shoppers present in ``value`` and variance 0.
    """

    t_s: float
    slot: int
    source: str
    value: float
    variance: float

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ConfigError(f"source {self.source!r} not one of {SOURCES}")
        if self.variance < 0:
            raise ConfigError(f"variance {self.variance} < 0")


@dataclass(frozen=True, slots=True)
class WeightShelf:
    """Load cells: noise ``sigma_g`` grams, drift ``drift_g_per_h`` (random walk)."""

    unit_weight_g: float = 500.0
    sigma_g: float = 60.0
    drift_g_per_h: float = 20.0

    def read(
        self, t_s: float, units: np.ndarray, hours_since_tare: float, rng: np.random.Generator
    ) -> list[ShelfEvent]:
        """One reading per slot."""
        drift_sd = self.drift_g_per_h * np.sqrt(max(hours_since_tare, 0.0))
        noise = rng.normal(0, self.sigma_g, len(units)) + rng.normal(0, drift_sd, len(units))
        est = (units * self.unit_weight_g + noise) / self.unit_weight_g
        var = (self.sigma_g**2 + drift_sd**2) / self.unit_weight_g**2
        return [ShelfEvent(t_s, i, "weight", float(v), float(var)) for i, v in enumerate(est)]


@dataclass(frozen=True, slots=True)
class RfidReader:
    """Per-scan read probability and ghost reads per slot (tags of neighbours)."""

    p_read: float = 0.85
    ghost_rate: float = 0.3

    def __post_init__(self) -> None:
        if not 0 < self.p_read <= 1:
            raise ConfigError(f"p_read {self.p_read} outside (0, 1]")

    def read(self, t_s: float, units: np.ndarray, rng: np.random.Generator) -> list[ShelfEvent]:
        """One scan of every slot."""
        reads = rng.binomial(units.astype(np.int64), self.p_read) + rng.poisson(
            self.ghost_rate, len(units)
        )
        est = (reads - self.ghost_rate) / self.p_read
        var = (np.maximum(est, 1.0) * (1 - self.p_read) + self.ghost_rate) / self.p_read**2
        return [
            ShelfEvent(t_s, i, "rfid", float(e), float(v))
            for i, (e, v) in enumerate(zip(est, var, strict=True))
        ]


@dataclass(frozen=True, slots=True)
class BleBeacons:
    """Shoppers' phones seen at the bay: each present shopper's RSSI (dBm) is
    ``N(rssi_mean, rssi_sd)``; counted when above ``threshold_dbm``."""

    rssi_mean: float = -60.0
    rssi_sd: float = 8.0
    threshold_dbm: float = -70.0

    def read(self, t_s: float, shoppers: np.ndarray, rng: np.random.Generator) -> list[ShelfEvent]:
        """Presence events, one per slot (``value`` = shoppers detected)."""
        seen = [
            int((rng.normal(self.rssi_mean, self.rssi_sd, int(n)) > self.threshold_dbm).sum())
            for n in shoppers
        ]
        return [ShelfEvent(t_s, i, "ble", float(s), 0.0) for i, s in enumerate(seen)]


def camera_event(
    t_s: float, slot: int, facings: int, capacity: int, depth: int, confidence: float
) -> ShelfEvent:
    """A camera reading as a units estimate: facings times ``depth`` (units behind each
    facing); variance from the vision confidence and the unseen depth."""
    if not 0.0 <= confidence <= 1.0:
        raise ConfigError(f"confidence {confidence} outside [0, 1]")
    if depth < 1 or capacity < 1 or not 0 <= facings <= capacity:
        raise ConfigError(f"facings {facings}, capacity {capacity}, depth {depth} inconsistent")
    value = float(facings * depth) if facings < capacity else float(capacity * depth)
    unseen = (depth - 1) ** 2 / 4.0 * max(facings, 1)
    var = 0.25 + unseen + (1.0 - confidence) * (capacity * depth) ** 2
    return ShelfEvent(t_s, slot, "camera", value, var)


@dataclass(frozen=True, slots=True)
class FusedEstimate:
    """Fused units on a slot, its variance, P(out of stock), the sources used."""

    slot: int
    units: float
    variance: float
    p_out_of_stock: float
    sources: tuple[str, ...]


def fuse(events: Sequence[ShelfEvent], occlusion_var: float = 100.0) -> list[FusedEstimate]:
    """Latest event per (slot, source), combined by inverse-variance weighting.

    A BLE event with shoppers present adds ``occlusion_var`` to that slot's camera variance.
    P(out of stock) = P(units < 0.5) under the fused Gaussian.
    """
    latest: dict[tuple[int, str], ShelfEvent] = {}
    for e in sorted(events, key=lambda e: e.t_s):
        latest[(e.slot, e.source)] = e
    slots = sorted({s for s, _ in latest})
    out: list[FusedEstimate] = []
    for s in slots:
        crowd = latest.get((s, "ble"))
        num = den = 0.0
        used: list[str] = []
        for src in ("camera", "weight", "rfid"):
            ev = latest.get((s, src))
            if ev is None:
                continue
            var = max(ev.variance, 1e-6)
            if src == "camera" and crowd is not None and crowd.value > 0:
                var += occlusion_var
            num += ev.value / var
            den += 1.0 / var
            used.append(src)
        if den == 0:
            continue
        mean, var = num / den, 1.0 / den
        p_oos = float(stats.norm.cdf((0.5 - mean) / np.sqrt(var)))
        out.append(FusedEstimate(s, float(max(mean, 0.0)), var, p_oos, tuple(used)))
    return out
