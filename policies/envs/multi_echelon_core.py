"""Batched NumPy kernel of the supplier -> warehouses -> stores network (``MultiEchelon-v1``).

One :class:`NetworkKernel` steps ``E`` independent copies of a network (or ``E`` policies under
common random numbers) of ``N`` SKUs at ``W`` warehouses and ``S`` stores at once; every array
is ``(E, locations, N)`` with the warehouses first, then the stores (grouped by warehouse).

Units: stock in units (int64), time in days (one step = one day), volume in volume units
(``NetworkParams.volume``: per unit of stock), money in currency units (floats; the envs'
rewards are costs divided by a scale).

Timing within day ``t``:

1. Arrivals: every shipment due today is received (``pipeline`` slot ``t``).
2. Orders are clipped to ``[0, max_order]`` and to the storage room of the ordering
   location: its *position volume* (on-hand + in transit + the new order, times unit volume)
   never exceeds its storage capacity, so on-hand volume never does either.
3. Warehouse orders are cut pro rata to the supplier's per-SKU daily capacity (shared by the
   warehouses) and to the inbound truck volume of each supplier -> warehouse lane.
4. Store orders are rationed: a warehouse that cannot fill its stores' requests ships all it
   has on hand, pro rata over the requests (largest remainders), then each warehouse -> store
   lane is cut pro rata to its truck volume (the cut units stay at the warehouse). Unfilled
   requests are not backlogged.
5. Shipments leave: each lane draws one lead time for the day (all SKUs on a truck travel
   together), from ``lead_min`` plus a delay with the lane's ``lead_pmf``; a shipment arrives
   at the start of day ``t + lead``. Shipments may overtake each other.
6. Store demand (Poisson, optionally gamma-mixed per SKU for over-dispersion, with a weekly
   profile) is served from on-hand; unmet demand is lost.
7. Costs of the day: holding on end-of-day on-hand (per unit per day, per echelon), lost-sales
   penalty per lost unit, a fixed cost per truck dispatched (a lane with any units shipped)
   and a per-volume transport cost on every lane.

Conservation holds exactly per env and SKU: initial stock + supplier receipts ==
on-hand + in transit + sales, checked in the tests.

Randomness: one ``numpy.random.Generator`` (``reset(seed)``); with ``common_random_numbers``
every copy sees the same demand and lead times (copies then differ only by their orders), which
is what CRN policy search needs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from policies.envs.multi_echelon_sampling import TableSampler, demand_pmf

__all__ = [
    "NetworkConfig",
    "NetworkKernel",
    "NetworkParams",
    "StepCosts",
    "TableSampler",
    "build_network",
    "demand_pmf",
    "load_network_config",
]

_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    """Knobs of a synthetic network; :func:`build_network` turns them into arrays.

    Attributes:
        n_skus: SKUs carried everywhere.
        n_warehouses: warehouses, each supplied by the one supplier.
        n_stores: stores, assigned to warehouses in contiguous blocks (round robin sizes).
        demand_median: median expected demand per SKU-store-day (units; log-normal over SKUs).
        demand_sigma: log-normal sigma of SKU demand rates.
        store_size_spread: store sizes are uniform on ``1 +- spread`` (multiplies rates).
        dispersion_max: per-SKU gamma-mixing variance ``c`` on ``[0, dispersion_max]``: demand
            is Poisson(rate * G), ``G ~ Gamma(1/c, c)`` (variance ``rate + c rate^2``); 0 is
            Poisson.
        weekly: demand profile Monday..Sunday (normalised to mean 1).
        price_low, price_high: list prices (currency units) uniform on this range.
        cost_fraction_low, cost_fraction_high: unit cost as a fraction of price.
        holding_rate_store, holding_rate_warehouse: holding cost per day as a fraction of unit
            cost (storage, capital, shrink).
        goodwill_fraction: lost-sales penalty is ``price - cost + goodwill_fraction * price``.
        volume_low, volume_high: volume per unit, uniform.
        supplier_capacity_factor: supplier capacity per SKU-day as a multiple of the SKU's
            expected network demand.
        warehouse_capacity_days, store_capacity_days: storage (volume) as days of expected
            volume flowing through the location.
        inbound_truck_days, outbound_truck_days: truck volume per lane-day as days of the
            lane's expected volume.
        fixed_cost_inbound, fixed_cost_outbound: cost per truck dispatched on a supplier ->
            warehouse / warehouse -> store lane.
        transport_cost_inbound, transport_cost_outbound: cost per volume unit carried.
        lead_min_inbound, lead_pmf_inbound: supplier -> warehouse lead time is
            ``lead_min + k`` days with probability ``lead_pmf[k]``.
        lead_min_outbound, lead_pmf_outbound: the same for warehouse -> store lanes.
        initial_days: days of expected demand on hand everywhere at reset.
        max_order_days: the largest order a location may place, in days of its expected demand
            (echelon demand for a warehouse).
        catalog_seed: seed of the catalog draw (rates, prices, volumes), not of the dynamics.
    """

    n_skus: int = 100
    n_warehouses: int = 1
    n_stores: int = 10
    demand_median: float = 2.0
    demand_sigma: float = 0.8
    store_size_spread: float = 0.4
    dispersion_max: float = 0.5
    weekly: tuple[float, ...] = (0.9, 0.9, 0.95, 1.0, 1.1, 1.35, 0.8)
    price_low: float = 2.0
    price_high: float = 40.0
    cost_fraction_low: float = 0.55
    cost_fraction_high: float = 0.70
    holding_rate_store: float = 0.003
    holding_rate_warehouse: float = 0.0015
    goodwill_fraction: float = 0.1
    volume_low: float = 0.2
    volume_high: float = 2.0
    supplier_capacity_factor: float = 1.5
    warehouse_capacity_days: float = 30.0
    store_capacity_days: float = 12.0
    inbound_truck_days: float = 3.0
    outbound_truck_days: float = 1.6
    fixed_cost_inbound: float = 150.0
    fixed_cost_outbound: float = 25.0
    transport_cost_inbound: float = 0.05
    transport_cost_outbound: float = 0.10
    lead_min_inbound: int = 3
    lead_pmf_inbound: tuple[float, ...] = (0.5, 0.3, 0.2)
    lead_min_outbound: int = 1
    lead_pmf_outbound: tuple[float, ...] = (0.7, 0.2, 0.1)
    initial_days: float = 7.0
    max_order_days: float = 21.0
    catalog_seed: int = 0

    def __post_init__(self) -> None:
        for name in ("n_skus", "n_warehouses", "n_stores"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.n_stores < self.n_warehouses:
            raise ValueError(
                f"need at least one store per warehouse, got n_stores={self.n_stores} < "
                f"n_warehouses={self.n_warehouses}"
            )
        if len(self.weekly) != 7 or min(self.weekly) < 0 or sum(self.weekly) <= 0:
            raise ValueError(f"weekly must be 7 non-negative weights, got {self.weekly}")
        for name in ("lead_pmf_inbound", "lead_pmf_outbound"):
            pmf = getattr(self, name)
            if len(pmf) < 1 or min(pmf) < 0 or abs(sum(pmf) - 1.0) > 1e-6:
                raise ValueError(f"{name} must be probabilities summing to 1, got {pmf}")
        for name in ("lead_min_inbound", "lead_min_outbound"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1 day, got {getattr(self, name)}")
        positive = (
            "demand_median",
            "supplier_capacity_factor",
            "warehouse_capacity_days",
            "store_capacity_days",
            "inbound_truck_days",
            "outbound_truck_days",
            "max_order_days",
            "volume_low",
        )
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        nonneg = (
            "demand_sigma",
            "dispersion_max",
            "holding_rate_store",
            "holding_rate_warehouse",
            "goodwill_fraction",
            "fixed_cost_inbound",
            "fixed_cost_outbound",
            "transport_cost_inbound",
            "transport_cost_outbound",
            "initial_days",
        )
        for name in nonneg:
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.store_size_spread < 1:
            raise ValueError(f"store_size_spread must be in [0, 1), got {self.store_size_spread}")
        if not 0 < self.price_low <= self.price_high:
            raise ValueError(f"need 0 < price_low <= price_high, got {self.price_low}")
        if not 0 < self.cost_fraction_low <= self.cost_fraction_high < 1:
            raise ValueError("need 0 < cost_fraction_low <= cost_fraction_high < 1")
        if self.volume_high < self.volume_low:
            raise ValueError("volume_high must be >= volume_low")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (tuples as lists), for YAML."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def load_network_config(path: str | Path) -> NetworkConfig:
    """Read a :class:`NetworkConfig` from a YAML mapping (unknown keys raise ``ValueError``)."""
    import yaml

    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping, got {type(data).__name__}")
    known = {f.name for f in fields(NetworkConfig)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ValueError(f"{path}: unknown network keys {unknown}")
    for k, v in list(data.items()):
        if isinstance(v, list):
            data[k] = tuple(v)
    return NetworkConfig(**data)


@dataclass(frozen=True, slots=True)
class NetworkParams:
    """A network as arrays; locations are ``W`` warehouses then ``S`` stores.

    Attributes:
        n_warehouses: ``W``.
        store_warehouse: (S,) warehouse of each store, non-decreasing.
        rate: (S, N) expected demand per store-SKU-day at weekly factor 1 (units).
        weekly: (7,) day-of-week factors (mean 1), day 0 is weekday 0.
        dispersion: (N,) gamma-mixing variance ``c`` (0: Poisson).
        volume: (N,) volume per unit.
        holding: (W + S, N) holding cost per unit-day.
        penalty: (N,) cost per lost unit.
        supplier_capacity: (N,) units per day the supplier can ship of each SKU.
        storage_capacity: (W + S,) volume each location may hold (on-hand + in transit).
        truck_capacity: (W + S,) volume per day on the lane into each location.
        fixed_cost: (W + S,) cost per truck dispatched into each location.
        transport_cost: (W + S,) cost per volume unit carried into each location.
        lead_min: (W + S,) minimum lead time of the lane into each location (days).
        lead_cdf: (W + S, K) cumulative pmf of the extra delay (padded with 1).
        initial_stock: (W + S, N) units on hand at reset.
        max_order: (W + S, N) largest order per location-SKU-day (units).
        mean_demand: (W + S, N) expected daily demand seen by each location (echelon demand
            at warehouses).
        unit_cost, unit_price: (N,) currency units.
    """

    n_warehouses: int
    store_warehouse: NDArray[np.int64]
    rate: NDArray[np.float64]
    weekly: NDArray[np.float64]
    dispersion: NDArray[np.float64]
    volume: NDArray[np.float64]
    holding: NDArray[np.float64]
    penalty: NDArray[np.float64]
    supplier_capacity: NDArray[np.int64]
    storage_capacity: NDArray[np.float64]
    truck_capacity: NDArray[np.float64]
    fixed_cost: NDArray[np.float64]
    transport_cost: NDArray[np.float64]
    lead_min: NDArray[np.int64]
    lead_cdf: NDArray[np.float64]
    initial_stock: NDArray[np.int64]
    max_order: NDArray[np.int64]
    mean_demand: NDArray[np.float64]
    unit_cost: NDArray[np.float64]
    unit_price: NDArray[np.float64]
    lead_pmf: NDArray[np.float64] = field(default_factory=lambda: np.ones((1, 1)))

    @property
    def n_skus(self) -> int:
        return int(self.rate.shape[1])

    @property
    def n_stores(self) -> int:
        return int(self.rate.shape[0])

    @property
    def n_locations(self) -> int:
        return self.n_warehouses + self.n_stores

    @property
    def max_lead(self) -> int:
        return int(self.lead_min.max()) + int(self.lead_cdf.shape[1]) - 1

    @property
    def lead_mean(self) -> NDArray[np.float64]:
        """(W + S,) expected lead time per lane (days)."""
        k = np.arange(self.lead_pmf.shape[1])
        return self.lead_min + self.lead_pmf @ k

    @property
    def lead_var(self) -> NDArray[np.float64]:
        """(W + S,) lead-time variance per lane (days^2)."""
        k = np.arange(self.lead_pmf.shape[1])
        m = self.lead_pmf @ k
        return np.asarray(self.lead_pmf @ (k * k) - m * m)

    def store_blocks(self) -> NDArray[np.int64]:
        """(W,) index of each warehouse's first store (for ``np.add.reduceat``)."""
        return np.searchsorted(self.store_warehouse, np.arange(self.n_warehouses)).astype(np.int64)


