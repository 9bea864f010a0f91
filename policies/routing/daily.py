"""A day's delivery plan for a fleet: orders bound to depots, time slots, shifts, many stops.

Each order is served from its own depot (the warehouse that holds its stock), so the plan is
one routing problem per depot; a depot with more orders than ``max_cluster`` is cut into
sectors by angle around the depot (cluster first, route second) and its vehicles are shared
out by the sectors' units. Orders no vehicle can reach inside its shift and slot are left out
before solving. Every order is optional at ``penalty_cents`` (what it costs not to route it
today, e.g. a parcel carrier and a late fee), so an undersized fleet routes what pays most.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from policies.routing.router import make_router
from policies.routing.types import (
    Depot,
    PlannedRoute,
    RoutingProblem,
    SolveOptions,
    Stop,
    VehicleType,
)

__all__ = ["DailyPlanConfig", "DayPlan", "DayRoute", "DeliveryOrder", "plan_deliveries"]


@dataclass(frozen=True, slots=True)
class DeliveryOrder:
    """An order to deliver from ``depot`` (index) in the slot ``[slot_start_min, slot_end_min]``."""

    ref: int
    depot: int
    x_km: float
    y_km: float
    units: int
    slot_start_min: float
    slot_end_min: float
    service_min: float
    penalty_cents: int


@dataclass(frozen=True, slots=True)
class DailyPlanConfig:
    """How to plan: solver, per-sector budget, sector size.

    ``max_iterations`` per sector keeps the plan a function of ``seed`` (deterministic);
    ``time_limit_s`` is a backstop over the whole day, shared out by the sectors' sizes.
    A depot with more orders than ``candidates_per_van`` x what its vans can serve (by units,
    and by shift time at ``minutes_between_stops`` of driving between stops) keeps only the
    nearest (highest penalty first) for the solver.
    """

    router: str = "auto"
    max_iterations: int | None = 300
    time_limit_s: float = 60.0
    max_cluster: int = 200
    candidates_per_van: float = 2.0
    minutes_between_stops: float = 4.0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class DayRoute:
    """A planned route; ``orders`` are indices into the plan's order list, in visiting order."""

    vehicle_type: int
    depot: int
    orders: tuple[int, ...]
    start_min: float
    arrival_min: tuple[float, ...]
    end_min: float
    distance_km: float
    load: int
    capacity: int
    cost_cents: int
    co2_g: float


@dataclass(frozen=True, slots=True)
class DayPlan:
    routes: tuple[DayRoute, ...]
    unrouted: tuple[int, ...]  # order indices left out (unreachable or not worth a van)
    unreachable: tuple[int, ...]  # the subset no vehicle could reach in its shift and slot
    sectors: int
    solve_s: float
    feasible: bool
    violations: tuple[str, ...]

    @property
    def distance_km(self) -> float:
        return float(sum(r.distance_km for r in self.routes))

    @property
    def cost_cents(self) -> int:
        return int(sum(r.cost_cents for r in self.routes))

    @property
    def co2_g(self) -> float:
        return float(sum(r.co2_g for r in self.routes))


def _reachable(o: DeliveryOrder, depot: Depot, vehicles: Sequence[VehicleType]) -> bool:
    """Can some vehicle leave at its shift start, serve ``o`` in its slot and be back in time?"""
    km = math.hypot(o.x_km - depot.x_km, o.y_km - depot.y_km)
    for v in vehicles:
        leg_min = km * v.distance_factor / v.speed_kmh * 60.0
        arrive = max(v.shift_start_min + leg_min, o.slot_start_min)
        back = arrive + o.service_min + leg_min
        shift_end = v.shift_end_min if v.shift_end_min is not None else math.inf
        longest = v.max_shift_min if v.max_shift_min is not None else math.inf
        if (
            arrive <= o.slot_end_min
            and back <= shift_end
            and 2 * leg_min + o.service_min <= longest
        ):
            return True
    return False


