"""Pricing policies (the pricing agent) and exact dynamic-pricing solvers.

Importing this package registers its policies with :mod:`policies.registry` under kind
``"pricing"``: ``static``, ``markdown``, ``elasticity`` and ``dynamic_dp``.

Policies (``decide(PricingObservation) -> PricingDecision``, vectorised over SKUs):
    :class:`StaticPricePolicy`, :class:`MarkdownSchedulePolicy`,
    :class:`ElasticityPricingPolicy`, :class:`DynamicPricingPolicy`.

Dynamic pricing of a fixed stock (exponential demand ``a * exp(-b p)``, Poisson or Bernoulli
arrivals): :func:`solve_dynamic_pricing` (exact DP), :func:`fluid_bound` (upper bound),
:func:`best_fixed_price` / :func:`fixed_price_revenue` (the fixed-price heuristic, exact), and
:func:`evaluate_price_table` / :func:`simulate_revenue` to measure any other rule (e.g. an RL
policy) on the same model.
"""

from policies.pricing.dynamic import (
    DemandModel,
    DPPricingSolution,
    FixedPriceResult,
    best_fixed_price,
    demand_rate,
    expected_sales,
    fixed_price_revenue,
    fluid_bound,
    solve_dynamic_pricing,
)
from policies.pricing.dynamic_policy import DynamicPricingPolicy, dynamic_dp_policy
from policies.pricing.elasticity import (
    ElasticityPricingPolicy,
    LogLinearFit,
    fit_log_linear_demand,
    optimal_margin_price,
)
from policies.pricing.evaluation import (
    MonteCarloRevenue,
    PriceRule,
    evaluate_price_table,
    simulate_revenue,
)
from policies.pricing.rules import MarkdownSchedulePolicy, StaticPricePolicy
from policies.pricing.types import (
    PricingDecision,
    PricingError,
    PricingObservation,
    PricingPolicy,
    to_bounded_cents,
)

__all__ = [
    "DPPricingSolution",
    "DemandModel",
    "DynamicPricingPolicy",
    "ElasticityPricingPolicy",
    "FixedPriceResult",
    "LogLinearFit",
    "MarkdownSchedulePolicy",
    "MonteCarloRevenue",
    "PriceRule",
    "PricingDecision",
    "PricingError",
    "PricingObservation",
    "PricingPolicy",
    "StaticPricePolicy",
    "best_fixed_price",
    "demand_rate",
    "dynamic_dp_policy",
    "evaluate_price_table",
    "expected_sales",
    "fit_log_linear_demand",
    "fixed_price_revenue",
    "fluid_bound",
    "optimal_margin_price",
    "simulate_revenue",
    "solve_dynamic_pricing",
    "to_bounded_cents",
]