def _pad_pmf(pmf: tuple[float, ...], width: int) -> NDArray[np.float64]:
    out = np.zeros(width)
    out[: len(pmf)] = pmf
    return np.asarray(out / out.sum(), dtype=np.float64)


def build_network(config: NetworkConfig) -> NetworkParams:
    """Draw a network's catalog from ``config`` (deterministic in ``config.catalog_seed``)."""
    c = config
    rng = np.random.default_rng(c.catalog_seed)
    N, W, S = c.n_skus, c.n_warehouses, c.n_stores
    sku_rate = rng.lognormal(np.log(c.demand_median), c.demand_sigma, N)
    size = rng.uniform(1 - c.store_size_spread, 1 + c.store_size_spread, S)
    rate = size[:, None] * sku_rate[None, :]
    price = np.round(rng.uniform(c.price_low, c.price_high, N), 2)
    cost = np.round(price * rng.uniform(c.cost_fraction_low, c.cost_fraction_high, N), 2)
    volume = rng.uniform(c.volume_low, c.volume_high, N)
    dispersion = rng.uniform(0.0, c.dispersion_max, N)
    weekly = np.asarray(c.weekly, dtype=np.float64)
    weekly = weekly / weekly.mean()
    store_wh = np.sort(np.arange(S) % W).astype(np.int64)
    wh_rate = np.zeros((W, N))
    np.add.at(wh_rate, store_wh, rate)
    mean = np.concatenate([wh_rate, rate])  # (W+S, N)
    holding = np.concatenate(
        [
            np.tile(cost * c.holding_rate_warehouse, (W, 1)),
            np.tile(cost * c.holding_rate_store, (S, 1)),
        ]
    )
    flow_volume = mean @ volume  # (W+S,) expected volume per day
    storage = np.concatenate(
        [c.warehouse_capacity_days * flow_volume[:W], c.store_capacity_days * flow_volume[W:]]
    )
    trucks = np.concatenate(
        [c.inbound_truck_days * flow_volume[:W], c.outbound_truck_days * flow_volume[W:]]
    )
    width = max(len(c.lead_pmf_inbound), len(c.lead_pmf_outbound))
    pmf = np.concatenate(
        [
            np.tile(_pad_pmf(c.lead_pmf_inbound, width), (W, 1)),
            np.tile(_pad_pmf(c.lead_pmf_outbound, width), (S, 1)),
        ]
    )
    cdf = np.cumsum(pmf, axis=1)
    cdf[:, -1] = 1.0
    lead_min = np.array([c.lead_min_inbound] * W + [c.lead_min_outbound] * S, dtype=np.int64)
    init = np.ceil(mean * c.initial_days).astype(np.int64)
    # the initial stock must respect storage capacity (scale down if the knobs disagree)
    init_vol = init @ volume
    shrink = np.minimum(1.0, storage / np.maximum(init_vol, _EPS))
    init = np.floor(init * shrink[:, None] * (1 - 1e-12)).astype(np.int64)
    return NetworkParams(
        n_warehouses=W,
        store_warehouse=store_wh,
        rate=rate,
        weekly=weekly,
        dispersion=dispersion,
        volume=volume,
        holding=holding,
        penalty=price - cost + c.goodwill_fraction * price,
        supplier_capacity=np.ceil(c.supplier_capacity_factor * wh_rate.sum(axis=0)).astype(
            np.int64
        ),
        storage_capacity=storage,
        truck_capacity=trucks,
        fixed_cost=np.array([c.fixed_cost_inbound] * W + [c.fixed_cost_outbound] * S),
        transport_cost=np.array([c.transport_cost_inbound] * W + [c.transport_cost_outbound] * S),
        lead_min=lead_min,
        lead_cdf=cdf,
        initial_stock=init,
        max_order=np.ceil(c.max_order_days * mean).astype(np.int64),
        mean_demand=mean,
        unit_cost=cost,
        unit_price=price,
        lead_pmf=pmf,
    )


