"""The twin-side routing figures for ``benchmarks/routing.py``: one day of ``large.yaml``'s
online orders through the fleet's planner, and the CO2-versus-cost table.

Orders are drawn as the twin draws them (customers around their store with the scenario's
``home_spread_km``, baskets of 1 + Poisson(4) units, slots the fleet offers), at the volume
``docs/twin.md`` gives for ``large.yaml`` (about 18,400 online orders a day), shared out over
the stores by floor area.
"""

from __future__ import annotations

import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from policies.routing import (
    Depot,
    RoutingProblem,
    SolveOptions,
    Stop,
    VehicleType,
    make_router,
)
from policies.routing.daily import DailyPlanConfig, plan_deliveries

ROOT = Path(__file__).resolve().parents[1]
LARGE_ORDERS_PER_DAY = 18_400


def _large():  # type: ignore[no-untyped-def]
    from scenarios.load import read_yaml
    from scenarios.schema import parse_scenario

    data, _ = read_yaml(ROOT / "scenarios" / "large.yaml")
    return parse_scenario(data, source="large.yaml")


def large_day(seed: int, orders_per_day: int = LARGE_ORDERS_PER_DAY):  # type: ignore[no-untyped-def]
    """(FleetModel, due orders) for one day of large.yaml's online volume."""
    from twin.fleet import FleetModel, PendingOrder

    sc = _large()
    rng = np.random.default_rng(seed)
    model = FleetModel(sc, rng)
    stores = sc.world.stores
    wh_index = {wh.code: w for w, wh in enumerate(sc.world.warehouses)}
    area = np.array([s.size_m2 for s in stores], dtype=float)
    per_store = rng.multinomial(orders_per_day, area / area.sum())
    spread = sc.customers.home_spread_km
    due = []
    ref = 0
    for s, n in zip(stores, per_store, strict=True):
        lat = s.lat + rng.normal(0.0, spread / 110.574, n)
        lon = s.lon + rng.normal(0.0, spread / (111.32 * math.cos(math.radians(s.lat))), n)
        units = 1 + rng.poisson(4.0, n)
        for k in range(n):
            ref += 1
            o = PendingOrder(ref, float(lat[k]), float(lon[k]), {}, 0.0, int(units[k]))
            w = wh_index[s.warehouse]
            model.promise(w, o, 0.0)
            due.append((w, o))
    return model, due


