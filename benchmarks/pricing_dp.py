"""Dynamic pricing of a fixed stock: DP optimum vs fluid bound vs best fixed price.

Model (see ``policies.pricing.dynamic``): ``stock`` units, ``horizon`` periods, demand per
period Poisson (or Bernoulli) with rate ``a * exp(-b * p)``, sales ``min(demand, stock left)``,
unsold stock worthless. For each (stock, horizon) case the script prints

* the DP optimum with continuous prices (exact expected revenue),
* the DP optimum on a price grid (step ``--grid-step``) as a share of the continuous one,
* the deterministic fluid upper bound and the DP's share of it,
* the best fixed price, its exact expected revenue and its share of the DP optimum,
* a Monte Carlo check of the DP policy (mean +- 1.96 standard errors over ``--paths`` paths),
* the solve time of the continuous DP.

Run: ``python benchmarks/pricing_dp.py`` (defaults ``--a 5 --b 1 --demand poisson``).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from policies.pricing import (
    best_fixed_price,
    fluid_bound,
    simulate_revenue,
    solve_dynamic_pricing,
)

DEFAULT_CASES = "10x20,20x20,40x20,25x100,50x100,100x100,200x100,100x400,200x400"


def parse_cases(text: str) -> list[tuple[int, int]]:
    """``"10x20,50x100"`` -> ``[(10, 20), (50, 100)]`` (stock x horizon)."""
    cases = []
    for item in text.split(","):
        stock, _, horizon = item.strip().partition("x")
        if not (stock.isdigit() and horizon.isdigit()):
            raise SystemExit(f"--cases: {item!r} is not STOCKxHORIZON, e.g. 10x20")
        cases.append((int(stock), int(horizon)))
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=float, default=5.0, help="arrivals per period at price 0")
    parser.add_argument("--b", type=float, default=1.0, help="price sensitivity per price unit")
    parser.add_argument("--demand", choices=["poisson", "bernoulli"], default="poisson")
    parser.add_argument("--cases", default=DEFAULT_CASES, help="STOCKxHORIZON,...")
    parser.add_argument("--grid-step", type=float, default=0.05, help="price grid step")
    parser.add_argument("--paths", type=int, default=10_000, help="Monte Carlo paths")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    if args.demand == "bernoulli" and args.a > 1:
        raise SystemExit(f"--a={args.a}: Bernoulli demand needs a <= 1 (rate at price 0)")

    a, b = args.a, args.b
    rng = np.random.default_rng(args.seed)
    # Bounds wide enough for every case: from price 0 to well above the largest optimal price.
    high = 10.0 / b
    grid = np.arange(0.0, high + 1e-9, args.grid_step)
    print(f"Dynamic pricing, demand {args.demand}, rate {a} * exp(-{b} p), prices in [0, {high}]")
    header = (
        f"{'stock':>5} {'horizon':>7} | {'DP optimum':>10} {'grid/DP':>8} | {'fluid bnd':>10}"
        f" {'DP/fluid':>8} | {'fixed p':>7} {'fixed rev':>10} {'fixed/DP':>8} |"
        f" {'MC mean +- 1.96 SE':>20} | {'solve s':>7}"
    )
    print(header)
    print("-" * len(header))
    for stock, horizon in parse_cases(args.cases):
        start = time.perf_counter()
        sol = solve_dynamic_pricing(
            stock, horizon, a, b, price_bounds=(0.0, high), demand=args.demand
        )
        seconds = time.perf_counter() - start
        on_grid = solve_dynamic_pricing(stock, horizon, a, b, grid, demand=args.demand)
        bound = fluid_bound(stock, horizon, a, b, (0.0, high))
        fixed = best_fixed_price(stock, horizon, a, b, price_bounds=(0.0, high), demand=args.demand)
        mc = simulate_revenue(sol.price, stock, horizon, a, b, args.paths, rng, args.demand)
        ci = f"{mc.mean:9.3f} +- {1.96 * mc.std_error:6.3f}"
        print(
            f"{stock:>5} {horizon:>7} | {sol.optimum:10.3f} {on_grid.optimum / sol.optimum:8.4%} |"
            f" {bound:10.3f} {sol.optimum / bound:8.2%} | {fixed.price:7.3f} {fixed.revenue:10.3f}"
            f" {fixed.revenue / sol.optimum:8.2%} | {ci:>20} | {seconds:7.2f}"
        )


if __name__ == "__main__":
    main()
