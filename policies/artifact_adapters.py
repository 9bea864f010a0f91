"""Exported RL artifacts behind the replenishment and pricing policy protocols.

An artifact (a network, :class:`~policies.artifacts.FrameworkFreePolicy`, or a learned
parametric policy, :class:`~policies.artifacts.ParametricPolicy`) maps its environment's
observation vector to a decision. The adapters here build that vector from the observations
every other policy receives, so a validated artifact is served, simulated or compared exactly like
``base_stock`` or ``markdown`` (NumPy only: no torch, gymnasium or twin import).

* :class:`ArtifactReplenishmentPolicy` serves ``ShopSphere/Replenishment-v0`` artifacts:
  observation ``[available, pipeline_1 .. pipeline_{L-1}, inventory_position]`` in units, as in
  :func:`policies.envs.replenishment.observation_batch`, decision ``order_units``.
* :class:`ArtifactPricingPolicy` serves ``ShopSphere/DynamicPricing-v0`` artifacts:
  observation ``[on_hand / stock, days_left / horizon]``, decision ``price`` in the
  artifact's training units, expressed per SKU as the same fraction of the SKU's list price.

* :class:`ArtifactSkuPolicy` serves a parametric ``sku_projected`` artifact: the learned rule
  conditioned on each row's own features (mean demand, lead time, holding and penalty costs,
  the artifact's training costs where a row has none), so any SKU at its own scale and lead
  time; rows without a usable demand mean are refused one by one.

Scale (per SKU): replenishment quantities are divided by the SKU's mean demand over the
artifact's training mean before the network and multiplied back after (a SKU without demand
orders 0); prices are in the SKU's own units (training price / training reference price *
the SKU's list price in cents). Rows an artifact cannot decide for (another lead time, more
units or days than trained) are refused one by one (``decide_each``).

The factories :func:`rl_replenishment_artifact` and :func:`rl_pricing_artifact` are registered
explicitly by :mod:`policies.registry` under the name ``rl_artifact`` (kinds ``replenishment``
and ``pricing``), whatever has been imported; they load through
:func:`policies.artifacts.load_validated`, so only validated, untampered artifacts are built.
An RL artifact is one trained instance (``manifest.env_kwargs``): it applies its learned rule to
every row it is given.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, overload

import numpy as np
from numpy.typing import NDArray

from policies.artifacts import (
    ArtifactFormatError,
    ArtifactPolicy,
    ParametricPolicy,
    load_validated,
)
from policies.pricing.types import (
    PricingDecision,
    PricingError,
    PricingObservation,
    to_bounded_cents,
)
from policies.replenishment.types import (
    ObservationError,
    ReplenishmentDecision,
    ReplenishmentObservation,
)

__all__ = [
    "ArtifactPricingPolicy",
    "ArtifactReplenishmentPolicy",
    "ArtifactSkuPolicy",
    "RowRefusal",
    "load_served_artifact",
    "parse_artifact_spec",
]

REPLENISHMENT_ENV = "ShopSphere/Replenishment-v"
PRICING_ENV = "ShopSphere/DynamicPricing-v"


def parse_artifact_spec(spec: str) -> tuple[str, str | None]:
    """``"name"`` or ``"name@v0003"`` -> ``(name, version or None)``.

    Raises:
        ArtifactFormatError: an empty name or version.
    """
    name, _, version = spec.strip().partition("@")
    if not name or (spec.count("@") and not version):
        raise ArtifactFormatError(f"artifact {spec!r} must be 'name' or 'name@vNNNN'")
    return name, version or None


@dataclass(frozen=True, slots=True)
class RowRefusal:
    """One row (SKU) of a multi-SKU request the artifact cannot decide for.

    Attributes:
        row: index of the row in the observation.
        field: the observation field at fault (``on_hand``, ``days_left``, ``lead_time``,
            ``pipeline``).
        value: its value in that row.
        message: why, for a person.
    """

    row: int
    field: str
    value: int
    message: str


def _label(policy: ArtifactPolicy) -> str:
    return f"{policy.manifest.name} ({policy.manifest.env_id})"


class ArtifactReplenishmentPolicy:
    """A ``ShopSphere/Replenishment-v0`` artifact as a :class:`ReplenishmentPolicy`.

    Args:
        policy: the loaded artifact.

    Raises:
        ArtifactFormatError: the artifact was trained on another environment, or its
            observation width does not match its lead time.
    """

    def __init__(self, policy: ArtifactPolicy) -> None:
        if not policy.manifest.env_id.startswith(REPLENISHMENT_ENV):
            raise ArtifactFormatError(
                f"artifact {_label(policy)} cannot serve replenishment plans: only "
                f"{REPLENISHMENT_ENV}N artifacts (single SKU-location) can"
            )
        self.lead_time = int(policy.manifest.env_kwargs.get("lead_time", 2))
        if policy.obs_dim != max(self.lead_time, 1) + 1:
            raise ArtifactFormatError(
                f"artifact {_label(policy)} has obs_dim {policy.obs_dim}, expected "
                f"{max(self.lead_time, 1) + 1} for lead time {self.lead_time}"
            )
        self.trained_mean = float(policy.manifest.env_kwargs.get("demand_mean", 5.0))
        if not self.trained_mean > 0:
            raise ArtifactFormatError(
                f"artifact {_label(policy)} has demand_mean {self.trained_mean}, must be > 0"
            )
        self.artifact = policy

    def scales(self, observation: ReplenishmentObservation) -> NDArray[np.float64]:
        """Per-row quantity scale: the SKU's mean demand over the artifact's training mean
        (1 where the observation has no demand mean; 0 for a SKU without demand)."""
        if observation.demand_mean is None:
            return np.ones(observation.n)
        mean = np.nan_to_num(np.asarray(observation.demand_mean, dtype=np.float64), nan=0.0)
        return np.maximum(mean, 0.0) / self.trained_mean

    def observation_vectors(self, observation: ReplenishmentObservation) -> NDArray[np.float64]:
        """The environment's observation rows ``(n, obs_dim)`` for ``observation``.

        Raises:
            ObservationError: a row's lead time differs from the artifact's, or units are in
                the pipeline beyond it.
        """
        refused = self.refusals(observation)
        if refused:
            raise ObservationError(refused[0].message)
        return self._vectors(observation)

    def refusals(self, observation: ReplenishmentObservation) -> list[RowRefusal]:
        """The rows this artifact cannot decide for (another lead time, or units in the
        pipeline beyond its lead time), one entry per row; empty when all rows are fine."""
        L = self.lead_time
        name = self.artifact.manifest.name
        pipe = np.asarray(observation.pipeline, dtype=np.float64)
        beyond = (
            np.any(pipe[:, L:] != 0, axis=1)
            if pipe.shape[1] > L
            else np.zeros(pipe.shape[0], dtype=bool)
        )
        out: list[RowRefusal] = []
        for i in range(observation.n):
            lt = int(observation.lead_time[i])
            if lt != L:
                msg = f"artifact {name} was trained for lead_time {L}, got lead_time {lt}"
                out.append(RowRefusal(i, "lead_time", lt, msg))
            elif beyond[i]:
                msg = (
                    f"pipeline has units arriving in {L} or more days, beyond the artifact's "
                    f"lead time {L}"
                )
                out.append(RowRefusal(i, "pipeline", int(pipe[i, L:].sum()), msg))
        return out

    def _vectors(self, observation: ReplenishmentObservation) -> NDArray[np.float64]:
        L = self.lead_time
        pipe = np.asarray(observation.pipeline, dtype=np.float64)
        if pipe.shape[1] > L:
            pipe = pipe[:, :L]
        elif pipe.shape[1] < L:
            pipe = np.pad(pipe, ((0, 0), (0, L - pipe.shape[1])))
        net = np.asarray(observation.on_hand, np.float64) - np.asarray(
            observation.backorders, np.float64
        )
        if L == 0:
            return np.column_stack([net, net])
        x = net + pipe[:, 0]
        return np.column_stack([x, pipe[:, 1:], net + pipe.sum(axis=1)])

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        """Order units per row (within the artifact's safety bounds); the target is the chosen
        order-up-to level for order-up-to artifacts, else ``None``."""
        refused = self.refusals(observation)
        if refused:
            raise ObservationError(refused[0].message)
        return self._decide_scaled(observation)

    def decide_each(
        self, observation: ReplenishmentObservation
    ) -> tuple[ReplenishmentDecision, list[RowRefusal]]:
        """Decide every row it can; refused rows order 0 and are listed (per-SKU errors for a
        multi-SKU request instead of failing all of it)."""
        refused = self.refusals(observation)
        decision = self._decide_scaled(observation)
        if refused:
            rows = [r.row for r in refused]
            decision.orders[rows] = 0
        return decision, refused

    def _decide_scaled(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        """Decide in the artifact's units, then scale each row to its SKU.

        Quantities are divided by the row's scale (:meth:`scales`) before the network and the
        decision multiplied back: an order-up-to artifact's level ``S`` becomes ``S * scale``
        and the order ``max(S * scale - IP, 0)`` on the SKU's own inventory position, capped at
        the artifact's order bound times the scale; an order-quantity artifact's order is
        multiplied by the scale. A SKU without demand orders 0.
        """
        vec = self._vectors(observation)
        scale = self.scales(observation)
        zero = scale <= 0
        safe = np.where(zero, 1.0, scale)
        base = self._decide(vec / safe[:, None])
        mapping = self.artifact.mapping
        high = float(mapping.decision_high[0]) * safe
        if base.target is not None:
            target = np.asarray(base.target, dtype=np.float64) * safe
            orders = np.clip(np.rint(target - vec[:, -1]), 0.0, np.floor(high))
        else:
            target = None
            orders = np.clip(np.rint(base.orders * safe), 0.0, np.floor(high))
        orders[zero] = 0
        if target is not None:
            target[zero] = 0.0
        return ReplenishmentDecision(orders.astype(np.int64), target)

    def _decide(self, obs: NDArray[np.float64]) -> ReplenishmentDecision:
        actions = self.artifact.act(obs)
        mapping = self.artifact.mapping
        orders = mapping.to_decision(actions, obs)[:, 0]
        target = None
        if mapping.kind == "discrete" and mapping.relative_obs_index is not None:
            assert mapping.table is not None
            target = mapping.table[np.asarray(actions, dtype=np.int64), 0]
        return ReplenishmentDecision(np.maximum(np.rint(orders), 0).astype(np.int64), target)

    def __repr__(self) -> str:
        return f"ArtifactReplenishmentPolicy({self.artifact.manifest.name!r})"


class ArtifactPricingPolicy:
    """A ``ShopSphere/DynamicPricing-v0`` artifact as a :class:`PricingPolicy`.

    Rows whose season is over (``days_left == 0``) keep their current price; every price is
    rounded to cents and clipped to the observation's bounds.

    Args:
        policy: the loaded artifact.

    Raises:
        ArtifactFormatError: the artifact was trained on another environment.
    """

    def __init__(self, policy: ArtifactPolicy) -> None:
        if not policy.manifest.env_id.startswith(PRICING_ENV) or policy.obs_dim != 2:
            raise ArtifactFormatError(
                f"artifact {_label(policy)} cannot serve price quotes: only {PRICING_ENV}N "
                "artifacts can"
            )
        kw = policy.manifest.env_kwargs
        self.stock = int(kw.get("stock", 20))
        self.horizon = int(kw.get("horizon", 20))
        self.artifact = policy
        high = float(policy.mapping.decision_high[0])
        self.reference_price = float(kw.get("list_price", high))
        if not self.reference_price > 0:
            raise ArtifactFormatError(
                f"artifact {_label(policy)} has reference price {self.reference_price}, must be > 0"
            )

    def decide(self, observation: PricingObservation) -> PricingDecision:
        """Prices in cents per SKU.

        Raises:
            PricingError: a SKU has more units or more days left than the artifact was trained
                for (naming the field and the value).
        """
        refused = self.refusals(observation)
        if refused:
            first = refused[0]
            raise PricingError(first.field, first.value, first.message)
        return self._decide(observation, np.zeros(len(observation.on_hand), dtype=np.bool_))

    def refusals(self, observation: PricingObservation) -> list[RowRefusal]:
        """Rows with more units or more days left than the artifact was trained for (one entry
        per row, the first field at fault); empty when every row can be priced."""
        out: list[RowRefusal] = []
        limits = (("on_hand", self.stock), ("days_left", self.horizon))
        for i in range(len(observation.on_hand)):
            for name, limit in limits:
                value = int(getattr(observation, name)[i])
                if value > limit:
                    msg = f"{value} exceeds the artifact's trained {name} limit {limit}"
                    out.append(RowRefusal(i, name, value, msg))
                    break
        return out

    def decide_each(
        self, observation: PricingObservation
    ) -> tuple[PricingDecision, list[RowRefusal]]:
        """Price every row it can; refused rows keep their current price (within bounds) and
        are listed, so one out-of-range SKU does not fail a multi-SKU quote."""
        refused = self.refusals(observation)
        mask = np.zeros(len(observation.on_hand), dtype=bool)
        mask[[r.row for r in refused]] = True
        return self._decide(observation, mask), refused

    def _decide(self, observation: PricingObservation, keep: NDArray[np.bool_]) -> PricingDecision:
        on_hand = np.minimum(observation.on_hand, self.stock)
        days = np.minimum(observation.days_left, self.horizon)
        obs = np.column_stack([on_hand / self.stock, days / self.horizon])
        # The artifact prices in its training units, whose scale is its reference (list) price;
        # each SKU's price is the same fraction of the SKU's own list price (in cents).
        list_cents = observation.list_price_cents.astype(np.float64)
        price = self.artifact.decide(obs)[:, 0] / self.reference_price * list_cents
        live = (observation.days_left > 0) & ~keep
        target = np.where(live, price, observation.price_cents.astype(np.float64))
        return PricingDecision(to_bounded_cents(target, observation))

    def __repr__(self) -> str:
        return f"ArtifactPricingPolicy({self.artifact.manifest.name!r})"


class ArtifactSkuPolicy:
    """A parametric ``sku_projected`` artifact as a :class:`ReplenishmentPolicy` for any SKU.

    Args:
        policy: the loaded artifact (``policy_class == "sku_projected"``).

    Raises:
        ArtifactFormatError: the artifact is not a ``sku_projected`` parametric policy.
    """

    def __init__(self, policy: ArtifactPolicy) -> None:
        if not isinstance(policy, ParametricPolicy) or policy.policy_class != "sku_projected":
            raise ArtifactFormatError(
                f"artifact {_label(policy)} is not a parametric sku_projected policy"
            )
        from policies.rl.sku_policy import FractileRule, SkuProjectedPolicy

        p = policy.params
        kw = policy.manifest.env_kwargs
        rule = FractileRule(float(p["w0"]), float(p["w1"]), float(p["w2"]), float(p["cap_k"]))
        self.inner = SkuProjectedPolicy(
            float(kw.get("holding_cost", 1.0)), float(kw.get("penalty_cost", 9.0)), rule
        )
        self.artifact = policy

    def refusals(self, observation: ReplenishmentObservation) -> list[RowRefusal]:
        """Rows without a finite, non-negative demand mean (the rule needs it)."""
        if observation.demand_mean is None:
            msg = "demand_mean is required by a sku_projected artifact"
            return [RowRefusal(i, "demand_mean", 0, msg) for i in range(observation.n)]
        mean = np.asarray(observation.demand_mean, dtype=np.float64)
        out: list[RowRefusal] = []
        for i in np.flatnonzero(~np.isfinite(mean) | (mean < 0)):
            value = int(mean[i]) if np.isfinite(mean[i]) else -1
            msg = f"demand_mean {mean[i]} must be finite and >= 0"
            out.append(RowRefusal(int(i), "demand_mean", value, msg))
        return out

    def decide(self, observation: ReplenishmentObservation) -> ReplenishmentDecision:
        """Orders per row in units.

        Raises:
            ObservationError: a row has no usable demand mean.
        """
        return self.inner.decide(observation)

    def decide_each(
        self, observation: ReplenishmentObservation
    ) -> tuple[ReplenishmentDecision, list[RowRefusal]]:
        """Decide every row it can; refused rows order 0 and are listed."""
        refused = self.refusals(observation)
        if not refused:
            return self.inner.decide(observation), []
        rows = [r.row for r in refused]
        mean = np.asarray(
            observation.demand_mean
            if observation.demand_mean is not None
            else np.zeros(observation.n),
            dtype=np.float64,
        ).copy()
        mean[rows] = 0.0
        fixed = dataclasses.replace(observation, demand_mean=mean)
        decision = self.inner.decide(fixed)
        decision.orders[rows] = 0
        return decision, refused

    def __repr__(self) -> str:
        return f"ArtifactSkuPolicy({self.artifact.manifest.name!r})"


@overload
def load_served_artifact(
    kind: Literal["replenishment"], registry_dir: str | Path, spec: str
) -> ArtifactReplenishmentPolicy | ArtifactSkuPolicy: ...


@overload
def load_served_artifact(
    kind: Literal["pricing"], registry_dir: str | Path, spec: str
) -> ArtifactPricingPolicy: ...


@overload
def load_served_artifact(
    kind: str, registry_dir: str | Path, spec: str
) -> ArtifactReplenishmentPolicy | ArtifactPricingPolicy | ArtifactSkuPolicy: ...


def load_served_artifact(
    kind: str, registry_dir: str | Path, spec: str
) -> ArtifactReplenishmentPolicy | ArtifactPricingPolicy | ArtifactSkuPolicy:
    """Load the validated artifact ``spec`` (``name`` or ``name@vNNNN``) and wrap it for ``kind``.

    Raises:
        ArtifactError: (a subclass) not found, not validated, tampered, or the wrong environment.
        ValueError: ``kind`` is neither ``"replenishment"`` nor ``"pricing"``.
    """
    name, version = parse_artifact_spec(spec)
    policy = load_validated(registry_dir, name, version)
    if kind == "replenishment":
        if isinstance(policy, ParametricPolicy) and policy.policy_class == "sku_projected":
            return ArtifactSkuPolicy(policy)
        return ArtifactReplenishmentPolicy(policy)
    if kind == "pricing":
        return ArtifactPricingPolicy(policy)
    raise ValueError(f"kind {kind!r} must be 'replenishment' or 'pricing'")


def rl_replenishment_artifact(
    artifact: str, registry_dir: str
) -> ArtifactReplenishmentPolicy | ArtifactSkuPolicy:
    """A validated RL artifact (``name[@vNNNN]``) from the registry at ``registry_dir``.

    Served through :class:`ArtifactReplenishmentPolicy` (or :class:`ArtifactSkuPolicy` for a
    ``sku_projected`` artifact); refuses unvalidated or tampered ones.
    """
    return load_served_artifact("replenishment", registry_dir, artifact)


def rl_pricing_artifact(artifact: str, registry_dir: str) -> ArtifactPricingPolicy:
    """A validated RL artifact (``name[@vNNNN]``) from the registry at ``registry_dir``.

    Served through :class:`ArtifactPricingPolicy`; refuses unvalidated or tampered ones.
    """
    return load_served_artifact("pricing", registry_dir, artifact)