def run_twin_day(seed: int, *, vans_per_depot: int | None = None) -> dict[str, object]:
    """Plan one large.yaml day; print wall and CPU time and the plan's KPIs."""
    out: dict[str, object] = {}
    for label, vans in (("as shipped", None), ("sized to the volume", vans_per_depot or 160)):
        model, due = large_day(seed)
        vehicles = model.vehicles
        if vans is not None:
            types_at = [sum(1 for u in model.vehicles if u.depot == v.depot) for v in vehicles]
            vehicles = tuple(
                VehicleType(**{**_fields(v), "count": max(1, vans // k)})  # type: ignore[arg-type]
                for v, k in zip(model.vehicles, types_at, strict=True)
            )
        orders = model.delivery_orders(due)
        cfg = DailyPlanConfig(
            router="pyvrp", max_iterations=None, time_limit_s=45.0, max_cluster=200, seed=seed
        )
        c0, w0 = time.process_time(), time.perf_counter()
        plan = plan_deliveries(orders, model.depots, vehicles, cfg)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        routed = sum(len(r.orders) for r in plan.routes)
        parcel = len(plan.unrouted)
        st = model.settings
        cost = plan.cost_cents + parcel * st.parcel_cost_cents
        co2 = plan.co2_g + parcel * st.parcel_co2_g
        row = {
            "orders": len(orders),
            "vans": sum(v.count for v in vehicles),
            "sectors": plan.sectors,
            "routes": len(plan.routes),
            "routed": routed,
            "unreachable": len(plan.unreachable),
            "to_parcel": parcel,
            "feasible": plan.feasible,
            "km": round(plan.distance_km),
            "van_utilisation": round(
                sum(r.load for r in plan.routes) / max(1, sum(r.capacity for r in plan.routes)), 3
            ),
            "cost_per_order_cents": round(cost / len(orders)),
            "co2_g_per_order": round(co2 / len(orders)),
            "wall_s": round(wall, 1),
            "cpu_s": round(cpu, 1),
        }
        out[label] = row
        print(f"twin day, large.yaml volume, fleet {label}: {row}", flush=True)
    return out


def _fields(v: VehicleType) -> dict[str, object]:
    return {f: getattr(v, f) for f in v.__slots__}  # type: ignore[attr-defined]


def city_problem(seed: int, co2_price: float) -> RoutingProblem:
    """A city day: 300 orders within ~8 km of one depot, 2-hour slots, a mixed fleet."""
    rng = np.random.default_rng(seed)
    n = 300
    r = 8.0 * np.sqrt(rng.uniform(0, 1, n))
    a = rng.uniform(0, 2 * math.pi, n)
    slots = [(540.0 + 120 * k, 660.0 + 120 * k) for k in range(4)]
    pick = rng.integers(0, len(slots), n)
    units = 1 + rng.poisson(3.0, n)
    stops = tuple(
        Stop(
            f"o{i}",
            float(r[i] * math.cos(a[i])),
            float(r[i] * math.sin(a[i])),
            demand=int(units[i]),
            service_min=5.0,
            tw_early_min=slots[pick[i]][0],
            tw_late_min=slots[pick[i]][1],
            required=False,
            penalty_cents=1690,
        )
        for i in range(n)
    )
    vehicles = (
        VehicleType(
            "diesel-van",
            count=8,
            capacity=300,
            speed_kmh=30,
            cost_per_km_cents=30,
            cost_per_hour_cents=2500,
            fixed_cost_cents=2500,
            co2_g_per_km=250.0,
            distance_factor=1.3,
        ),
        VehicleType(
            "e-van",
            count=8,
            capacity=250,
            speed_kmh=30,
            cost_per_km_cents=12,
            cost_per_hour_cents=2500,
            fixed_cost_cents=6000,
            co2_g_per_km=50.0,
            distance_factor=1.3,
        ),
        VehicleType(
            "cargo-bike",
            count=8,
            capacity=40,
            speed_kmh=16,
            cost_per_km_cents=4,
            cost_per_hour_cents=2200,
            fixed_cost_cents=500,
            co2_g_per_km=5.0,
            max_route_km=60.0,
            distance_factor=1.1,
        ),
    )
    return RoutingProblem(
        depots=(Depot("hub", 0.0, 0.0),),
        stops=stops,
        vehicles=tuple(
            replace(v, shift_start_min=480.0, shift_end_min=1080.0, max_shift_min=600.0)
            for v in vehicles
        ),
        co2_price_cents_per_kg=co2_price,
    )


FLEET_MIXES = (
    ("diesel vans", (8, 0, 0)),
    ("diesel vans + cargo bikes", (8, 0, 8)),
    ("e-vans + cargo bikes", (0, 8, 8)),
    ("e-vans", (0, 8, 0)),
)


def run_green(seed: int, *, time_limit_s: float = 6.0) -> dict[str, object]:
    """CO2 versus cost: route the city day with each fleet mix, then, for each CO2 price, the
    mix with the least cost + priced CO2 (the mix is the lever; within a mix, km cost and CO2
    both scale with km, so the routes barely move with the price)."""
    base = city_problem(seed, 0.0)
    mixes: list[dict[str, object]] = []
    print(
        "\ngreen objective, city day (300 orders, 4 fleet mixes, "
        f"PyVRP {time_limit_s:g} s CPU each):"
    )
    print("| fleet mix | cost EUR | CO2 kg | km | routes | unrouted |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, counts in FLEET_MIXES:
        vehicles = tuple(replace(v, count=c) for v, c in zip(base.vehicles, counts, strict=True))
        problem = RoutingProblem(base.depots, base.stops, vehicles)
        sol = make_router("pyvrp").solve(
            problem, SolveOptions(time_limit_s=time_limit_s, seed=seed, cpu_time=True)
        )
        row: dict[str, object] = {
            "mix": name,
            "cost_eur": round((sol.cost_cents + sol.penalty_cents) / 100.0, 2),
            "co2_kg": round(sol.co2_g / 1000.0, 1),
            "km": round(sol.distance_km, 1),
            "routes": sol.n_vehicles_used,
            "unrouted": len(sol.unserved),
            "feasible": sol.feasible,
        }
        mixes.append(row)
        print(
            f"| {name} | {row['cost_eur']:.2f} | {row['co2_kg']} | {row['km']} | "
            f"{row['routes']} | {row['unrouted']} |",
            flush=True,
        )
    print("\n| CO2 price (EUR/t) | best mix | cost EUR | CO2 kg | cost + CO2 EUR |")
    print("|---:|---|---:|---:|---:|")
    choice: list[dict[str, object]] = []
    for price in (0, 50, 100, 200, 500, 1000, 2000, 5000):

        def total(m: dict[str, object], price: int = price) -> float:
            return float(m["cost_eur"]) + float(m["co2_kg"]) * price / 1000.0  # type: ignore[arg-type]

        best = min(mixes, key=total)
        choice.append(
            {"co2_price_eur_per_t": price, "mix": best["mix"], "total_eur": round(total(best), 2)}
        )
        print(
            f"| {price} | {best['mix']} | {best['cost_eur']} | {best['co2_kg']} | "
            f"{total(best):.2f} |"
        )
    print(
        "cost = vans' fixed, km and hour costs + 16.90 EUR per unrouted order (parcel + late "
        "fee); CO2 of the vehicles only"
    )
    return {"mixes": mixes, "choice": choice}
