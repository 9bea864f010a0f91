"""The customer-experience twin: the twin with recommendations and a promotion plan, and the
paired comparison that measures their online uplift.

:class:`CxTwin` is :class:`twin.engine.Twin` plus, after its usual setup,

* a :class:`twin.recommend.RecommendationHook` on the online channel (shoppers shown the API's
  recommendations add what they accept; the API's model is retrained every ``retrain_days``
  at 23:30 on the orders and views so far), and
* a :class:`twin.promotions.PromotionPlan` published to the API (discounts charged by the API)
  whose demand lift multiplies the day's online demand rates.

:func:`uplift` runs the same scenario with and without recommendations on seeds ``seed,
seed+1, ...`` (common random numbers: the same world, demand, sessions and substitution
streams; acceptance draws from its own stream) and reports, per KPI, both means and the paired
difference with its t-based 95% confidence interval.
"""

from __future__ import annotations

import math
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import simpy
from scipy import stats

from api.client.base import CommerceClient
from api.clock import ManualClock
from scenarios.schema import Scenario
from twin.channels import OnlineChannel
from twin.engine import Twin, TwinResult
from twin.promotions import PromotionPlan
from twin.recommend import (
    RECOMMEND_STREAM,
    Acceptance,
    RecommendationHook,
    RecommendationStats,
    TasteModel,
)

__all__ = ["CxRun", "CxTwin", "Paired", "online_kpis", "paired", "run_cx", "uplift"]


class CxTwin(Twin):
    """The twin with recommendations (``recommend``: None off, False control: views only,
    True shown) and a promotion plan (see the module docstring)."""

    def __init__(
        self,
        scenario: Scenario,
        client: CommerceClient,
        clock: ManualClock,
        *,
        seed: int | None = None,
        days: int | None = None,
        recommend: bool | None = None,
        plan: PromotionPlan | None = None,
        retrain_days: int = 7,
        k: int = 4,
        acceptance: Acceptance | None = None,
    ) -> None:
        super().__init__(scenario, client, clock, seed=seed, days=days)
        if retrain_days < 1:
            raise ValueError(f"retrain_days {retrain_days} must be >= 1")
        self.recommend = recommend
        self.plan = plan
        self.retrain_days = retrain_days
        self.k = k
        self.acceptance = acceptance
        self.hook: RecommendationHook | None = None

    def setup(self) -> None:
        super().setup()
        w = self.world
        if self.plan is not None and self.plan.windows:
            plan = self.plan
            plan.publish(self.client, w.start)
            schedule = self.shopping.schedule

            def lifted(day: int, rates: np.ndarray) -> None:
                schedule(day, plan.apply(w, day, rates))

            self.shopping.schedule = lifted  # type: ignore[method-assign]
        if self.recommend is not None:
            ws = 0 if self.scenario.world_seed is None else self.scenario.world_seed
            taste = TasteModel.for_world(w, len(self.model.customers), ws)
            self.hook = RecommendationHook(
                self.client,
                w,
                taste,
                np.random.default_rng([self.seed, RECOMMEND_STREAM]),
                self.acceptance,
                k=self.k,
                enabled=self.recommend,
            )
            for ch in self.channels:
                if isinstance(ch, OnlineChannel):
                    ch.recommender = self.hook
            if self.recommend:
                self.env.process(self._retrain())

    def _retrain(self) -> Generator[simpy.Event, Any, None]:
        """Retrain the API's recommender at 23:30 every ``retrain_days`` days."""
        assert self.hook is not None
        t = self.retrain_days - 1 + 23.5 / 24.0
        while t < self.days:
            yield self.env.timeout(t - self.env.now)
            self.hook.retrain()
            t += self.retrain_days


@dataclass(frozen=True, slots=True)
class CxRun:
    """One run's online KPIs (after warm-up) and its recommendation counters."""

    kpis: dict[str, float]
    stats: RecommendationStats
    wall_seconds: float


