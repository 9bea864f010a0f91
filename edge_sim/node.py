"""An edge node in a store: N cameras, on-site inference, an uplink that can go offline.

:func:`simulate_node` plays ``horizon_s`` seconds of one node:

1. each camera captures at ``fps`` (phase drawn at random), frames of ``frame_kb``;
2. the node runs ShelfVision on ``cores`` cores, ``inference_ms`` per frame (log-normal jitter,
   CV ``inference_cv``); frames wait in a FIFO of ``queue_frames``; a frame arriving to a full
   queue is dropped (counted);
3. each processed frame yields an observation of ``observation_kb`` sent over an uplink of
   ``uplink_kbps``; during an :class:`Outage` nothing is sent and observations are buffered (up
   to ``buffer_kb``; beyond it new observations are lost, counted) and sent when the link returns.

The report gives throughput, drops, end-to-end latency (capture to delivery upstream,
percentiles), the buffer's high-water mark, core utilisation, and the uplink a cloud-inference
design would need instead (every frame sent raw). Units: seconds, kilobytes, kilobits/s.
"""

from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass

import numpy as np

from edge_sim.errors import ConfigError

__all__ = ["EdgeNodeConfig", "NodeReport", "Outage", "simulate_node"]


@dataclass(frozen=True, slots=True)
class EdgeNodeConfig:
    """One store's node (see the module docstring for each field's role)."""

    n_cameras: int = 8
    fps: float = 1.0
    frame_kb: float = 60.0
    inference_ms: float = 10.0
    inference_cv: float = 0.2
    cores: int = 1
    queue_frames: int = 16
    observation_kb: float = 2.0
    uplink_kbps: float = 1000.0
    buffer_kb: float = 50_000.0

    def __post_init__(self) -> None:
        for name in ("n_cameras", "cores", "queue_frames"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} {getattr(self, name)} < 1")
        for name in ("fps", "frame_kb", "inference_ms", "observation_kb", "uplink_kbps"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} {getattr(self, name)} must be positive")
        if self.inference_cv < 0 or self.buffer_kb < 0:
            raise ConfigError(f"negative inference_cv or buffer_kb in {self}")


@dataclass(frozen=True, slots=True)
class Outage:
    """The uplink is down from ``start_s`` to ``end_s``."""

    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        if not 0 <= self.start_s < self.end_s:
            raise ConfigError(f"outage {self.start_s}..{self.end_s} s is not a valid interval")


@dataclass(frozen=True, slots=True)
class NodeReport:
    """What one simulated node did (see the module docstring)."""

    frames_captured: int
    frames_processed: int
    frames_dropped: int
    observations_delivered: int
    observations_lost: int
    latency_p50_s: float
    latency_p95_s: float
    latency_max_s: float
    max_buffer_kb: float
    utilisation: float
    uplink_used_kbps: float
    uplink_raw_kbps: float


def _link_up_at(t: float, outages: list[Outage]) -> float:
    for o in outages:
        if o.start_s <= t < o.end_s:
            return o.end_s
    return t


def simulate_node(
    cfg: EdgeNodeConfig,
    horizon_s: float,
    rng: np.random.Generator,
    outages: tuple[Outage, ...] = (),
) -> NodeReport:
    """Simulate one node for ``horizon_s`` seconds; raises :class:`ConfigError` on bad input."""
    if horizon_s <= 0:
        raise ConfigError(f"horizon_s {horizon_s} must be positive")
    outs = sorted(outages, key=lambda o: o.start_s)
    per_cam = int(np.floor(horizon_s * cfg.fps))
    phase = rng.uniform(0, 1 / cfg.fps, size=cfg.n_cameras)
    arrivals = np.sort((phase[:, None] + np.arange(per_cam)[None, :] / cfg.fps).ravel())
    arrivals = arrivals[arrivals < horizon_s]
    sigma = np.sqrt(np.log1p(cfg.inference_cv**2))
    service = (cfg.inference_ms / 1000.0) * rng.lognormal(-(sigma**2) / 2, sigma, len(arrivals))
    cores = [0.0] * cfg.cores
    waiting: deque[float] = deque()  # start times of accepted frames not yet started
    finish, captured, dropped, busy = [], [], 0, 0.0
    for t, s in zip(arrivals, service, strict=True):
        while waiting and waiting[0] <= t:
            waiting.popleft()
        if len(waiting) >= cfg.queue_frames:
            dropped += 1
            continue
        free = heapq.heappop(cores)
        start = max(free, t)
        heapq.heappush(cores, start + s)
        if start > t:
            waiting.append(start)
        finish.append(start + s)
        captured.append(t)
        busy += s
    tx = cfg.observation_kb * 8.0 / cfg.uplink_kbps
    link_free = 0.0
    sent: deque[float] = deque()  # delivery times of observations still in the buffer
    lat, lost, high = [], 0, 0.0
    order = np.argsort(finish, kind="stable")
    for i in order:
        ready, cap_t = finish[i], captured[i]
        while sent and sent[0] <= ready:
            sent.popleft()
        if (len(sent) + 1) * cfg.observation_kb > cfg.buffer_kb:
            lost += 1
            continue
        begin = _link_up_at(max(ready, link_free), outs)
        link_free = begin + tx
        sent.append(link_free)
        high = max(high, len(sent) * cfg.observation_kb)
        lat.append(link_free - cap_t)
    la = np.asarray(lat) if lat else np.zeros(1)
    return NodeReport(
        frames_captured=len(arrivals),
        frames_processed=len(finish),
        frames_dropped=dropped,
        observations_delivered=len(lat),
        observations_lost=lost,
        latency_p50_s=float(np.percentile(la, 50)),
        latency_p95_s=float(np.percentile(la, 95)),
        latency_max_s=float(la.max()),
        max_buffer_kb=high,
        utilisation=busy / (horizon_s * cfg.cores),
        uplink_used_kbps=len(lat) * cfg.observation_kb * 8.0 / horizon_s,
        uplink_raw_kbps=cfg.n_cameras * cfg.fps * cfg.frame_kb * 8.0,
    )
