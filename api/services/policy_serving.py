"""Serve the configured replenishment and pricing policies: plans and price quotes.

The policy objects are those of :mod:`policies` (the twin runs the very same ones), built by
name through :mod:`policies.registry` or, for an RL policy, loaded from the validated registry
through :mod:`policies.artifacts` (NumPy only: importing this module pulls in neither torch,
gymnasium nor the twin).

* :class:`PolicyServing` holds the configured defaults (``SHOPSPHERE_REPLENISHMENT_POLICY`` /
  ``_PARAMS`` / ``_ARTIFACT``, the pricing equivalents, ``SHOPSPHERE_POLICY_REGISTRY_DIR``),
  built and verified once at app start: a bad name, bad parameters, or an unvalidated or
  tampered artifact raises :class:`PolicyConfigError` and the app does not start.
* :func:`plan_replenishment` reads stock counters and daily sales for a location (one query per
  kind of data), builds a :class:`~policies.replenishment.ReplenishmentObservation` and returns
  the policy's orders.
* :func:`quote_prices` reads prices, costs, stock and daily sales/price history, builds a
  :class:`~policies.pricing.PricingObservation` and returns the policy's prices; with
  ``apply`` it writes the changed ones through :func:`api.services.prices.set_prices`.

A policy named in a request overrides the default for that request; an unknown name or bad
parameters are a 422 naming ``policy.name`` or ``policy.params.<param>`` and the value.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter
from sqlalchemy import Connection, bindparam, select

from api.errors import InvalidInputError, NotFoundError
from api.models import T
from api.schemas import (
    PolicyLineError,
    PolicySpec,
    PriceQuote,
    PriceQuoteLine,
    PriceQuoteRequest,
    PriceSet,
    ReplenishmentPlan,
    ReplenishmentPlanLine,
    ReplenishmentPlanRequest,
)
from api.services import policy_data as data
from api.services import prices as price_svc
from api.services.context import Principal, ServiceContext, chunks, require_staff
from api.settings import Settings

log = logging.getLogger(__name__)
KINDS = ("replenishment", "pricing")
ARTIFACT_POLICY = "rl_artifact"
A_QUOTE: TypeAdapter[PriceQuote] = TypeAdapter(PriceQuote)  # idempotent replays of quotes


class PolicyConfigError(ValueError):
    """The configured policies cannot be served (the message names the setting and value)."""


@dataclass(frozen=True, slots=True)
class ServedPolicy:
    """A built policy with the name and parameters it was built from."""

    kind: str
    name: str
    params: dict[str, Any]
    policy: Any


def _registry() -> Any:
    # Imported here so that `import api.app` stays light until the first policy is built;
    # the adapters module registers the `rl_artifact` policies of both kinds.
    import policies.artifact_adapters
    import policies.registry

    return policies.registry


def _param_field(kind: str, name: str, message: str, allowed: Mapping[str, Any]) -> str | None:
    text = message.split(f"{kind} policy {name!r}: ", 1)[-1]
    for param in sorted(allowed, key=len, reverse=True):
        if text.startswith(param) or text.startswith(f"{param}="):
            return param
    return None


def build_policy(
    kind: str, name: str, params: Mapping[str, Any], *, where: str = "policy"
) -> ServedPolicy:
    """Build a registered policy, translating every refusal into :class:`InvalidInputError`.

    ``where`` prefixes the field names in the error (``policy.name``, ``policy.params.cap``).

    Raises:
        InvalidInputError: (422) unknown name (details list the known ones), unknown or missing
            parameters, or a value the policy rejects, naming the field and the value.
    """
    reg = _registry()
    try:
        reg.get(kind, name)
    except reg.UnknownPolicyError as exc:
        known = reg.available(kind)[kind]
        raise InvalidInputError(
            f"{where}.name: unknown {kind} policy {name!r}; known: {known}",
            details={"field": f"{where}.name", "value": name, "known": known},
        ) from exc
    allowed = reg.parameters(kind, name)
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise InvalidInputError(
            f"{where}.params.{unknown[0]}: {kind} policy {name!r} has no parameter {unknown[0]!r}; "
            f"allowed: {sorted(allowed)}",
            details={
                "field": f"{where}.params.{unknown[0]}",
                "value": params[unknown[0]],
                "allowed": sorted(allowed),
            },
        )
    missing = sorted(
        p for p, spec in allowed.items() if spec.default is spec.empty and p not in params
    )
    if missing:
        raise InvalidInputError(
            f"{where}.params.{missing[0]}: {kind} policy {name!r} needs it",
            details={"field": f"{where}.params.{missing[0]}", "value": None},
        )
    try:
        policy = reg.create(kind, name, dict(params))
    except (reg.PolicyError, TypeError, ValueError, ArithmeticError) as exc:
        param = str(getattr(exc, "field", None) or _param_field(kind, name, str(exc), allowed))
        known = param in allowed
        fname = f"{where}.params.{param}" if known else f"{where}.params"
        value = params.get(param) if known else dict(params)
        raise InvalidInputError(
            f"{fname}: {exc}", details={"field": fname, "value": _jsonable(value)}
        ) from exc
    return ServedPolicy(kind, name, dict(params), policy)


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)[:200]


@dataclass(slots=True)
class PolicyServing:
    """The configured default policies and serving parameters (one per app)."""

    replenishment: ServedPolicy
    pricing: ServedPolicy
    registry_dir: Path | None = None
    lead_time_days: int = 2
    history_days: int = 28
    days_left: int = 90
    min_price_ratio: float = 0.5
    max_price_ratio: float = 1.5
    _cache: dict[str, ServedPolicy] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings) -> PolicyServing:
        """Build and verify the defaults named by ``settings``.

        Raises:
            PolicyConfigError: naming the ``SHOPSPHERE_*`` variable and why (unknown policy,
                bad parameters, missing registry, artifact not found, not validated or tampered).
        """
        registry_dir = Path(settings.policy_registry_dir) if settings.policy_registry_dir else None
        served: dict[str, ServedPolicy] = {}
        for kind in KINDS:
            artifact = getattr(settings, f"{kind}_artifact")
            env_name = f"SHOPSPHERE_{kind.upper()}"
            if artifact:
                if registry_dir is None:
                    raise PolicyConfigError(
                        f"{env_name}_ARTIFACT={artifact!r} needs SHOPSPHERE_POLICY_REGISTRY_DIR"
                    )
                served[kind] = _load_artifact(kind, registry_dir, artifact)
                log.info("serving %s artifact %s from %s", kind, artifact, registry_dir)
                continue
            name, params = getattr(settings, f"{kind}_policy"), getattr(settings, f"{kind}_params")
            if name == ARTIFACT_POLICY:
                raise PolicyConfigError(
                    f"{env_name}_POLICY={name!r}: set {env_name}_ARTIFACT instead"
                )
            try:
                served[kind] = build_policy(kind, name, params)
            except InvalidInputError as exc:
                raise PolicyConfigError(
                    f"{env_name}_POLICY={name!r} / {env_name}_PARAMS="
                    f"{json.dumps(params)}: {exc.message}"
                ) from exc
        return cls(
            replenishment=served["replenishment"],
            pricing=served["pricing"],
            registry_dir=registry_dir,
            lead_time_days=settings.replenishment_lead_time_days,
            history_days=settings.policy_history_days,
            days_left=settings.pricing_days_left,
            min_price_ratio=settings.pricing_min_price_ratio,
            max_price_ratio=settings.pricing_max_price_ratio,
        )

    def resolve(self, kind: str, spec: PolicySpec | None) -> ServedPolicy:
        """The default policy of ``kind``, or the one ``spec`` names (built once, then cached).

        Raises:
            InvalidInputError: as :func:`build_policy`; also an ``rl_artifact`` request without
                a configured registry, or one that names ``registry_dir`` itself.
        """
        if spec is None:
            return self.replenishment if kind == "replenishment" else self.pricing
        params = dict(spec.params)
        if spec.name == ARTIFACT_POLICY:
            if "registry_dir" in params:
                raise InvalidInputError(
                    "policy.params.registry_dir is set by the server "
                    "(SHOPSPHERE_POLICY_REGISTRY_DIR)",
                    details={
                        "field": "policy.params.registry_dir",
                        "value": _jsonable(params["registry_dir"]),
                    },
                )
            if self.registry_dir is None:
                raise InvalidInputError(
                    "policy.name: no RL policy registry is configured on this server",
                    details={"field": "policy.name", "value": spec.name},
                )
            params["registry_dir"] = str(self.registry_dir)
        key = f"{kind}\n{spec.name}\n{json.dumps(params, sort_keys=True, default=str)}"
        hit = self._cache.get(key)
        if hit is None:
            hit = build_policy(kind, spec.name, params)
            if len(self._cache) >= 64:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = hit
        if spec.name == ARTIFACT_POLICY:  # report what the caller named, not the server path
            return ServedPolicy(kind, hit.name, dict(spec.params), hit.policy)
        return hit


def _load_artifact(kind: str, registry_dir: Path, spec: str) -> ServedPolicy:
    from policies.artifact_adapters import load_served_artifact
    from policies.registry import PolicyError

    try:
        policy = load_served_artifact(kind, registry_dir, spec)
    except PolicyError as exc:
        raise PolicyConfigError(
            f"SHOPSPHERE_{kind.upper()}_ARTIFACT={spec!r} refused: {exc}"
        ) from exc
    return ServedPolicy(kind, ARTIFACT_POLICY, {"artifact": spec}, policy)


@functools.cache
def default_serving() -> PolicyServing:
    """Defaults from the process environment (``Settings()``), for callers without an app
    (the in-process client)."""
    return PolicyServing.from_settings(Settings())


def _decide(served: ServedPolicy, observation: Any) -> tuple[Any, dict[int, Any]]:
    """The decision and the rows the policy refused (``row -> RowRefusal``).

    Policies with ``decide_each`` (served artifacts) refuse rows one by one, so one
    out-of-range SKU does not fail a multi-SKU request; when every row is refused, or a policy
    without ``decide_each`` refuses, the request is answered 422 naming the field.
    """
    from policies.registry import PolicyError

    try:
        each = getattr(served.policy, "decide_each", None)
        if each is None:
            return served.policy.decide(observation), {}
        decision, refused = each(observation)
        n = len(observation.on_hand)
        if n and len(refused) == n:
            first = refused[0]
            raise PolicyError(f"{first.field}={first.value}: {first.message}")
        return decision, {r.row: r for r in refused}
    except (PolicyError, ValueError, TypeError) as exc:
        raise InvalidInputError(
            f"policy: {served.kind} policy {served.name!r} cannot decide for this request: {exc}",
            details={"field": "policy", "value": served.name},
        ) from exc


def _line_error(refusal: Any) -> PolicyLineError | None:
    if refusal is None:
        return None
    return PolicyLineError(field=refusal.field, value=int(refusal.value), message=refusal.message)


# ---- replenishment ---------------------------------------------------------------------------
def plan_replenishment(
    ctx: ServiceContext,
    who: Principal,
    body: ReplenishmentPlanRequest,
    serving: PolicyServing | None = None,
) -> ReplenishmentPlan:
    """Order quantities for ``body.skus`` (default: every SKU stocked there) at ``body.location``.

    The observation per SKU: ``on_hand`` = on-hand units, ``backorders`` = reserved units (so
    the inventory position is available + on order), ``pipeline`` from ``body.pipeline`` (column
    ``j`` arrives in ``j`` days), ``lead_time`` = ``body.lead_time_days``, demand mean and
    standard deviation (units/day, ``ddof=1``) and the history itself from the last
    ``history_days`` whole days of sales there, ``period`` = the day's ordinal (for periodic
    review). Nothing is written.

    Raises: ForbiddenError (customer), NotFoundError (unknown location or SKUs, listed),
    InvalidInputError (bad policy or pipeline line, naming the field).
    """
    require_staff(who, "planning replenishment")
    serving = serving or default_serving()
    served = serving.resolve("replenishment", body.policy)
    lead = serving.lead_time_days if body.lead_time_days is None else body.lead_time_days
    hist_days = body.history_days or serving.history_days
    now = ctx.clock.now()
    window = data.Window.before(now, hist_days)
    with ctx.engine.connect() as conn:
        loc = ctx.location_id(conn, body.location)
        if body.skus is None:
            ids = data.stocked_skus(conn, loc)
        else:
            ids = ctx.sku_ids(conn, body.skus)
            missing = sorted(set(body.skus) - ids.keys())
            if missing:
                raise NotFoundError(f"unknown skus {missing[:10]}", details={"skus": missing[:100]})
            ids = {s: ids[s] for s in dict.fromkeys(body.skus)}
        codes, sku_ids = list(ids), list(ids.values())
        on_hand, reserved = data.stock_counters(conn, sku_ids, loc)
        history = data.daily_sales(ctx, conn, sku_ids, loc, window)
        conn.rollback()
    pipeline = _pipeline(body, codes, lead)
    from policies.replenishment import ReplenishmentObservation

    mean = history.mean(axis=1) if codes else np.zeros(0)
    std = history.std(axis=1, ddof=1) if codes else np.zeros(0)
    obs = ReplenishmentObservation.create(
        on_hand,
        pipeline,
        reserved,
        lead_time=lead,
        period=now.date().toordinal(),
        demand_mean=mean,
        demand_std=std,
        demand_history=history,
        skus=tuple(codes),
    )
    decision, refused = _decide(served, obs) if codes else (None, {})
    orders = decision.orders if decision is not None else np.zeros(0, dtype=np.int64)
    target = decision.target if decision is not None else None
    on_order = pipeline.sum(axis=1)
    lines = [
        ReplenishmentPlanLine(
            sku=codes[i],
            on_hand=int(on_hand[i]),
            available=int(on_hand[i] - reserved[i]),
            on_order=int(on_order[i]),
            inventory_position=int(on_hand[i] - reserved[i] + on_order[i]),
            demand_mean=float(mean[i]),
            demand_std=float(std[i]),
            order_quantity=int(orders[i]),
            target=None if target is None else float(np.asarray(target)[i]),
            error=_line_error(refused.get(i)),
        )
        for i in range(len(codes))
    ]
    return ReplenishmentPlan(
        location=body.location,
        policy=served.name,
        params=served.params,
        lead_time_days=lead,
        history_days=hist_days,
        generated_at=now,
        lines=lines,
    )


def _pipeline(body: ReplenishmentPlanRequest, codes: list[str], lead: int) -> np.ndarray:
    """Outstanding units ``(n, width)``; width is the lead time, or more when a line arrives
    later than an order placed now would."""
    index = {c: i for i, c in enumerate(codes)}
    width = max([lead, *(p.arrives_in_days + 1 for p in body.pipeline)])
    out = np.zeros((len(codes), width), dtype=np.int64)
    for k, p in enumerate(body.pipeline):
        i = index.get(p.sku)
        if i is None:
            raise InvalidInputError(
                f"pipeline[{k}].sku {p.sku!r} is not among the planned SKUs",
                details={"field": f"pipeline[{k}].sku", "value": p.sku},
            )
        out[i, p.arrives_in_days] += p.quantity
    return out


# ---- pricing ---------------------------------------------------------------------------------
def quote_prices(
    ctx: ServiceContext,
    who: Principal,
    body: PriceQuoteRequest,
    serving: PolicyServing | None = None,
) -> PriceQuote:
    """Prices for ``body.skus`` on ``body.channel`` from the pricing policy.

    Observation per SKU: current price on the channel, list price, cost, on-hand units (at
    ``body.location`` or all locations), ``days_left``, bounds ``[max(cost, min_ratio * list),
    max_ratio * list]`` in whole cents (the cost floor wins when it is above the ceiling), and
    the last ``history_days`` days of units sold and the noon price on the channel. With
    ``apply`` the quoted prices that differ from the current ones are written (open-ended,
    from now) in one bulk price update.

    Raises: ForbiddenError, NotFoundError (unknown SKUs or location), InvalidInputError (bad
    policy, or a minimum ratio above the maximum).
    """
    require_staff(who, "quoting prices")
    serving = serving or default_serving()
    served = serving.resolve("pricing", body.policy)
    lo_ratio = serving.min_price_ratio if body.min_price_ratio is None else body.min_price_ratio
    hi_ratio = serving.max_price_ratio if body.max_price_ratio is None else body.max_price_ratio
    if lo_ratio > hi_ratio:
        raise InvalidInputError(
            f"min_price_ratio {lo_ratio} is above max_price_ratio {hi_ratio}",
            details={"field": "min_price_ratio", "value": lo_ratio},
        )
    hist_days = body.history_days or serving.history_days
    days_left = serving.days_left if body.days_left is None else body.days_left
    now = ctx.clock.now()
    window = data.Window.before(now, hist_days)
    channel = body.channel.value
    with ctx.engine.connect() as conn:
        loc = ctx.location_id(conn, body.location) if body.location is not None else None
        ids = ctx.sku_ids(conn, body.skus)
        missing = sorted(set(body.skus) - ids.keys())
        if missing:
            raise NotFoundError(f"unknown skus {missing[:10]}", details={"skus": missing[:100]})
        codes = list(dict.fromkeys(body.skus))
        sku_ids = [ids[c] for c in codes]
        cost, list_price = _sku_money(conn, sku_ids)
        current_map = price_svc.current_prices(conn, sku_ids, channel, now)
        current = np.array([current_map[s] for s in sku_ids], dtype=np.int64)
        on_hand, _ = data.stock_counters(conn, sku_ids, loc)
        sales = data.daily_sales(ctx, conn, sku_ids, loc, window)
        price_hist = data.daily_prices(conn, sku_ids, list_price, channel, window)
        conn.rollback()
    lo = np.maximum(cost, np.ceil(list_price * lo_ratio - 1e-9)).astype(np.int64)
    hi = np.maximum(np.floor(list_price * hi_ratio + 1e-9).astype(np.int64), lo)
    from policies.pricing import PricingObservation

    obs = PricingObservation(
        price_cents=current,
        list_price_cents=list_price,
        cost_cents=cost,
        on_hand=on_hand,
        days_left=np.full(len(codes), days_left, dtype=np.int64),
        min_price_cents=lo,
        max_price_cents=hi,
        sales_history=sales,
        price_history_cents=price_hist,
    )
    decision, refused = _decide(served, obs)
    quoted = np.asarray(decision.price_cents, dtype=np.int64)
    updated = 0
    if body.apply:
        changes = [
            PriceSet(sku=codes[i], channel=body.channel, price_cents=int(quoted[i]))
            for i in np.nonzero(quoted != current)[0]
        ]
        updated = price_svc.set_prices(ctx, who, changes).updated
    lines = [
        PriceQuoteLine(
            sku=codes[i],
            current_price_cents=int(current[i]),
            list_price_cents=int(list_price[i]),
            cost_cents=int(cost[i]),
            on_hand=int(on_hand[i]),
            min_price_cents=int(lo[i]),
            max_price_cents=int(hi[i]),
            quoted_price_cents=int(quoted[i]),
            error=_line_error(refused.get(i)),
        )
        for i in range(len(codes))
    ]
    return PriceQuote(
        channel=body.channel,
        location=body.location,
        policy=served.name,
        params=served.params,
        generated_at=now,
        applied=body.apply,
        updated=updated,
        lines=lines,
    )


def _sku_money(conn: Connection, sku_ids: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """``(cost_cents, list_price_cents)`` per SKU id, in the order given (one query per chunk)."""
    sku = T["skus"]
    stmt = select(sku.c.id, sku.c.cost_cents, sku.c.list_price_cents).where(
        sku.c.id.in_(bindparam("ids", expanding=True))
    )
    got: dict[int, tuple[int, int]] = {}
    for chunk in chunks(sku_ids, 5000):
        for r in conn.execute(stmt, {"ids": list(chunk)}):
            got[int(r.id)] = (int(r.cost_cents), int(r.list_price_cents))
    cost = np.array([got[s][0] for s in sku_ids], dtype=np.int64)
    lst = np.array([got[s][1] for s in sku_ids], dtype=np.int64)
    return cost, lst