def online_kpis(result: TwinResult, warmup: int) -> dict[str, float]:
    """Revenue (all and online, cents), online orders, units and basket size (units per
    order), over the days from ``warmup`` on."""
    d = result.book.data
    w = result.world
    on = slice(w.n_stores, w.n_sites)
    orders = float(d["online_orders"][warmup:, on].sum())
    units = float(d["units_sold"][warmup:, on].sum())
    return {
        "revenue_cents": float(d["revenue_cents"][warmup:].sum()),
        "online_revenue_cents": float(d["revenue_cents"][warmup:, on].sum()),
        "online_orders": orders,
        "online_units": units,
        "online_basket_units": units / orders if orders else 0.0,
        "online_revenue_per_order_cents": float(d["revenue_cents"][warmup:, on].sum()) / orders
        if orders
        else 0.0,
    }


def run_cx(
    scenario: Scenario,
    *,
    seed: int,
    days: int,
    recommend: bool | None,
    plan: PromotionPlan | None = None,
    database: str = ":memory:",
    retrain_days: int = 7,
    k: int = 4,
) -> CxRun:
    """Run :class:`CxTwin` once on a fresh in-process database; online KPIs after the
    scenario's warm-up (at least ``retrain_days``, before which no model exists)."""
    from twin.runner import open_commerce, resolve

    sc = resolve(scenario, seed=seed, days=days)
    clock = ManualClock(
        datetime(sc.start_date.year, sc.start_date.month, sc.start_date.day, tzinfo=UTC)
    )
    client, close, _mode = open_commerce(sc, clock, database=database)
    try:
        twin = CxTwin(
            sc,
            client,
            clock,
            seed=seed,
            days=days,
            recommend=recommend,
            plan=plan,
            retrain_days=retrain_days,
            k=k,
        )
        result = twin.run()
    finally:
        close()
    warm = min(max(sc.warmup_days, retrain_days), days - 1)
    st = twin.hook.stats if twin.hook is not None else RecommendationStats()
    return CxRun(online_kpis(result, warm), st, result.wall_seconds)


@dataclass(frozen=True, slots=True)
class Paired:
    """One KPI under two arms on the same seeds: means, paired difference and its 95% CI."""

    kpi: str
    control: float
    treatment: float
    diff: float
    ci_low: float
    ci_high: float
    rel: float  # diff / control
    n: int
    values: tuple[tuple[float, float], ...] = field(default_factory=tuple)


def paired(kpi: str, control: Sequence[float], treatment: Sequence[float]) -> Paired:
    """Paired t interval of ``treatment - control`` (same seeds, in order)."""
    c = np.asarray(control, dtype=np.float64)
    t = np.asarray(treatment, dtype=np.float64)
    d = t - c
    n = d.size
    half = (
        float(stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    )
    mean_c = float(c.mean())
    return Paired(
        kpi=kpi,
        control=mean_c,
        treatment=float(t.mean()),
        diff=float(d.mean()),
        ci_low=float(d.mean()) - half,
        ci_high=float(d.mean()) + half,
        rel=float(d.mean()) / mean_c if mean_c else float("nan"),
        n=n,
        values=tuple(zip(c.tolist(), t.tolist(), strict=True)),
    )


def uplift(
    scenario: Scenario,
    *,
    seeds: Sequence[int],
    days: int,
    plan: PromotionPlan | None = None,
    retrain_days: int = 7,
    k: int = 4,
) -> tuple[list[Paired], list[CxRun], list[CxRun]]:
    """Recommendations on vs off (the control still records views), same seeds: paired
    differences of the online KPIs. Returns (per-KPI results, control runs, treatment runs)."""
    ctrl = [
        run_cx(scenario, seed=s, days=days, recommend=False, plan=plan, retrain_days=retrain_days)
        for s in seeds
    ]
    treat = [
        run_cx(
            scenario, seed=s, days=days, recommend=True, plan=plan, retrain_days=retrain_days, k=k
        )
        for s in seeds
    ]
    out = [
        paired(name, [r.kpis[name] for r in ctrl], [r.kpis[name] for r in treat])
        for name in ctrl[0].kpis
    ]
    return out, ctrl, treat
