"""Typed values in and out of a :class:`~policies.routing.router.Router`.

Units, written once: distances in **km**, times in **minutes** from the start of the planning
day (0 = midnight), money in integer **cents**, CO2 in **grams**. A problem lists depots, stops
(customers) and vehicle types; locations are indexed depots first, then stops, which is also
the row/column order of an explicit ``distance_km`` matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from policies.routing.errors import InvalidProblemError

__all__ = [
    "Depot",
    "PlannedRoute",
    "RoutingProblem",
    "RoutingSolution",
    "SolveOptions",
    "Stop",
    "VehicleType",
    "WarmRoute",
]


@dataclass(frozen=True, slots=True)
class Depot:
    """A place vehicles start from and return to, open ``[open_min, close_min]``."""

    name: str
    x_km: float
    y_km: float
    open_min: float = 0.0
    close_min: float | None = None  # None: no closing time


@dataclass(frozen=True, slots=True)
class Stop:
    """A customer visit: ``demand`` units, served within ``[tw_early_min, tw_late_min]``.

    ``tw_late_min`` bounds the *start* of service. A stop that is not ``required`` may be left
    unserved at a cost of ``penalty_cents`` (the solver weighs it against the routing cost).
    """

    name: str
    x_km: float
    y_km: float
    demand: int = 0
    service_min: float = 0.0
    tw_early_min: float = 0.0
    tw_late_min: float | None = None
    required: bool = True
    penalty_cents: int = 0


@dataclass(frozen=True, slots=True)
class VehicleType:
    """``count`` identical vehicles based at ``depot`` (index into ``RoutingProblem.depots``).

    ``capacity`` is in the stops' demand units (the payload of a drone). The shift is
    ``[shift_start_min, shift_end_min]`` and lasts at most ``max_shift_min`` (leaving and
    returning to the depot included). ``max_route_km`` is a range limit (a drone's battery).
    ``distance_factor`` multiplies the problem's distances for this type (e.g. 1/road_factor
    for a drone that flies straight). Cost of a route = ``fixed_cost_cents`` + km x
    ``cost_per_km_cents`` + hours x ``cost_per_hour_cents``.
    """

    name: str
    depot: int = 0
    count: int = 1
    capacity: int = 1_000_000
    speed_kmh: float = 40.0
    cost_per_km_cents: int = 100
    cost_per_hour_cents: int = 0
    fixed_cost_cents: int = 0
    co2_g_per_km: float = 0.0
    shift_start_min: float = 0.0
    shift_end_min: float | None = None
    max_shift_min: float | None = None
    max_route_km: float | None = None
    distance_factor: float = 1.0


@dataclass(frozen=True, slots=True, eq=False)
class RoutingProblem:
    """What to route.

    ``distance_km``: optional explicit (n_depots + n_stops) square matrix in km, depots first;
    if None, distances are Euclidean on the ``x_km``/``y_km`` coordinates. ``pairs``: pickup and
    delivery requests as (pickup stop, delivery stop) indices; the pickup's ``demand`` is loaded
    there and carried to the delivery (whose demand must be its negative).
    ``co2_price_cents_per_kg`` puts a price on CO2 in the objective (the green trade-off; 0 = cost
    only).

    Raises:
        InvalidProblemError: on an inconsistent problem (field and value named).
    """

    depots: tuple[Depot, ...]
    stops: tuple[Stop, ...]
    vehicles: tuple[VehicleType, ...]
    distance_km: np.ndarray | None = field(default=None, repr=False)
    pairs: tuple[tuple[int, int], ...] = ()
    co2_price_cents_per_kg: float = 0.0

    def __post_init__(self) -> None:
        if not self.depots:
            raise InvalidProblemError("depots: at least one depot is needed")
        if not self.vehicles:
            raise InvalidProblemError("vehicles: at least one vehicle type is needed")
        n = len(self.depots) + len(self.stops)
        if self.distance_km is not None:
            shape = np.shape(self.distance_km)
            if shape != (n, n):
                raise InvalidProblemError(f"distance_km: shape {shape}, expected {(n, n)}")
            if not np.all(np.isfinite(self.distance_km)) or np.any(self.distance_km < 0):
                raise InvalidProblemError("distance_km: entries must be finite and >= 0")
        for i, v in enumerate(self.vehicles):
            if not 0 <= v.depot < len(self.depots):
                raise InvalidProblemError(f"vehicles[{i}].depot: {v.depot} is not a depot index")
            if v.count < 0:
                raise InvalidProblemError(f"vehicles[{i}].count: {v.count} < 0")
            if v.capacity < 0:
                raise InvalidProblemError(f"vehicles[{i}].capacity: {v.capacity} < 0")
            if not v.speed_kmh > 0:
                raise InvalidProblemError(f"vehicles[{i}].speed_kmh: {v.speed_kmh} must be > 0")
            if not v.distance_factor > 0:
                raise InvalidProblemError(
                    f"vehicles[{i}].distance_factor: {v.distance_factor} must be > 0"
                )
        for i, s in enumerate(self.stops):
            if s.tw_late_min is not None and s.tw_late_min < s.tw_early_min:
                raise InvalidProblemError(
                    f"stops[{i}].tw_late_min: {s.tw_late_min} < tw_early_min {s.tw_early_min}"
                )
            if s.service_min < 0:
                raise InvalidProblemError(f"stops[{i}].service_min: {s.service_min} < 0")
            if s.demand < 0 and not any(d == i for _, d in self.pairs):
                raise InvalidProblemError(f"stops[{i}].demand: {s.demand} < 0 outside a pair")
        seen: set[int] = set()
        for k, (p, d) in enumerate(self.pairs):
            for j in (p, d):
                if not 0 <= j < len(self.stops) or j in seen:
                    raise InvalidProblemError(f"pairs[{k}]: stop {j} out of range or in two pairs")
                seen.add(j)
            if self.stops[d].demand != -self.stops[p].demand:
                raise InvalidProblemError(
                    f"pairs[{k}]: delivery demand {self.stops[d].demand} is not minus the "
                    f"pickup demand {self.stops[p].demand}"
                )
        if self.pairs and any(s.demand != 0 and i not in seen for i, s in enumerate(self.stops)):
            raise InvalidProblemError(
                "pairs: mixing pickup-and-delivery pairs with depot deliveries is not supported"
            )

    @property
    def n_locations(self) -> int:
        return len(self.depots) + len(self.stops)

    def distances(self) -> np.ndarray:
        """The (n_depots + n_stops) square distance matrix in km (explicit or Euclidean)."""
        if self.distance_km is not None:
            return np.asarray(self.distance_km, dtype=float)
        xy = np.array(
            [(d.x_km, d.y_km) for d in self.depots] + [(s.x_km, s.y_km) for s in self.stops],
            dtype=float,
        )
        diff = xy[:, None, :] - xy[None, :, :]
        return np.asarray(np.sqrt((diff**2).sum(axis=2)))


@dataclass(frozen=True, slots=True)
class WarmRoute:
    """A route of a warm start: vehicle type index and the stop indices in visiting order."""

    vehicle_type: int
    stops: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SolveOptions:
    """How long to search and from where.

    The search stops at ``time_limit_s`` seconds or after ``max_iterations`` iterations
    (PyVRP: iterations of its iterated local search; OR-Tools: solutions found), whichever
    comes first. With ``max_iterations`` set and a time limit that is not reached, the result
    is a function of ``seed`` only (deterministic); a pure time limit depends on machine speed.
    ``cpu_time``: the time limit counts this process's CPU seconds instead of wall seconds
    (for a fair "N seconds on one core" on a shared machine). ``on_progress(seconds, objective)``
    is called when the search finds a better feasible solution (seconds on the budget's clock
    since the search began; the objective in 1e-4 cent as in ``RoutingSolution.objective``).
    """

    time_limit_s: float = 1.0
    max_iterations: int | None = None
    cpu_time: bool = False
    on_progress: Callable[[float, int], None] | None = field(default=None, compare=False)
    seed: int = 0
    warm_start: tuple[WarmRoute, ...] | None = None


@dataclass(frozen=True, slots=True)
class PlannedRoute:
    """One vehicle's route: the stop indices in order and the schedule and totals.

    ``start_min``: departure from the depot; ``arrival_min``: start of service at each stop;
    ``end_min``: return to the depot.
    """

    vehicle_type: int
    depot: int
    stops: tuple[int, ...]
    start_min: float
    arrival_min: tuple[float, ...]
    end_min: float
    distance_km: float
    load: int
    cost_cents: int
    co2_g: float

    @property
    def duration_min(self) -> float:
        return self.end_min - self.start_min


@dataclass(frozen=True, slots=True)
class RoutingSolution:
    """The routes, the stops left unserved, totals, and the feasibility verdict.

    ``violations`` lists every broken constraint in words (empty when ``feasible``), as found
    by :func:`policies.routing.evaluate.evaluate_routes`, independently of the solver.
    """

    routes: tuple[PlannedRoute, ...]
    unserved: tuple[int, ...]
    distance_km: float
    cost_cents: int
    co2_g: float
    penalty_cents: int
    objective: int  # what the solvers minimise, in 1e-4 cent (route costs, CO2 price, penalties)
    feasible: bool
    violations: tuple[str, ...]
    solver: str
    runtime_s: float

    @property
    def n_vehicles_used(self) -> int:
        return len(self.routes)
