"""Shoppers who respond to recommendations: tastes, an acceptance model, and the hook that
shows an online shopper the API's recommendations and adds what it accepts to the basket.

* **Tastes** (:class:`TasteModel`): every SKU has a unit vector in a ``dims``-dimensional taste
  space, near its category's centre (spread :data:`ITEM_SPREAD`), and every customer a unit
  taste vector; their **affinity** is the cosine, in [-1, 1]. Drawn from the world seed only
  (stream :data:`TASTE_STREAM`), so every run of a world has the same tastes.
* **Acceptance** (:class:`Acceptance`): shown a recommended SKU ``j``, customer ``c`` adds one
  unit with probability ``p_max * sigmoid(beta * (affinity(c, j) - a0)) * min(1, (p_ref / p_j)
  ** price_sensitivity)`` (``p_ref``: the basket's mean unit price), drawn from its own stream
  (:data:`RECOMMEND_STREAM` of the run seed) so that runs with and without recommendations
  share every other random number (common random numbers).
* **The hook** (:class:`RecommendationHook`): after an online shopper has filled its basket,
  the twin asks the API ``recommendations(customer=..., sku=<its priciest item>, k=...)``
  through ``CommerceClient``, and the shopper considers each recommended SKU in stock at its
  warehouse once. Views (the basket and what was shown) are sent with ``record_views``, and the
  API's model is retrained every ``retrain_days`` from the orders and views so far
  (``train_recommendations``).

Units: probabilities; money in cents; days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from api.client.base import CommerceClient, CommerceError
from api.schemas_promo import ViewBatch, ViewEvent
from twin.world import World

__all__ = [
    "ITEM_SPREAD",
    "RECOMMEND_STREAM",
    "TASTE_STREAM",
    "Acceptance",
    "RecommendationHook",
    "RecommendationStats",
    "TasteModel",
]

TASTE_STREAM = 0x7A57E
RECOMMEND_STREAM = 0x2EC0
ITEM_SPREAD = 0.6


class TasteModel:
    """Item and customer taste vectors (see the module docstring).

    Args:
        category: ``(n_skus,)`` category index per SKU.
        n_customers: population size.
        rng: the taste stream.
        dims: taste dimensions.
    """

    def __init__(
        self, category: np.ndarray, n_customers: int, rng: np.random.Generator, dims: int = 8
    ) -> None:
        cat = np.asarray(category, dtype=np.int64)
        centres = rng.normal(size=(int(cat.max()) + 1 if cat.size else 1, dims))
        items = centres[cat] + ITEM_SPREAD * rng.normal(size=(cat.size, dims))
        self.items = items / np.linalg.norm(items, axis=1, keepdims=True)
        users = rng.normal(size=(n_customers, dims))
        self.users = users / np.linalg.norm(users, axis=1, keepdims=True)

    @classmethod
    def for_world(cls, world: World, n_customers: int, world_seed: int) -> TasteModel:
        """The tastes of a world (its own stream of the world seed)."""
        rng = np.random.default_rng([world_seed, TASTE_STREAM])
        return cls(world.skus.category, n_customers, rng)

    def affinity(self, customer: int, items: np.ndarray) -> np.ndarray:
        """Cosine of customer ``customer``'s taste with each of ``items``."""
        out: np.ndarray = self.items[items] @ self.users[customer]
        return out


@dataclass(frozen=True, slots=True)
class Acceptance:
    """The probability that a shopper adds a recommended SKU (see the module docstring)."""

    p_max: float = 0.35
    beta: float = 6.0
    a0: float = 0.3
    price_sensitivity: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.p_max <= 1.0:
            raise ValueError(f"p_max {self.p_max} must be within [0, 1]")

    def probability(
        self, affinity: np.ndarray, price_cents: np.ndarray, ref_price_cents: float
    ) -> np.ndarray:
        """Acceptance probability per shown SKU."""
        a = np.asarray(affinity, dtype=np.float64)
        p = np.asarray(price_cents, dtype=np.float64)
        price = np.minimum(1.0, (max(ref_price_cents, 1.0) / np.maximum(p, 1.0)))
        out: np.ndarray = (
            self.p_max / (1.0 + np.exp(-self.beta * (a - self.a0))) * price**self.price_sensitivity
        )
        return out