@dataclass(frozen=True, slots=True)
class StepCosts:
    """One day's outcome per copy (``(E,)`` arrays unless noted; money in currency units).

    ``holding``, ``lost_penalty``, ``fixed``, ``transport`` and their sum ``cost``; ``demand``,
    ``sales``, ``lost`` (units); ``rationed`` (units requested by stores that their warehouse
    could not ship), ``truck_cut`` (units cut by truck volume), ``supplier_cut`` (units cut by
    supplier capacity), ``storage_cut`` (units cut by storage room); ``sku_cost`` (E, N):
    holding + lost penalty + transport per SKU (fixed truck costs are not attributable);
    ``sku_sales`` (E, N): units sold per SKU.
    """

    cost: NDArray[np.float64]
    holding: NDArray[np.float64]
    lost_penalty: NDArray[np.float64]
    fixed: NDArray[np.float64]
    transport: NDArray[np.float64]
    demand: NDArray[np.int64]
    sales: NDArray[np.int64]
    lost: NDArray[np.int64]
    rationed: NDArray[np.int64]
    truck_cut: NDArray[np.int64]
    supplier_cut: NDArray[np.int64]
    storage_cut: NDArray[np.int64]
    sku_cost: NDArray[np.float64]
    sku_sales: NDArray[np.int64]


