"""Compare a learned policy with the baselines, build validation reports, re-export runs.

Replenishment artifacts are compared with the best base-stock, best capped base-stock and
best (s,S) policies and the DP optimum; pricing artifacts with the best fixed price and the DP
optimum. Simulated figures use common random numbers (the same seeds for every policy) and
report a 95% t-interval over seeds; exact figures come from ``policies.exact`` and the pricing
recursion.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray
from scipy import stats

from dynamics.price import exponential_rate
from policies.artifacts import ArtifactPolicy, ValidationReport, safety_checks
from policies.replenishment.base_stock import (
    OrderFn,
    base_stock_orders,
    best_base_stock,
    best_capped_base_stock,
    capped_base_stock_orders,
)
from policies.rl.evaluate import (
    estimate_cost,
    from_artifact,
    simulate_costs,
    validate_replenishment,
)
from policies.stats import paired_difference_ci

if TYPE_CHECKING:
    from policies.exact.dp import InventoryMDP

__all__ = ["compare_policy", "export_run", "pricing_revenues", "validation_report"]

_REP_KEYS = ("demand_mean", "lead_time", "holding_cost", "penalty_cost", "lost_sales")


def _instance(policy: ArtifactPolicy) -> dict[str, Any]:
    from policies.envs.replenishment import ReplenishmentConfig

    kw = policy.manifest.env_kwargs
    cfg = ReplenishmentConfig(**{k: kw[k] for k in _REP_KEYS if k in kw})
    return {k: getattr(cfg, k) for k in _REP_KEYS}


def _mdp(inst: dict[str, Any]) -> InventoryMDP:
    from policies.exact.demand import poisson_demand
    from policies.exact.dp import InventoryMDP

    return InventoryMDP(
        poisson_demand(inst["demand_mean"]),
        inst["lead_time"],
        inst["holding_cost"],
        inst["penalty_cost"],
        inst["lost_sales"],
    )


def _s_big_s(low: NDArray[np.float64] | float, high: NDArray[np.float64] | float) -> OrderFn:
    def fn(obs: NDArray[np.float32]) -> NDArray[np.int64]:
        ip = obs[:, -1]
        return np.where(ip <= low, np.maximum(high - ip, 0), 0).astype(np.int64)

    return fn


def _best_s_big_s(level: int, sim: dict[str, Any]) -> tuple[int, int]:
    pairs = [
        (s, big) for big in range(level - 2, level + 7) for s in range(max(level - 12, 0), big)
    ]
    reps = len(sim["seeds"])
    lo = np.repeat([float(p[0]) for p in pairs], reps)
    hi = np.repeat([float(p[1]) for p in pairs], reps)
    costs = simulate_costs(_s_big_s(lo, hi), copies=len(pairs), **sim).mean(axis=1)
    return pairs[int(np.argmin(costs))]


def compare_policy(
    policy: ArtifactPolicy, *, seeds: int = 8, periods: int = 3000
) -> list[dict[str, Any]]:
    """Rows ``{policy, params, mean, half_width, exact, gap_pct, diff_vs_learned,
    diff_half_width}`` for the learned policy and the baselines of its environment (cost per
    period, or revenue per episode for pricing).

    Every policy runs on the same seeds (common random numbers), so ``diff_vs_learned`` (this
    row minus the learned policy, per seed) comes with the paired 95% half-width
    ``diff_half_width`` (:func:`policies.stats.paired_difference_ci`): the interval that says
    whether a gap is real, much narrower than the two separate ``half_width`` intervals.

    Raises:
        ValueError: the environment has no comparison defined, or ``seeds < 2``.
    """
    if seeds < 2:
        raise ValueError(f"seeds must be >= 2 for a confidence interval, got {seeds}")
    env_id = policy.manifest.env_id
    if env_id.startswith("ShopSphere/Replenishment-v"):
        return _compare_replenishment(policy, seeds, periods)
    if env_id.startswith("ShopSphere/DynamicPricing-v"):
        return _compare_pricing(policy, seeds)
    raise ValueError(
        f"no baseline comparison for {env_id}; supported: Replenishment, DynamicPricing"
    )


def _paired(values: NDArray[np.float64], learned: NDArray[np.float64]) -> dict[str, float]:
    """This policy minus the learned one, per common-random-number seed: mean and paired
    95% half-width."""
    ci = paired_difference_ci(values, learned)
    half = 0.0 if np.array_equal(values, learned) else ci.half_width
    return {"diff_vs_learned": ci.mean, "diff_half_width": half}


def _compare_replenishment(
    policy: ArtifactPolicy, seeds: int, periods: int
) -> list[dict[str, Any]]:
    from policies.exact.dp import solve
    from policies.rl.exact_eval import exact_replenishment_cost

    inst = _instance(policy)
    sim = dict(
        inst, seeds=tuple(range(seeds)), n_reps=1, periods=periods, burn_in=min(200, periods // 5)
    )
    exact_ok = inst["lead_time"] >= 1
    opt = solve(_mdp(inst)).average_cost if exact_ok else None
    bs = best_base_stock(_mdp(inst)) if exact_ok else None
    cbs = best_capped_base_stock(_mdp(inst)) if exact_ok else None
    level = bs.base_stock if bs else round(inst["demand_mean"] * (inst["lead_time"] + 1))
    s, big = _best_s_big_s(level, sim)
    candidates: list[tuple[str, str, Any, float | None]] = [
        (
            f"learned ({policy.manifest.algo})",
            policy.manifest.name,
            from_artifact(policy),
            exact_replenishment_cost(from_artifact(policy), **inst) if exact_ok else None,
        ),
    ]
    if bs and cbs:
        candidates += [
            ("base-stock", f"S={bs.base_stock}", base_stock_orders(bs.base_stock), bs.average_cost),
            (
                "capped base-stock",
                f"S={cbs.base_stock}, cap={cbs.cap}",
                capped_base_stock_orders(cbs.base_stock, cbs.cap or 0),
                cbs.average_cost,
            ),
        ]
    candidates.append(("(s,S)", f"s={s}, S={big}", _s_big_s(np.float64(s), np.float64(big)), None))
    rows = []
    learned_values: NDArray[np.float64] | None = None
    for label, params, fn, exact in candidates:
        values = simulate_costs(fn, **sim)
        learned_values = values if learned_values is None else learned_values
        est = estimate_cost(values)
        rows.append(
            {
                "policy": label,
                "params": params,
                "mean": est.mean,
                "half_width": est.half_width,
                "exact": exact,
                "gap_pct": None if exact is None or opt is None else 100 * (exact - opt) / opt,
                **_paired(values, learned_values),
            }
        )
    if opt is not None:
        rows.append(
            {
                "policy": "DP optimum",
                "params": "value iteration",
                "mean": opt,
                "half_width": 0.0,
                "exact": opt,
                "gap_pct": 0.0,
            }
        )
    return rows


def pricing_revenues(
    price_fn: Any, kwargs: dict[str, Any], seeds: tuple[int, ...], episodes: int = 2000
) -> NDArray[np.float64]:
    """Mean revenue per episode for each seed; demand by inverse CDF of shared uniforms, so
    policies compared on the same seeds see common random numbers."""
    from policies.envs.pricing import PricingConfig

    c = PricingConfig(**kwargs)
    out = []
    for seed in seeds:
        u = np.random.default_rng(seed).random((c.horizon, episodes))
        x = np.full(episodes, c.stock, dtype=np.int64)
        revenue = np.zeros(episodes)
        for k, n in enumerate(range(c.horizon, 0, -1)):
            obs = np.column_stack([x / c.stock, np.full(episodes, n / c.horizon)]).astype(
                np.float32
            )
            price = np.asarray(price_fn(obs), dtype=np.float64)
            demand = stats.poisson.ppf(u[k], exponential_rate(price, c.a, c.b)).astype(np.int64)
            sales = np.minimum(demand, x)
            revenue += price * sales
            x = x - sales
        out.append(revenue.mean())
    return np.asarray(out)


def _compare_pricing(policy: ArtifactPolicy, seeds: int) -> list[dict[str, Any]]:
    from policies.envs.pricing import PricingConfig
    from policies.pricing.dynamic import best_fixed_price, solve_dynamic_pricing
    from policies.rl.exact_eval import exact_pricing_revenue

    kw = policy.manifest.env_kwargs
    c = PricingConfig(**{k: v for k, v in kw.items() if k != "explore_start"})
    opt = solve_dynamic_pricing(c.stock, c.horizon, c.a, c.b)
    fixed = best_fixed_price(c.stock, c.horizon, c.a, c.b)
    learned = lambda o: policy.decide(o)[:, 0]  # noqa: E731
    dp_fn = lambda o: opt.price(  # noqa: E731
        np.rint(o[:, 1] * c.horizon).astype(int), np.rint(o[:, 0] * c.stock).astype(int)
    )
    fixed_fn = lambda o: np.full(len(o), fixed.price)  # noqa: E731
    seeds_t = tuple(range(seeds))
    rows = []
    learned_values: NDArray[np.float64] | None = None
    for label, params, fn, exact in (
        (
            f"learned ({policy.manifest.algo})",
            policy.manifest.name,
            learned,
            exact_pricing_revenue(learned, c.stock, c.horizon, c.a, c.b),
        ),
        ("best fixed price", f"p={fixed.price:.3f}", fixed_fn, fixed.revenue),
        ("DP optimum", "backward induction", dp_fn, opt.optimum),
    ):
        values = pricing_revenues(
            fn, {k: v for k, v in kw.items() if k != "explore_start"}, seeds_t
        )
        learned_values = values if learned_values is None else learned_values
        est = estimate_cost(values)
        rows.append(
            {
                "policy": label,
                "params": params,
                "mean": est.mean,
                "half_width": est.half_width,
                "exact": exact,
                "gap_pct": 100 * (opt.optimum - exact) / opt.optimum,
                **_paired(values, learned_values),
            }
        )
    return rows


def validation_report(
    policy: ArtifactPolicy,
    artifact_sha256: str,
    *,
    seeds: int = 8,
    periods: int = 3000,
    alpha: float = 0.05,
) -> ValidationReport:
    """Validate against the incumbent (best capped base-stock; best fixed price for pricing)
    on the shared-kernel simulation with common random numbers and a paired t-test."""
    env_id = policy.manifest.env_id
    seed_list = tuple(range(1000, 1000 + seeds))
    if env_id.startswith("ShopSphere/Replenishment-v"):
        inst = _instance(policy)
        cbs = best_capped_base_stock(_mdp(inst))
        return validate_replenishment(
            policy,
            capped_base_stock_orders(cbs.base_stock, cbs.cap or 0),
            baseline_name=f"capped_base_stock(S={cbs.base_stock}, cap={cbs.cap})",
            artifact_sha256=artifact_sha256,
            seeds=seed_list,
            periods=periods,
            alpha=alpha,
            **inst,
        )
    if env_id.startswith("ShopSphere/DynamicPricing-v"):
        from policies.envs.pricing import PricingConfig
        from policies.pricing.dynamic import best_fixed_price

        kw = {k: v for k, v in policy.manifest.env_kwargs.items() if k != "explore_start"}
        c = PricingConfig(**kw)
        fixed = best_fixed_price(c.stock, c.horizon, c.a, c.b)
        pol = pricing_revenues(lambda o: policy.decide(o)[:, 0], kw, seed_list)
        base = pricing_revenues(lambda o: np.full(len(o), fixed.price), kw, seed_list)
        p_value = float(stats.ttest_rel(pol, base, alternative="greater").pvalue)
        grid = np.array(
            [[x, n] for x in np.linspace(0, 1, 21) for n in np.linspace(0.05, 1, 20)],
            dtype=np.float32,
        )
        return ValidationReport(
            artifact_sha256=artifact_sha256,
            env_id=env_id,
            simulator="kernel",
            baseline=f"best_fixed_price(p={fixed.price:.3f})",
            objective="revenue",
            seeds=seed_list,
            policy_values=tuple(map(float, pol)),
            baseline_values=tuple(map(float, base)),
            p_value=p_value,
            alpha=alpha,
            safety=safety_checks(policy, grid),
            periods=c.horizon,
        )
    raise ValueError(f"no validation procedure for {env_id}")


def export_run(run_dir: Path, out: Path | None = None) -> Path:
    """Re-export a training run as an artifact folder (default ``run_dir/artifact``).

    Exports the best checkpoint by exact evaluation (``best_model.zip`` and
    ``best_vecnormalize.pkl``) when the run kept one, else the final ``model.zip`` (and
    ``vecnormalize.pkl``), so re-exporting never replaces the best policy by the last one.
    """
    from stable_baselines3 import A2C, DQN, PPO
    from stable_baselines3.common.vec_env import VecNormalize

    from policies.artifacts import save_artifact
    from policies.rl.export import export_sb3
    from policies.rl.train import (
        BEST_MODEL_FILE,
        BEST_VECNORM_FILE,
        _env_parts,
        load_config,
        make_training_env,
    )

    cfg = load_config(run_dir / "config.yaml")
    algo: Any = {"PPO": PPO, "A2C": A2C, "DQN": DQN}[cfg.algo]
    best = (run_dir / BEST_MODEL_FILE).exists()
    model_file = run_dir / (BEST_MODEL_FILE if best else "model.zip")
    stats_file = run_dir / (BEST_VECNORM_FILE if best else "vecnormalize.pkl")
    model = algo.load(model_file, device="cpu")
    vecnorm = None
    if stats_file.exists():
        venv = make_training_env(cfg)
        vecnorm = VecNormalize.load(
            str(stats_file), venv.venv if isinstance(venv, VecNormalize) else venv
        )
    _, mapping, obs_names = _env_parts(cfg)
    policy = export_sb3(
        model,
        mapping=mapping,
        name=cfg.name,
        env_id=cfg.env_id,
        obs_names=obs_names,
        vec_normalize=vecnorm,
        env_kwargs=cfg.env_kwargs,
        config=cfg.to_dict(),
        seed=cfg.seed,
    )
    return save_artifact(policy, out or run_dir / "artifact")
