"""The integer model both solvers see, and a solver-independent route evaluator.

Both solvers work in integers: distances in metres, times in seconds and costs in *objective
units* of 1e-4 cent. :class:`IntModel` makes those matrices once per problem (one per distinct
(speed, distance factor) pair, a *profile*), and :func:`evaluate_routes` schedules and checks
routes on the same integers, so the feasibility verdict is exactly the one a solver would give,
and both solvers' answers are priced the same way.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from policies.routing.types import PlannedRoute, RoutingProblem, RoutingSolution, VehicleType

__all__ = ["BIG_S", "OBJ_PER_CENT", "IntModel", "evaluate_routes"]

OBJ_PER_CENT = 10_000  # objective units per cent
BIG_S = 10**9  # "no limit" in seconds or metres (fits every solver's int64 arithmetic)


def _s(minutes: float | None) -> int:
    return BIG_S if minutes is None else round(minutes * 60.0)


@dataclass(frozen=True, slots=True, eq=False)
class IntModel:
    """A problem's integer view: matrices per profile and per-vehicle-type integer data."""

    dist_m: tuple[np.ndarray, ...]  # per profile, metres, int64
    dur_s: tuple[np.ndarray, ...]  # per profile, seconds, int64
    profile_of: tuple[int, ...]  # per vehicle type
    service_s: np.ndarray  # per location (depots 0)
    tw_early_s: np.ndarray  # per location
    tw_late_s: np.ndarray  # per location
    demand: np.ndarray  # per location (depots 0)

    @classmethod
    def build(cls, problem: RoutingProblem) -> IntModel:
        km = problem.distances()
        keys: dict[tuple[float, float], int] = {}
        dist: list[np.ndarray] = []
        dur: list[np.ndarray] = []
        prof: list[int] = []
        for v in problem.vehicles:
            key = (v.speed_kmh, v.distance_factor)
            if key not in keys:
                keys[key] = len(dist)
                m = np.rint(km * v.distance_factor * 1000.0).astype(np.int64)
                dist.append(m)
                dur.append(np.rint(m * 3.6 / v.speed_kmh).astype(np.int64))
            prof.append(keys[key])
        nd = len(problem.depots)
        n = problem.n_locations
        service = np.zeros(n, dtype=np.int64)
        early = np.zeros(n, dtype=np.int64)
        late = np.full(n, BIG_S, dtype=np.int64)
        demand = np.zeros(n, dtype=np.int64)
        for j, d in enumerate(problem.depots):
            early[j] = _s(d.open_min)
            late[j] = _s(d.close_min)
        for i, s in enumerate(problem.stops):
            service[nd + i] = _s(s.service_min)
            early[nd + i] = _s(s.tw_early_min)
            late[nd + i] = _s(s.tw_late_min)
            demand[nd + i] = s.demand
        return cls(tuple(dist), tuple(dur), tuple(prof), service, early, late, demand)

    def vehicle_window_s(self, problem: RoutingProblem, vt: int) -> tuple[int, int]:
        """Earliest departure and latest return of type ``vt`` (shift and depot hours)."""
        v = problem.vehicles[vt]
        early = max(_s(v.shift_start_min), int(self.tw_early_s[v.depot]))
        late = min(_s(v.shift_end_min), int(self.tw_late_s[v.depot]))
        return early, late


def unit_distance_cost(v: VehicleType, co2_price_cents_per_kg: float) -> int:
    """Objective units per metre: the km cost plus the priced CO2 (at least 1)."""
    cents_per_km = v.cost_per_km_cents + v.co2_g_per_km * co2_price_cents_per_kg / 1000.0
    return max(1, round(cents_per_km * OBJ_PER_CENT / 1000.0))


def unit_duration_cost(v: VehicleType) -> int:
    """Objective units per second of route duration."""
    return round(v.cost_per_hour_cents * OBJ_PER_CENT / 3600.0)


@dataclass(slots=True)
class _Sched:
    start: int
    arrivals: list[int]
    end: int
    late_by: int  # seconds past the latest windows (0 when on time)


def _schedule(im: IntModel, dur: np.ndarray, locs: Sequence[int], depot: int, t0: int) -> _Sched:
    t = t0
    prev = depot
    arrivals: list[int] = []
    late_by = 0
    for loc in locs:
        a = t + int(dur[prev, loc])
        s = max(a, int(im.tw_early_s[loc]))
        late_by += max(0, s - int(im.tw_late_s[loc]))
        arrivals.append(s)
        t = s + int(im.service_s[loc])
        prev = loc
    end = t + int(dur[prev, depot])
    return _Sched(t0, arrivals, end, late_by)


def _best_start(
    im: IntModel, dur: np.ndarray, locs: Sequence[int], depot: int, t0: int, latest_end: int
) -> _Sched:
    """Forward pass from ``t0``, then delay the departure as far as waiting allows (Savelsbergh's
    forward time slack), which minimises the route's duration without breaking a window."""
    sch = _schedule(im, dur, locs, depot, t0)
    if sch.late_by or not locs:
        return sch
    t = t0
    prev = depot
    waits = 0
    slack = BIG_S
    for loc, s in zip(locs, sch.arrivals, strict=True):
        a = t + int(dur[prev, loc])
        waits += s - a
        slack = min(slack, waits + int(im.tw_late_s[loc]) - s)
        t = s + int(im.service_s[loc])
        prev = loc
    slack = min(slack, waits + latest_end - sch.end)
    delay = max(0, min(waits, slack))
    return _schedule(im, dur, locs, depot, t0 + delay) if delay else sch