def _cut_pro_rata(
    q: NDArray[np.int64], load: NDArray[np.float64], limit: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Scale ``q`` down (floor) where ``load > limit``; ``load``/``limit`` broadcast over the
    last axis of ``q``. Floors keep ``scaled load <= limit`` exactly."""
    over = load > limit
    if not over.any():
        return q
    frac = np.where(over, limit / np.maximum(load, _EPS) * (1.0 - 1e-12), 1.0)
    return np.where(over[..., None], np.floor(q * frac[..., None]), q).astype(np.int64)


class NetworkKernel:
    """``n_envs`` copies of a network stepped together (see the module docstring).

    State (read it, do not write it): ``on_hand`` (E, W+S, N), ``in_transit`` (E, W+S, N),
    ``pipeline_by_age()`` (E, W+S, N, H), ``day``, ``last_demand`` (E, S, N), ``last_moved``
    (E, W+S, N: units dispatched into each location by the last step), ``received`` (E, W, N:
    supplier units received so far).
    """

    def __init__(
        self,
        params: NetworkParams,
        n_envs: int = 1,
        common_random_numbers: bool = False,
        seed: int | None = None,
    ) -> None:
        if n_envs < 1:
            raise ValueError(f"n_envs must be >= 1, got {n_envs}")
        self.p = params
        self.n = int(n_envs)
        self.crn = bool(common_random_numbers)
        W, S, N = params.n_warehouses, params.n_stores, params.n_skus
        self.W, self.S, self.N, self.L = W, S, N, W + S
        self.H = params.max_lead + 1
        self._blocks = params.store_blocks()
        self._store_wh = params.store_warehouse
        week_rate = params.weekly[:, None, None] * params.rate[None]  # (7, S, N)
        self._sampler = TableSampler(
            demand_pmf(week_rate, np.broadcast_to(params.dispersion, week_rate.shape))
        )
        rows = np.arange(7 * S * N, dtype=np.int64).reshape(7, S * N)
        self._guide_base = rows * self._sampler.bins
        self._cdf_base = self._sampler.start[rows]
        self._rng = np.random.default_rng(seed)
        self._ei = np.arange(self.n)[:, None]
        self._li = np.arange(self.L)[None, :]
        self.reset(seed)

    # -- state ---------------------------------------------------------------------------
    def reset(self, seed: int | None = None, rng: np.random.Generator | None = None) -> None:
        """Initial stock everywhere, empty pipelines, day 0; draw from ``rng`` if given, else
        from a new generator seeded with ``seed`` if given, else keep the current one."""
        if rng is not None:
            self._rng = rng
        elif seed is not None:
            self._rng = np.random.default_rng(seed)
        E, L, N = self.n, self.L, self.N
        self.on_hand = np.broadcast_to(self.p.initial_stock, (E, L, N)).astype(np.int64)
        self.in_transit = np.zeros((E, L, N), dtype=np.int64)
        self._pipe = np.zeros((self.H, E, L, N), dtype=np.int64)
        self.day = 0
        self.last_demand = np.zeros((E, self.S, N), dtype=np.int64)
        self.received = np.zeros((E, self.W, N), dtype=np.int64)  # supplier receipts, total
        self.last_moved = np.zeros((E, L, N), dtype=np.int64)  # units dispatched last step

    def pipeline_by_age(self) -> NDArray[np.int64]:
        """(E, W+S, N, H): units in transit by arrival; slot ``j`` is received at the start of
        the ``j``-th next step (slot 0: the next call to :meth:`step`)."""
        idx = (self.day + np.arange(self.H)) % self.H
        return np.moveaxis(self._pipe[idx], 0, -1)

    def echelon_position(self) -> NDArray[np.int64]:
        """(E, W, N): each warehouse's echelon inventory position (its on-hand and in transit
        plus those of its stores)."""
        local = self.on_hand + self.in_transit
        down = np.add.reduceat(local[:, self.W :], self._blocks, axis=1)
        return local[:, : self.W] + down

    def _draw(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        return (1, *shape[1:]) if self.crn else shape

    # -- dynamics ------------------------------------------------------------------------
    def _ration(
        self, qs: NDArray[np.int64], avail: NDArray[np.int64], req: NDArray[np.int64]
    ) -> NDArray[np.int64]:
        """Share ``avail`` (E, W, N) units over the stores' requests ``qs`` (E, S, N) pro rata
        by largest remainders: each store gets ``floor(q * avail / req)`` and the units left
        go one each to the stores with the largest fractional parts. Every unit available is
        shipped when requests exceed it, and no store gets more than it asked for."""
        wh = self._store_wh
        exact = qs * (avail / np.maximum(req, 1))[:, wh]
        ship = np.floor(exact + 1e-9).astype(np.int64)
        ship = np.minimum(ship, qs)
        left = avail - np.add.reduceat(ship, self._blocks, axis=1)  # (E, W, N)
        if not (left > 0).any():
            return ship
        # rank stores within their warehouse by fractional part, largest first
        key = wh[None, :, None] * 2.0 - (exact - ship)
        rank = np.argsort(np.argsort(key, axis=1, kind="stable"), axis=1, kind="stable")
        rank -= self._blocks[wh][None, :, None]
        bonus = (rank < left[:, wh]) & (ship < qs)
        return ship + bonus

    def step(self, orders: NDArray[Any]) -> StepCosts:
        """Advance one day with ``orders`` (E, W+S, N) units per location-SKU (see the module
        docstring). Raises ``ValueError`` on a wrong shape."""
        p, W, E = self.p, self.W, self.n
        q = np.asarray(orders)
        if q.shape != (E, self.L, self.N):
            raise ValueError(f"orders must have shape {(E, self.L, self.N)}, got {q.shape}")
        if np.issubdtype(q.dtype, np.integer):
            q = np.minimum(np.maximum(q, 0), p.max_order).astype(np.int64, copy=False)
        else:
            q = np.clip(np.rint(q), 0, p.max_order).astype(np.int64)
        slot = self.day % self.H
        # 1. arrivals
        arr = self._pipe[slot]
        self.on_hand += arr
        self.in_transit -= arr
        self.received += arr[:, :W]
        arr[...] = 0
        # 2. storage room: position volume after ordering <= capacity
        vol = p.volume
        pos_vol = (self.on_hand + self.in_transit) @ vol  # (E, L)
        room = np.maximum(p.storage_capacity - pos_vol, 0.0)
        q0 = q
        q = _cut_pro_rata(q, q @ vol, room)
        storage_cut = (q0 - q).sum(axis=(1, 2))
        # 3. supplier capacity per SKU (shared by warehouses), inbound trucks
        qw = q[:, :W]
        tot = qw.sum(axis=1)  # (E, N)
        over = tot > p.supplier_capacity
        if over.any():
            frac = np.where(over, p.supplier_capacity / np.maximum(tot, 1), 1.0)
            qw = np.floor(qw * frac[:, None, :]).astype(np.int64)
        supplier_cut = (q[:, :W] - qw).sum(axis=(1, 2))
        qw2 = _cut_pro_rata(qw, qw @ vol, p.truck_capacity[:W])
        truck_cut = (qw - qw2).sum(axis=(1, 2))
        qw = qw2
        # 4. rationing at the warehouses, then outbound trucks
        qs = q[:, W:]
        req = np.add.reduceat(qs, self._blocks, axis=1)  # (E, W, N)
        wh_oh = self.on_hand[:, :W]
        short = req > wh_oh
        ship = self._ration(qs, np.minimum(req, wh_oh), req) if short.any() else qs
        rationed = (qs - ship).sum(axis=(1, 2))
        ship2 = _cut_pro_rata(ship, ship @ vol, p.truck_capacity[W:])
        truck_cut = truck_cut + (ship - ship2).sum(axis=(1, 2))
        ship = ship2
        self.on_hand[:, :W] -= np.add.reduceat(ship, self._blocks, axis=1)
        # 5. dispatch with one lead time per lane-day
        moved = np.concatenate([qw, ship], axis=1)  # (E, L, N)
        u = self._rng.random(self._draw((E, self.L)))
        delay = (u[..., None] > p.lead_cdf[None]).sum(axis=-1)
        lead = p.lead_min[None] + delay  # (E or 1, L)
        dest = (self.day + np.broadcast_to(lead, (E, self.L))) % self.H
        self._pipe[dest, self._ei, self._li] += moved
        self.in_transit += moved
        self.last_moved = moved
        # 6. demand at the stores
        shape = self._draw((E, self.S, self.N))
        u = self._rng.random((shape[0], self.S * self.N))
        wd = self.day % 7
        d = self._sampler.sample_prepared(self._guide_base[wd], self._cdf_base[wd], u)
        d = d.reshape(shape)
        if self.crn and E > 1:
            d = np.broadcast_to(d, (E, self.S, self.N))
        st = self.on_hand[:, W:]
        sales = np.minimum(st, d)
        st -= sales
        lost = d - sales
        self.last_demand = np.asarray(d)
        self.day += 1
        # 7. costs
        hold_sku = (self.on_hand * p.holding).sum(axis=1)  # (E, N)
        lost_sku = lost.sum(axis=1) * p.penalty
        tr_sku = (moved * p.transport_cost[None, :, None]).sum(axis=1) * vol
        trucks = (moved.sum(axis=2) > 0) @ p.fixed_cost
        holding = hold_sku.sum(axis=1)
        lost_pen = lost_sku.sum(axis=1)
        transport = tr_sku.sum(axis=1)
        return StepCosts(
            cost=holding + lost_pen + trucks + transport,
            holding=holding,
            lost_penalty=lost_pen,
            fixed=np.asarray(trucks, dtype=np.float64),
            transport=transport,
            demand=d.sum(axis=(1, 2)),
            sales=sales.sum(axis=(1, 2)),
            lost=lost.sum(axis=(1, 2)),
            rationed=rationed,
            truck_cut=truck_cut,
            supplier_cut=supplier_cut,
            storage_cut=storage_cut,
            sku_cost=hold_sku + lost_sku + tr_sku,
            sku_sales=sales.sum(axis=1),
        )