def _share(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` by ``weights`` (largest remainder), at least one each while it lasts."""
    k = len(weights)
    base = [1 if i < total else 0 for i in range(k)]
    rest = total - sum(base)
    w = np.asarray(weights, dtype=float)
    w = w / w.sum() if w.sum() > 0 else np.full(k, 1.0 / k)
    exact = w * rest
    out = [b + math.floor(e) for b, e in zip(base, exact, strict=True)]
    left = total - sum(out)
    for i in np.argsort(-(exact - np.floor(exact)), kind="stable")[:left]:
        out[int(i)] += 1
    return out


def plan_deliveries(
    orders: Sequence[DeliveryOrder],
    depots: Sequence[Depot],
    vehicles: Sequence[VehicleType],
    config: DailyPlanConfig,
) -> DayPlan:
    """Plan one day's routes for ``orders`` (see the module docstring).

    Raises:
        InvalidProblemError: from the router, on inconsistent input (field and value named).
    """
    t0 = time.perf_counter()
    router = make_router(config.router)
    routes: list[DayRoute] = []
    unrouted: list[int] = []
    unreachable: list[int] = []
    violations: list[str] = []
    sectors = 0
    n_total = max(1, len(orders))
    for j, depot in enumerate(depots):
        vts_idx = [t for t, v in enumerate(vehicles) if v.depot == j and v.count > 0]
        vts = [vehicles[t] for t in vts_idx]
        mine = [i for i, o in enumerate(orders) if o.depot == j]
        ok = [i for i in mine if vts and _reachable(orders[i], depot, vts)]
        bad = sorted(set(mine) - set(ok))
        unreachable += bad
        unrouted += bad
        if not ok:
            continue
        n_vans = sum(v.count for v in vts)
        # Triage for an undersized fleet: keep the nearest orders up to `candidates_per_van`
        # times what the vans could carry (by units and by shift time); the rest go unrouted.
        mean_units = max(1.0, float(np.mean([orders[i].units for i in ok])))
        mean_service = float(np.mean([orders[i].service_min for i in ok]))
        can_do = sum(
            v.count
            * min(
                v.capacity / mean_units,
                (v.max_shift_min or 1440.0) / (mean_service + config.minutes_between_stops),
            )
            for v in vts
        )
        keep = math.ceil(config.candidates_per_van * can_do)
        if len(ok) > keep:
            near = sorted(
                ok,
                key=lambda i: (
                    -orders[i].penalty_cents,
                    math.hypot(orders[i].x_km - depot.x_km, orders[i].y_km - depot.y_km),
                    i,
                ),
            )
            unrouted += near[keep:]
            ok = sorted(near[:keep])
        k = min(n_vans, max(1, math.ceil(len(ok) / config.max_cluster)))
        angle = np.array(
            [math.atan2(orders[i].y_km - depot.y_km, orders[i].x_km - depot.x_km) for i in ok]
        )
        order = np.argsort(angle, kind="stable")
        if k > 1:  # start the sweep at the widest angular gap, so no sector wraps around it
            sa = angle[order]
            gaps = np.diff(np.concatenate([sa, [sa[0] + 2 * math.pi]]))
            order = np.roll(order, -int(np.argmax(gaps) + 1))
        chunks = [ok_idx for ok_idx in np.array_split(np.asarray(ok)[order], k) if len(ok_idx)]
        units = [float(sum(orders[int(i)].units for i in c)) for c in chunks]
        counts = {id(v): _share(v.count, units) for v in vts}
        for c_no, chunk in enumerate(chunks):
            sectors += 1
            sub = [
                VehicleType(
                    name=v.name,
                    depot=0,
                    count=counts[id(v)][c_no],
                    capacity=v.capacity,
                    speed_kmh=v.speed_kmh,
                    cost_per_km_cents=v.cost_per_km_cents,
                    cost_per_hour_cents=v.cost_per_hour_cents,
                    fixed_cost_cents=v.fixed_cost_cents,
                    co2_g_per_km=v.co2_g_per_km,
                    shift_start_min=v.shift_start_min,
                    shift_end_min=v.shift_end_min,
                    max_shift_min=v.max_shift_min,
                    max_route_km=v.max_route_km,
                    distance_factor=v.distance_factor,
                )
                for v in vts
            ]
            if not any(v.count for v in sub):
                unrouted += [int(i) for i in chunk]
                continue
            stops = tuple(
                Stop(
                    name=str(orders[int(i)].ref),
                    x_km=orders[int(i)].x_km,
                    y_km=orders[int(i)].y_km,
                    demand=orders[int(i)].units,
                    service_min=orders[int(i)].service_min,
                    tw_early_min=orders[int(i)].slot_start_min,
                    tw_late_min=orders[int(i)].slot_end_min,
                    required=False,
                    penalty_cents=orders[int(i)].penalty_cents,
                )
                for i in chunk
            )
            problem = RoutingProblem(depots=(depot,), stops=stops, vehicles=tuple(sub))
            opts = SolveOptions(
                time_limit_s=max(0.05, config.time_limit_s * len(chunk) / n_total),
                max_iterations=config.max_iterations,
                seed=config.seed + sectors,
            )
            sol = router.solve(problem, opts)
            violations += list(sol.violations)
            unrouted += [int(chunk[s]) for s in sol.unserved]
            routes += [
                _day_route(r, chunk, sub[r.vehicle_type], vts_idx[r.vehicle_type], j)
                for r in sol.routes
            ]
    return DayPlan(
        routes=tuple(routes),
        unrouted=tuple(sorted(unrouted)),
        unreachable=tuple(unreachable),
        sectors=sectors,
        solve_s=time.perf_counter() - t0,
        feasible=not violations,
        violations=tuple(violations),
    )


def _day_route(r: PlannedRoute, chunk: np.ndarray, v: VehicleType, vt: int, depot: int) -> DayRoute:
    return DayRoute(
        vehicle_type=vt,
        depot=depot,
        orders=tuple(int(chunk[s]) for s in r.stops),
        start_min=r.start_min,
        arrival_min=r.arrival_min,
        end_min=r.end_min,
        distance_km=r.distance_km,
        load=r.load,
        capacity=v.capacity,
        cost_cents=r.cost_cents,
        co2_g=r.co2_g,
    )
