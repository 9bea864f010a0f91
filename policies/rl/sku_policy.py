"""One replenishment policy for every SKU: the learned projected-inventory quantile policy
(:mod:`policies.rl.projected`) conditioned on each SKU's features.

Per row of a :class:`~policies.replenishment.types.ReplenishmentObservation` the policy reads
the SKU's mean demand per period (Poisson demand of that mean; quantities therefore scale with
the SKU), its lead time, and its holding and lost-sales penalty costs (the observation's, or
the policy's defaults), and orders

    q = min(Q_alpha(D_{t+L} - I_{t+L})^+, cap)

with the projected on-hand ``I`` computed for that SKU's demand and pipeline, and

    logit(alpha) = w0 + w1 * logit(p / (p + h)) + w2 * L,     cap = mean + k * sqrt(mean) + 1

``(w0, w1, w2, k)`` are fitted by least squares to the policies learned per instance by
``benchmarks/rl_replenishment.py`` (CRN cross-entropy search, checkpoint selection on
simulated validation seeds): the rule distils those 16 x 5 learned policies into one function
of the SKU features. A SKU with zero mean demand orders nothing.

Units: stock in units, lead time in periods (days), costs per unit per period.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from policies.registry import PolicyParameterError
from policies.replenishment.types import (
    ObservationError,
    ReplenishmentDecision,
    ReplenishmentObservation,
)
from policies.rl.projected import ProjectedQuantilePolicy

__all__ = [
    "DEFAULT_RULE",
    "FractileRule",
    "SkuProjectedPolicy",
    "fit_fractile_rule",
    "sku_projected",
]


@dataclass(frozen=True, slots=True)
class FractileRule:
    """``logit(alpha) = w0 + w1 * logit(p/(p+h)) + w2 * L``; ``cap = mean + k sqrt(mean) + 1``."""

    w0: float
    w1: float
    w2: float
    cap_k: float

    def fractile(self, holding: float, penalty: float, lead_time: int) -> float:
        """``alpha`` for one SKU (clipped to [0.01, 0.999])."""
        crit = penalty / (penalty + holding)
        z = self.w0 + self.w1 * math.log(crit / (1.0 - crit)) + self.w2 * lead_time
        return float(min(max(1.0 / (1.0 + math.exp(-z)), 0.01), 0.999))

    def cap(self, mean: float) -> int:
        """Order cap in units for mean demand ``mean`` per period."""
        return math.ceil(mean + self.cap_k * math.sqrt(mean) + 1.0)


def fit_fractile_rule(
    rows: Sequence[tuple[float, float, int, float, int, float]],
) -> FractileRule:
    """Least-squares fit of the rule to learned policies.

    Args:
        rows: ``(holding, penalty, lead_time, fractile, cap, demand_mean)`` per learned policy.
    """
    arr = np.array(rows, dtype=np.float64)
    h, p, lead, alpha, cap, mean = arr.T
    crit = p / (p + h)
    x = np.column_stack([np.ones(len(arr)), np.log(crit / (1 - crit)), lead])
    y = np.log(alpha / (1 - alpha))
    w, *_ = np.linalg.lstsq(x, y, rcond=None)
    k = float(np.median((cap - 1.0 - mean) / np.sqrt(mean)))
    return FractileRule(float(w[0]), float(w[1]), float(w[2]), k)


#: Fitted on the 80 policies of ``benchmarks/rl_replenishment.py`` (16 cells x 5 seeds).
DEFAULT_RULE = FractileRule(w0=-0.2145, w1=1.0431, w2=-0.1179, cap_k=2.683)


class SkuProjectedPolicy:
    """The rule as a :class:`~policies.replenishment.types.ReplenishmentPolicy`.

    Args:
        holding_cost: default cost per unit held per period (rows without one), > 0.
        penalty_cost: default cost per unit of lost demand, > 0.
        rule: the fitted fractile and cap rule.

    Raises:
        PolicyParameterError: on a non-positive default cost (naming it).
    """

    def __init__(
        self,
        holding_cost: float = 1.0,
        penalty_cost: float = 9.0,
        rule: FractileRule = DEFAULT_RULE,
    ) -> None:
        for name, value in (("holding_cost", holding_cost), ("penalty_cost", penalty_cost)):
            if not (math.isfinite(value) and value > 0):
                raise PolicyParameterError(
                    f"{name} must be finite and > 0, got {value}", field=name, value=value
                )
        self.holding_cost = float(holding_cost)
        self.penalty_cost = float(penalty_cost)
        self.rule = rule

    def policy_for(
        self, mean: float, lead_time: int, holding: float, penalty: float
    ) -> ProjectedQuantilePolicy:
        """The per-SKU projected quantile policy."""
        return ProjectedQuantilePolicy(
            self.rule.fractile(holding, penalty, lead_time),
            self.rule.cap(mean),
            mean,
            lead_time,
        )

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        """Orders per SKU (units).

        Raises:
            ObservationError: the observation has no demand mean, or a row's mean is negative
                or not finite (named with the row).
        """
        if observation.demand_mean is None:
            raise ObservationError("demand_mean is required by the sku_projected policy")
        mean = np.asarray(observation.demand_mean, dtype=np.float64)
        bad = ~np.isfinite(mean) | (mean < 0)
        if bad.any():
            i = int(np.argmax(bad))
            raise ObservationError(f"demand_mean[{i}]={mean[i]} must be finite and >= 0")
        n = observation.n
        h = self._costs(observation.holding_cost, self.holding_cost, n)
        p = self._costs(observation.penalty_cost, self.penalty_cost, n)
        on_hand = np.asarray(observation.on_hand, dtype=np.int64) - np.asarray(
            observation.backorders, dtype=np.int64
        )
        on_hand = np.maximum(on_hand, 0)
        pipe = np.asarray(observation.pipeline, dtype=np.int64)
        orders = np.zeros(n, dtype=np.int64)
        # Rows sharing (mean, lead time, costs) are decided together.
        keys: dict[tuple[float, int, float, float], list[int]] = {}
        for i in range(n):
            key = (float(mean[i]), int(observation.lead_time[i]), float(h[i]), float(p[i]))
            keys.setdefault(key, []).append(i)
        for (mu, lead, hi, pi), rows in keys.items():
            if mu <= 0:
                continue
            idx = np.array(rows)
            width = pipe.shape[1]
            cols = pipe[idx, : min(lead, width)]
            if width < lead:
                cols = np.pad(cols, ((0, 0), (0, lead - width)))
            # Units arriving after an order placed now still count as arriving before it
            # (added to the last slot), so they are not ignored.
            if width > lead and lead > 0:
                cols[:, -1] += pipe[idx, lead:].sum(axis=1)
            stock = on_hand[idx] + (pipe[idx, lead:].sum(axis=1) if lead == 0 else 0)
            orders[idx] = self.policy_for(mu, lead, hi, pi).orders(stock, cols)
        return ReplenishmentDecision(orders, None)

    @staticmethod
    def _costs(values: NDArray[np.float64] | None, default: float, n: int) -> NDArray[np.float64]:
        if values is None:
            return np.full(n, default)
        arr = np.asarray(values, dtype=np.float64)
        return np.where(np.isfinite(arr) & (arr > 0), arr, default)

    def __repr__(self) -> str:
        return f"SkuProjectedPolicy(h={self.holding_cost}, p={self.penalty_cost}, {self.rule})"


def sku_projected(holding_cost: float = 1.0, penalty_cost: float = 9.0) -> SkuProjectedPolicy:
    """The learned SKU-conditioned projected-inventory policy (any SKU, at its own scale);
    ``holding_cost``/``penalty_cost`` are used for rows whose observation has none.

    Raises:
        PolicyParameterError: on a non-positive cost.
    """
    return SkuProjectedPolicy(holding_cost, penalty_cost)