@dataclass(slots=True)
class RecommendationStats:
    """Counters of one run: sessions shown recommendations, SKUs shown, units accepted."""

    sessions: int = 0
    shown: int = 0
    accepted: int = 0
    api_calls: int = 0
    trainings: int = 0


class RecommendationHook:
    """What an online channel calls after a shopper filled its basket (see the module doc).

    Args:
        client: the commerce client (recommendations, views, training).
        world: the twin's world (SKU codes and list prices).
        taste: the shoppers' tastes.
        rng: the acceptance stream.
        acceptance: the acceptance model.
        k: SKUs shown per session.
        enabled: False records views and trains but shows nothing (the control arm).
    """

    def __init__(
        self,
        client: CommerceClient,
        world: World,
        taste: TasteModel,
        rng: np.random.Generator,
        acceptance: Acceptance | None = None,
        *,
        k: int = 4,
        enabled: bool = True,
    ) -> None:
        self.client = client
        self.codes = list(world.skus.codes)
        self.index = {c: i for i, c in enumerate(self.codes)}
        self.price = np.asarray(world.skus.list_price_cents, dtype=np.float64)
        self.taste = taste
        self.rng = rng
        self.acceptance = acceptance or Acceptance()
        self.k = k
        self.enabled = enabled
        self.stats = RecommendationStats()
        self.views: list[ViewEvent] = []
        self.trained = False

    def add_ons(
        self, customer: int, customer_code: str, basket: dict[int, int], available: np.ndarray
    ) -> list[int]:
        """SKUs (indices) the shopper adds, one unit each; ``available`` is the warehouse's
        available units per SKU after the basket (read only)."""
        if not basket:
            return []
        for s in basket:
            self.views.append(ViewEvent(sku=self.codes[s], customer_id=customer_code))
        if not self.enabled or not self.trained:
            return []
        anchor = max(basket, key=lambda s: (self.price[s], -s))
        try:
            recs = self.client.recommendations(
                customer=customer_code, sku=self.codes[anchor], k=self.k
            )
        except CommerceError:
            return []
        self.stats.api_calls += 1
        shown = [
            j
            for j in (self.index.get(it.sku, -1) for it in recs.items)
            if j >= 0 and j not in basket and available[j] > 0
        ]
        if not shown:
            return []
        self.stats.sessions += 1
        self.stats.shown += len(shown)
        idx = np.array(shown, dtype=np.int64)
        ref = float(np.mean(self.price[list(basket)]))
        p = self.acceptance.probability(self.taste.affinity(customer, idx), self.price[idx], ref)
        take = self.rng.random(idx.size) < p
        out = idx[take].tolist()
        for j in idx.tolist():
            self.views.append(ViewEvent(sku=self.codes[j], customer_id=customer_code))
        self.stats.accepted += len(out)
        return out

    def retrain(self) -> None:
        """Send the buffered views and retrain the API's recommender on everything so far."""
        self.flush_views()
        self.client.train_recommendations()
        self.stats.trainings += 1
        self.trained = True

    def flush_views(self) -> None:
        """Send buffered views in batches."""
        views, self.views = self.views, []
        for i in range(0, len(views), 5000):
            self.client.record_views(ViewBatch(views=views[i : i + 5000]))


def accept_stats(hooks: Sequence[RecommendationHook]) -> RecommendationStats:
    """The counters of several hooks added up."""
    out = RecommendationStats()
    for h in hooks:
        out.sessions += h.stats.sessions
        out.shown += h.stats.shown
        out.accepted += h.stats.accepted
        out.api_calls += h.stats.api_calls
        out.trainings += h.stats.trainings
    return out
