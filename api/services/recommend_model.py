"""Recommendation models, NumPy/SciPy only (no database): what the service trains and serves.

* **co-purchase** (item to item): for items ``i, j`` bought in the same order,
  ``score(i, j) = n_ij / sqrt(n_i n_j)`` (cosine on the order x item incidence), the top
  :data:`NEIGHBOURS` kept per item;
* **also viewed**: the same on view sessions (a customer's views on one day);
* **implicit ALS** (Hu, Koren and Volinsky 2008): confidence ``1 + alpha * count`` on the
  customer x item purchase counts, ``factors`` latent dimensions, ridge ``reg``, alternating
  exact least squares (a k x k solve per customer and per item, k small), ``iterations``
  sweeps, started from a seeded generator;
* **popularity**: units bought per item (the fallback).

:func:`recall_at_k` is the offline measure used by ``benchmarks/recommend_offline.py``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

NEIGHBOURS = 50


@dataclass(frozen=True, slots=True)
class Interactions:
    """Events as parallel arrays: ``group`` (an order, or a view session), ``user`` (customer
    index), ``item`` (item index), ``qty`` (units; 1 for a view)."""

    group: np.ndarray
    user: np.ndarray
    item: np.ndarray
    qty: np.ndarray


def neighbours(
    group: np.ndarray, item: np.ndarray, n_items: int, k: int = NEIGHBOURS
) -> tuple[np.ndarray, np.ndarray]:
    """Item-to-item cosine neighbours from co-occurrence in groups.

    Returns ``(idx, score)``, each ``(n_items, k)``: neighbour item indices (-1 where fewer)
    and scores, best first; an item is never its own neighbour.
    """
    idx = np.full((n_items, k), -1, dtype=np.int64)
    score = np.zeros((n_items, k))
    if group.size == 0:
        return idx, score
    _, g = np.unique(group, return_inverse=True)
    inc = sp.csr_matrix(
        (np.ones(g.size), (g, item)), shape=(int(g.max()) + 1, n_items), dtype=np.float64
    )
    inc.data[:] = 1.0  # presence, not units
    co = (inc.T @ inc).tocsr()
    n = co.diagonal().copy()
    co.setdiag(0.0)
    co.eliminate_zeros()
    co = co.tocoo()
    vals = co.data / np.sqrt(np.maximum(n[co.row] * n[co.col], 1e-12))
    m = sp.csr_matrix((vals, (co.row, co.col)), shape=(n_items, n_items))
    for i in range(n_items):
        lo, hi = m.indptr[i], m.indptr[i + 1]
        if lo == hi:
            continue
        cols, v = m.indices[lo:hi], m.data[lo:hi]
        top = np.lexsort((cols, -v))[:k]
        idx[i, : top.size] = cols[top]
        score[i, : top.size] = v[top]
    return idx, score


def implicit_als(
    counts: sp.csr_matrix,
    factors: int,
    rng: np.random.Generator,
    *,
    reg: float = 1.0,
    alpha: float = 20.0,
    iterations: int = 8,
) -> tuple[np.ndarray, np.ndarray]:
    """Implicit-feedback ALS on a users x items count matrix.

    Returns ``(user_factors (U, f), item_factors (I, f))``; the score of item ``i`` for user
    ``u`` is their dot product. Raises ValueError for ``factors < 1``.
    """
    if factors < 1:
        raise ValueError(f"factors {factors} must be >= 1")
    n_u, n_i = counts.shape
    x = rng.normal(0.0, 0.01, (n_u, factors))
    y = rng.normal(0.0, 0.01, (n_i, factors))
    c = counts.tocsr().astype(np.float64)
    ct = c.T.tocsr()
    for _ in range(iterations):
        x = _als_side(c, y, reg, alpha)
        y = _als_side(ct, x, reg, alpha)
    return x, y


def _als_side(c: sp.csr_matrix, y: np.ndarray, reg: float, alpha: float) -> np.ndarray:
    """Solve every row's factors given the other side's ``y`` (exact, k x k per row)."""
    f = y.shape[1]
    yty = y.T @ y
    eye = reg * np.eye(f)
    out = np.zeros((c.shape[0], f))
    for u in range(c.shape[0]):
        lo, hi = c.indptr[u], c.indptr[u + 1]
        if lo == hi:
            continue
        items = c.indices[lo:hi]
        conf = alpha * c.data[lo:hi]  # C - I on the observed entries
        yi = y[items]
        a = yty + (yi.T * conf) @ yi + eye
        b = (yi.T * (1.0 + conf)).sum(axis=1)
        out[u] = np.linalg.solve(a, b)
    return out


@dataclass(frozen=True, slots=True)
class Model:
    """A trained recommender over ``items`` (SKU ids) and ``users`` (customer ids)."""

    items: np.ndarray  # (I,) SKU ids
    users: np.ndarray  # (U,) customer ids (str)
    popularity: np.ndarray  # (I,) units bought
    buy_idx: np.ndarray  # (I, K) co-purchase neighbours (item indices, -1: none)
    buy_score: np.ndarray
    view_idx: np.ndarray  # (I, K) also-viewed neighbours
    view_score: np.ndarray
    user_f: np.ndarray  # (U, f)
    item_f: np.ndarray  # (I, f)
    bought: sp.csr_matrix  # (U, I) purchase counts (to leave out what a customer has)

    def to_bytes(self) -> bytes:
        """The model as an ``.npz`` blob (no pickle)."""
        buf = io.BytesIO()
        b = self.bought.tocsr()
        np.savez_compressed(
            buf,
            items=self.items,
            users=self.users.astype(str),
            popularity=self.popularity,
            buy_idx=self.buy_idx,
            buy_score=self.buy_score,
            view_idx=self.view_idx,
            view_score=self.view_score,
            user_f=self.user_f,
            item_f=self.item_f,
            b_data=b.data,
            b_indices=b.indices,
            b_indptr=b.indptr,
            b_shape=np.array(b.shape),
        )
        return buf.getvalue()

    @staticmethod
    def from_bytes(blob: bytes) -> Model:
        with np.load(io.BytesIO(blob), allow_pickle=False) as z:
            shape = tuple(int(v) for v in z["b_shape"])
            return Model(
                items=z["items"],
                users=z["users"],
                popularity=z["popularity"],
                buy_idx=z["buy_idx"],
                buy_score=z["buy_score"],
                view_idx=z["view_idx"],
                view_score=z["view_score"],
                user_f=z["user_f"],
                item_f=z["item_f"],
                bought=sp.csr_matrix((z["b_data"], z["b_indices"], z["b_indptr"]), shape=shape),
            )


def train(
    items: np.ndarray,
    users: Sequence[str],
    orders: Interactions,
    views: Interactions,
    rng: np.random.Generator,
    *,
    factors: int = 16,
    iterations: int = 8,
) -> Model:
    """Train every part of the model (indices in ``orders``/``views`` refer to ``items`` and
    ``users``)."""
    n_i, n_u = int(items.size), len(users)
    pop = np.bincount(orders.item, weights=orders.qty, minlength=n_i).astype(np.float64)
    buy_idx, buy_score = neighbours(orders.group, orders.item, n_i)
    view_idx, view_score = neighbours(views.group, views.item, n_i)
    counts = sp.csr_matrix(
        (orders.qty.astype(np.float64), (orders.user, orders.item)), shape=(n_u, n_i)
    )
    counts.sum_duplicates()
    conf = counts.copy()
    conf.data = np.log1p(conf.data)  # diminishing confidence in repeated units
    if n_u and n_i and conf.nnz:
        uf, itf = implicit_als(conf, factors, rng, iterations=iterations)
    else:
        uf, itf = np.zeros((n_u, factors)), np.zeros((n_i, factors))
    return Model(
        items=np.asarray(items, dtype=np.int64),
        users=np.asarray(list(users), dtype=str),
        popularity=pop,
        buy_idx=buy_idx,
        buy_score=buy_score,
        view_idx=view_idx,
        view_score=view_score,
        user_f=uf,
        item_f=itf,
        bought=counts,
    )


def scores_for(
    model: Model, *, user: int | None, item: int | None, view_weight: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Scores over all items for a user index and/or an item index, and the source of each
    score (0 popularity, 1 co-purchase, 2 also viewed, 3 factors). Items the user bought and
    the item itself score -inf."""
    n = model.items.size
    pop = model.popularity
    score = 1e-6 * pop / max(float(pop.max()) if n else 1.0, 1.0)  # popularity breaks ties
    source = np.zeros(n, dtype=np.int64)
    if item is not None:
        ok = model.buy_idx[item] >= 0
        b = model.buy_idx[item][ok]
        score[b] += model.buy_score[item][ok]
        source[b] = 1
        ok = model.view_idx[item] >= 0
        v = model.view_idx[item][ok]
        fresh = v[source[v] == 0]
        score[v] += view_weight * model.view_score[item][ok]
        source[fresh] = 2
    if user is not None and model.user_f.shape[1]:
        f = model.item_f @ model.user_f[user]
        top = float(np.max(np.abs(f))) if f.size else 0.0
        if top > 0:
            w = 0.5 if item is not None else 1.0
            score = score + w * f / top
            if item is None:
                source[:] = 3
        lo, hi = model.bought.indptr[user], model.bought.indptr[user + 1]
        score[model.bought.indices[lo:hi]] = -np.inf
    if item is not None:
        score[item] = -np.inf
    return score, source


def top_k(score: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best finite scores, best first (ties: lower index)."""
    finite = np.flatnonzero(np.isfinite(score))
    if finite.size == 0:
        return finite
    order = np.lexsort((finite, -score[finite]))
    return finite[order[:k]]


def recall_at_k(recommended: Sequence[np.ndarray], relevant: Sequence[set[int]], k: int) -> float:
    """Mean over users of ``|top-k ∩ relevant| / min(k, |relevant|)`` (users with nothing
    relevant are left out)."""
    vals = [
        len(set(r[:k].tolist()) & rel) / min(k, len(rel))
        for r, rel in zip(recommended, relevant, strict=True)
        if rel
    ]
    return float(np.mean(vals)) if vals else 0.0