def evaluate_routes(
    problem: RoutingProblem,
    routes: Sequence[tuple[int, Sequence[int]]],
    *,
    solver: str,
    started: float | None = None,
    im: IntModel | None = None,
) -> RoutingSolution:
    """Schedule, price and check ``routes`` ((vehicle type, stop indices) pairs) on ``problem``.

    Every constraint is checked: each required stop served exactly once, vehicle counts,
    capacity (running load for pickup-and-delivery pairs, with pickup before delivery on one
    route), time windows, shift end, depot hours, shift length and range. Broken ones are
    listed in ``violations``. ``started`` (a ``time.perf_counter()`` value) sets ``runtime_s``.
    """
    im = im or IntModel.build(problem)
    nd = len(problem.depots)
    pair_of = {p: d for p, d in problem.pairs}
    violations: list[str] = []
    served = np.zeros(len(problem.stops), dtype=np.int64)
    used = np.zeros(len(problem.vehicles), dtype=np.int64)
    planned: list[PlannedRoute] = []
    objective = 0
    for vt, stops in routes:
        if not stops:
            continue
        v = problem.vehicles[vt]
        used[vt] += 1
        prof = im.profile_of[vt]
        dist, dur = im.dist_m[prof], im.dur_s[prof]
        locs = [nd + s for s in stops]
        for s in stops:
            served[s] += 1
        early, late = im.vehicle_window_s(problem, vt)
        sch = _best_start(im, dur, locs, v.depot, early, late)
        tag = f"route of {v.name} via {list(stops)}"
        if sch.late_by:
            violations.append(f"{tag}: time windows missed by {sch.late_by} s in total")
        if sch.end > late:
            violations.append(f"{tag}: returns at {sch.end} s, after {late} s")
        if v.max_shift_min is not None and sch.end - sch.start > _s(v.max_shift_min):
            violations.append(f"{tag}: lasts {sch.end - sch.start} s > shift {v.max_shift_min} min")
        path = [v.depot, *locs, v.depot]
        metres = int(sum(int(dist[a, b]) for a, b in itertools.pairwise(path)))
        if v.max_route_km is not None and metres > round(v.max_route_km * 1000.0):
            violations.append(f"{tag}: {metres} m > range {v.max_route_km} km")
        loads = np.cumsum(im.demand[locs])
        if problem.pairs:
            peak = int(max(0, loads.max()))
            load = int(sum(max(0, problem.stops[s].demand) for s in stops))
            pos = {s: k for k, s in enumerate(stops)}
            for s in stops:
                if s in pair_of and (pair_of[s] not in pos or pos[pair_of[s]] < pos[s]):
                    violations.append(f"{tag}: pickup {s} not followed by its delivery")
        else:
            peak = load = int(loads[-1])
        if peak > v.capacity:
            violations.append(f"{tag}: load {peak} > capacity {v.capacity}")
        km = metres / 1000.0
        objective += (
            metres * unit_distance_cost(v, problem.co2_price_cents_per_kg)
            + (sch.end - sch.start) * unit_duration_cost(v)
            + v.fixed_cost_cents * OBJ_PER_CENT
        )
        hours = (sch.end - sch.start) / 3600.0
        cost = v.fixed_cost_cents + round(km * v.cost_per_km_cents + hours * v.cost_per_hour_cents)
        planned.append(
            PlannedRoute(
                vehicle_type=vt,
                depot=v.depot,
                stops=tuple(int(s) for s in stops),
                start_min=sch.start / 60.0,
                arrival_min=tuple(a / 60.0 for a in sch.arrivals),
                end_min=sch.end / 60.0,
                distance_km=km,
                load=load,
                cost_cents=int(cost),
                co2_g=km * v.co2_g_per_km,
            )
        )
    for vt, v in enumerate(problem.vehicles):
        if used[vt] > v.count:
            violations.append(f"vehicle type {v.name}: {used[vt]} routes > count {v.count}")
    unserved = tuple(int(i) for i in np.flatnonzero(served == 0))
    for twice in np.flatnonzero(served > 1):
        violations.append(f"stop {int(twice)} served {int(served[twice])} times")
    penalty: int = 0
    for i in unserved:
        if problem.stops[i].required:
            violations.append(f"required stop {i} ({problem.stops[i].name}) unserved")
        else:
            penalty += problem.stops[i].penalty_cents
    return RoutingSolution(
        routes=tuple(planned),
        unserved=unserved,
        distance_km=float(sum(r.distance_km for r in planned)),
        cost_cents=int(sum(r.cost_cents for r in planned)),
        co2_g=float(sum(r.co2_g for r in planned)),
        penalty_cents=penalty,
        objective=int(objective + penalty * OBJ_PER_CENT),
        feasible=not violations,
        violations=tuple(violations),
        solver=solver,
        runtime_s=0.0 if started is None else time.perf_counter() - started,
    )
