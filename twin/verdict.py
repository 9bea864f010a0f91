"""Plain-language verdicts on paired comparisons: "B beats A on availability by 1.2 ± 0.4 points".

A verdict reads one KPI's paired difference (variant minus baseline, same seeds: common random
numbers) and its 95% confidence half-width, as :meth:`twin.runner.CompareResult.summary`
gives them. Whether more is better is a property of the KPI (:data:`HIGHER_IS_BETTER`); when
the interval contains zero, or there is only one seed, the verdict says the difference is not
significant rather than picking a winner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["HIGHER_IS_BETTER", "Verdict", "verdict"]

# KPI -> True when more is better, False when less is better.
HIGHER_IS_BETTER: dict[str, bool] = {
    "revenue_cents": True,
    "gross_margin_cents": True,
    "units_sold": True,
    "lost_units": False,
    "fill_rate": True,
    "service_level": True,
    "availability": True,
    "stockout_sku_days": False,
    "holding_cost_cents": False,
    "avg_on_hand_units": False,
    "inventory_turns": True,
    "online_cycle_time_hours_mean": False,
    "write_off_units": False,
}
SHARES = {"fill_rate", "service_level", "availability", "gross_margin_pct"}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome for one KPI: ``better``/``worse``/``same`` and the sentence saying it."""

    kpi: str
    outcome: str
    text: str


def _amount(kpi: str, value: float) -> str:
    if kpi in SHARES:
        return f"{100 * value:.2f} points"
    if kpi.endswith("_cents"):
        return f"{value / 100:,.2f}"
    return f"{value:,.2f}"


def verdict(kpi: str, variant: str, baseline: str, diff: float, half_width: float) -> Verdict:
    """The verdict of ``variant`` against ``baseline`` on ``kpi``.

    Args:
        diff: mean paired difference, variant minus baseline, in the KPI's units.
        half_width: 95% CI half-width of ``diff`` (NaN with one seed).
    """
    name = kpi.removesuffix("_cents")
    amount = _amount(kpi, abs(diff))
    hw = _amount(kpi, half_width) if math.isfinite(half_width) else "?"
    if not math.isfinite(half_width) or abs(diff) <= half_width:
        return Verdict(
            kpi,
            "same",
            f"{variant} and {baseline} do not differ significantly on {name} "
            f"(difference {_amount(kpi, diff) if diff >= 0 else '-' + amount} ± {hw})",
        )
    higher = HIGHER_IS_BETTER.get(kpi, True)
    better = (diff > 0) == higher
    word = "beats" if better else "trails"
    return Verdict(
        kpi,
        "better" if better else "worse",
        f"{variant} {word} {baseline} on {name} by {amount} ± {hw}",
    )
