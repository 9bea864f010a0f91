"""Export the learned parametric policies as signed-registry artifacts
(:mod:`policies.artifacts.parametric`).

* :func:`export_projected`: a trained :class:`~policies.rl.projected.ProjectedQuantilePolicy`
  (``projected_quantile``) on its ``ShopSphere/Replenishment-v0`` instance;
* :func:`export_pricing`: a trained :class:`~policies.rl.pricing_search.FluidPricePolicy`
  (``fluid_price``) on its ``ShopSphere/DynamicPricing-v0`` instance;
* :func:`export_sku_rule`: the SKU-conditioned rule (``sku_projected``), with the instance on
  which promotion validates it.

:func:`learn_and_export` trains one (cross-entropy search with common random numbers, the
checkpoint selected on simulated validation seeds) and exports it; ``shopsphere export-learned``
calls it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from policies.artifacts import Manifest, ParametricPolicy, parametric_policy
from policies.rl.export import git_commit
from policies.rl.pricing_search import FluidPricePolicy, PricingSearchConfig, train_pricing_policy
from policies.rl.projected import ProjectedQuantilePolicy, SearchConfig, train_projected_policy
from policies.rl.sku_policy import DEFAULT_RULE, FractileRule

__all__ = ["Method", "export_pricing", "export_projected", "export_sku_rule", "learn_and_export"]

Method = Literal["projected", "pricing-search", "sku-projected"]
REPLENISHMENT_ENV = "ShopSphere/Replenishment-v0"
PRICING_ENV = "ShopSphere/DynamicPricing-v0"


def _manifest(
    name: str,
    env_id: str,
    algo: str,
    obs_names: tuple[str, ...],
    env_kwargs: dict[str, Any],
    config: dict[str, Any],
    seed: int,
    steps: int,
) -> Manifest:
    return Manifest(
        name=name,
        env_id=env_id,
        algo=algo,
        obs_names=obs_names,
        env_kwargs=env_kwargs,
        config=config,
        seed=seed,
        training_steps=steps,
        git_commit=git_commit(),
        created_at=datetime.now(UTC).isoformat(),
    )


def _rep_obs_names(lead_time: int) -> tuple[str, ...]:
    if lead_time == 0:
        return ("net_stock_units", "inventory_position_units")
    pipes = tuple(f"pipeline_{j}_units" for j in range(1, lead_time))
    return ("available_units", *pipes, "inventory_position_units")


def export_projected(
    policy: ProjectedQuantilePolicy,
    *,
    name: str,
    holding: float,
    penalty: float,
    seed: int = 0,
    training_steps: int = 0,
    config: dict[str, Any] | None = None,
) -> ParametricPolicy:
    """A ``projected_quantile`` artifact of a trained policy on its lost-sales instance.

    Raises:
        ArtifactFormatError: invalid parameters or instance.
    """
    kw: dict[str, Any] = {
        "demand_mean": policy.demand_mean,
        "lead_time": policy.lead_time,
        "holding_cost": holding,
        "penalty_cost": penalty,
        "lost_sales": True,
    }
    if policy.cap is not None:
        kw["max_order"] = max(policy.cap, 1)
    manifest = _manifest(
        name,
        REPLENISHMENT_ENV,
        "CEM-projected",
        _rep_obs_names(policy.lead_time),
        kw,
        config or {},
        seed,
        training_steps,
    )
    return parametric_policy(
        "projected_quantile", {"fractile": policy.fractile, "cap": policy.cap}, manifest
    )


def export_sku_rule(
    rule: FractileRule = DEFAULT_RULE,
    *,
    name: str,
    demand_mean: float,
    lead_time: int,
    holding: float,
    penalty: float,
) -> ParametricPolicy:
    """A ``sku_projected`` artifact: the rule, validated at promotion on the given instance
    (the costs are also its defaults for rows that carry none when served).

    Raises:
        ArtifactFormatError: invalid parameters or instance.
    """
    kw: dict[str, Any] = {
        "demand_mean": demand_mean,
        "lead_time": lead_time,
        "holding_cost": holding,
        "penalty_cost": penalty,
        "lost_sales": True,
        "max_order": rule.cap(demand_mean),
    }
    params = {"w0": rule.w0, "w1": rule.w1, "w2": rule.w2, "cap_k": rule.cap_k}
    manifest = _manifest(
        name, REPLENISHMENT_ENV, "fitted-rule", _rep_obs_names(lead_time), kw, {}, 0, 0
    )
    return parametric_policy("sku_projected", params, manifest)


def export_pricing(
    policy: FluidPricePolicy,
    *,
    name: str,
    stock: int,
    horizon: int,
    seed: int = 0,
    training_steps: int = 0,
    config: dict[str, Any] | None = None,
) -> ParametricPolicy:
    """A ``fluid_price`` artifact of a trained policy on its pricing instance.

    Raises:
        ArtifactFormatError: invalid parameters or instance.
    """
    kw: dict[str, Any] = {"stock": stock, "horizon": horizon, "a": policy.a, "b": policy.b}
    manifest = _manifest(
        name,
        PRICING_ENV,
        "CEM-pricing",
        ("on_hand_fraction", "days_left_fraction"),
        kw,
        config or {},
        seed,
        training_steps,
    )
    return parametric_policy("fluid_price", {"theta": list(policy.theta)}, manifest)


def learn_and_export(
    method: Method,
    *,
    name: str,
    seed: int = 0,
    generations: int | None = None,
    demand_mean: float = 5.0,
    lead_time: int = 2,
    holding: float = 1.0,
    penalty: float = 9.0,
    stock: int = 20,
    horizon: int = 20,
    a: float = 3.0,
    b: float = 0.5,
) -> ParametricPolicy:
    """Train (``projected``, ``pricing-search``) or take the fitted rule (``sku-projected``)
    and return the artifact.

    Raises:
        PolicyError: invalid instance or search settings (naming the value).
        ValueError: an unknown method.
    """
    if method == "projected":
        cfg = SearchConfig() if generations is None else SearchConfig(generations=generations)
        res = train_projected_policy(
            demand_mean=demand_mean,
            lead_time=lead_time,
            holding=holding,
            penalty=penalty,
            seed=seed,
            config=cfg,
        )
        return export_projected(
            res.policy,
            name=name,
            holding=holding,
            penalty=penalty,
            seed=seed,
            training_steps=res.simulated_periods,
            config={"method": method, "generations": cfg.generations},
        )
    if method == "pricing-search":
        pcfg = (
            PricingSearchConfig()
            if generations is None
            else PricingSearchConfig(generations=generations)
        )
        pres = train_pricing_policy(stock=stock, horizon=horizon, a=a, b=b, seed=seed, config=pcfg)
        return export_pricing(
            pres.policy,
            name=name,
            stock=stock,
            horizon=horizon,
            seed=seed,
            training_steps=pres.simulated_periods,
            config={"method": method, "generations": pcfg.generations},
        )
    if method == "sku-projected":
        return export_sku_rule(
            name=name,
            demand_mean=demand_mean,
            lead_time=lead_time,
            holding=holding,
            penalty=penalty,
        )
    raise ValueError(f"method {method!r} must be projected, pricing-search or sku-projected")
