"""Hierarchical forecast reconciliation (SKU -> category -> store -> total), NumPy only.

A :class:`Hierarchy` is built from the keys of the bottom series, top level first (for the
twin's planning views: ``(store, category, sku)``). Its nodes are the total, every distinct
prefix of the keys (every store, every store x category) and the bottom series; the *summing
matrix* ``S`` (``n_nodes x n_bottom``, 0/1) maps bottom values to every node, so a set of node
forecasts ``y`` is *coherent* when ``y = S b`` for some bottom forecasts ``b``.

Reconciliation maps independent base forecasts ``y_hat`` of every node to coherent ones,
``y_tilde = S G y_hat`` (Hyndman & Athanasopoulos, *Forecasting: principles and practice*,
3rd ed., ch. 11; Wickramasuriya, Athanasopoulos & Hyndman 2019, JASA 114:804):

* ``bottom_up``: ``G = [0 | I]``, the bottom forecasts summed up;
* ``top_down``: the total's forecast split by each bottom series' share of the total over the
  last ``window`` periods of history (proportions of the historical averages);
* ``ols``: ``G = (S'S)^-1 S'``;
* ``wls_struct``: ``G = (S' W^-1 S)^-1 S' W^-1`` with ``W = diag(S 1)`` (each node weighted
  by the number of bottom series under it);
* ``wls_var``: the same with ``W`` the diagonal of the base forecasts' error variances;
* ``mint_shrink``: ``W`` the error covariance shrunk towards its diagonal with the
  Schäfer-Strimmer (2005) intensity (correlations shrunk, variances kept).

The error variances come from ``residuals``: ``(n_nodes, r)`` base-forecast errors, e.g. from
:func:`holdout_residuals` (the model fitted without the last ``r`` periods, which it then
forecasts). With ``nonnegative`` (the default for demand) negative bottom forecasts are set
to 0 and the nodes re-aggregated, so the result stays coherent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Literal

import numpy as np

from policies.forecasting.base import Forecast, Forecaster
from policies.forecasting.errors import ForecastingError
from policies.forecasting.panel import Panel

__all__ = [
    "RECONCILE_METHODS",
    "Hierarchy",
    "ReconcileMethod",
    "forecast_hierarchy",
    "holdout_residuals",
    "reconcile",
    "shrunk_covariance",
]

ReconcileMethod = Literal["bottom_up", "top_down", "ols", "wls_struct", "wls_var", "mint_shrink"]
RECONCILE_METHODS: tuple[str, ...] = (
    "bottom_up",
    "top_down",
    "ols",
    "wls_struct",
    "wls_var",
    "mint_shrink",
)
SEP = "/"


@dataclass(frozen=True, slots=True, eq=False)
class Hierarchy:
    """The nodes of a grouped-by-prefix hierarchy and its summing matrix.

    Attributes:
        ids: node identifiers, top-down: ``"total"``, then each level's nodes (a node is its
            key prefix joined by ``"/"``, e.g. ``"S1/dairy"``); the last ``n_bottom`` are the
            bottom series, in the order the keys were given.
        node_levels: the level name of each node (``"total"``, then ``level_names``).
        level_names: the names of the key levels, top first, e.g. ``("store", "category",
            "sku")``.
        summing: float64 ``(n_nodes, n_bottom)`` 0/1 summing matrix ``S``.
        parent: ``(n_nodes,)`` index of each node's parent node (-1 for the total).
    """

    ids: tuple[str, ...]
    node_levels: tuple[str, ...]
    level_names: tuple[str, ...]
    summing: np.ndarray
    parent: np.ndarray

    @property
    def n_nodes(self) -> int:
        return int(self.summing.shape[0])

    @property
    def n_bottom(self) -> int:
        return int(self.summing.shape[1])

    @property
    def bottom_ids(self) -> tuple[str, ...]:
        return self.ids[self.n_nodes - self.n_bottom :]

    @classmethod
    def from_keys(
        cls,
        keys: Sequence[Sequence[str]],
        level_names: Sequence[str] = ("store", "category", "sku"),
        *,
        total: str = "total",
    ) -> Hierarchy:
        """A hierarchy from one key tuple per bottom series, top level first.

        ``keys[i] = ("S1", "dairy", "milk-1l")`` puts bottom series ``i`` under store ``S1``,
        category ``S1/dairy`` and the total. A key component may not contain ``"/"``.

        Raises:
            ForecastingError: no keys, keys of another length than ``level_names``, a
                component with ``"/"`` or a repeated key.
        """
        names = tuple(str(x) for x in level_names)
        if not keys:
            raise ForecastingError("keys", [], "must name at least one bottom series")
        rows = [tuple(str(x) for x in k) for k in keys]
        for k in rows:
            if len(k) != len(names):
                raise ForecastingError("keys", k, f"must have {len(names)} parts {names}")
            if any(SEP in part or not part for part in k):
                raise ForecastingError("keys", k, f"parts must be non-empty without {SEP!r}")
        if len(set(rows)) != len(rows):
            raise ForecastingError("keys", "duplicates", "each bottom series needs its own key")
        nb = len(rows)
        ids: list[str] = [total]
        node_levels: list[str] = ["total"]
        parent: list[int] = [-1]
        index: dict[str, int] = {total: 0}
        columns: list[np.ndarray] = [np.arange(nb)]
        for depth, name in enumerate(names, start=1):
            last = depth == len(names)
            members: dict[str, list[int]] = {}
            for i, k in enumerate(rows):
                members.setdefault(SEP.join(k[:depth]), []).append(i)
            order = list(members) if last else sorted(members)
            for p in order:
                up = SEP.join(p.split(SEP)[: depth - 1]) if depth > 1 else total
                index[p] = len(ids)
                ids.append(p)
                node_levels.append(name)
                parent.append(index[up])
                columns.append(np.array(members[p]))
        summing = np.zeros((len(ids), nb))
        for r, cols in enumerate(columns):
            summing[r, cols] = 1.0
        return cls(tuple(ids), tuple(node_levels), names, summing, np.array(parent, np.int64))

    def aggregate(self, bottom: np.ndarray) -> np.ndarray:
        """Every node's values from the bottom series' ``(n_bottom, ...)`` values (``S b``).

        NaN in a bottom series propagates to the nodes above it.
        """
        b = np.asarray(bottom, dtype=np.float64)
        if b.shape[0] != self.n_bottom:
            raise ForecastingError("bottom", b.shape, f"must have {self.n_bottom} rows")
        flat = b.reshape(self.n_bottom, -1)
        out = np.empty((self.n_nodes, flat.shape[1]))
        nb0 = self.n_nodes - self.n_bottom
        out[nb0:] = flat
        # level by level from the bottom, each node the sum of its children (so a node equals
        # the sum of its children exactly, in floating point too)
        for r in range(nb0 - 1, -1, -1):
            out[r] = out[self.children[r]].sum(axis=0)
        return out.reshape((self.n_nodes, *b.shape[1:]))

    def aggregate_panel(self, bottom: Panel) -> Panel:
        """A panel of every node (ids :attr:`ids`) from a panel of the bottom series.

        Regressors are summed too (a promotion count, units of a price plan are not
        meaningful summed: pass bottom panels without regressors when in doubt). A closed day
        of an aggregate is a day every series under it is closed.

        Raises:
            ForecastingError: the panel's series count differs from :attr:`n_bottom`.
        """
        if bottom.n_series != self.n_bottom:
            raise ForecastingError("panel", bottom.n_series, f"must have {self.n_bottom} series")
        closed = None
        if bottom.closed is not None:
            counts = self.aggregate(bottom.closed.astype(np.float64))
            closed = counts >= self.summing.sum(axis=1)[:, None]
        return Panel(
            ids=self.ids,
            dates=bottom.dates,
            values=self.aggregate(bottom.values),
            regressors={k: self.aggregate(v) for k, v in bottom.regressors.items()},
            closed=closed,
        )

    @property
    def children(self) -> tuple[np.ndarray, ...]:
        """Indices of each node's children (empty for the bottom series)."""
        order = np.argsort(self.parent, kind="stable")
        bounds = np.searchsorted(self.parent[order], np.arange(self.n_nodes + 1))
        return tuple(order[bounds[r] : bounds[r + 1]] for r in range(self.n_nodes))

    def incoherence(self, values: np.ndarray) -> float:
        """Largest ``|node - sum of its children|`` over all non-bottom nodes (0 if coherent)."""
        v = np.asarray(values, dtype=np.float64).reshape(self.n_nodes, -1)
        kids = self.children
        gap = 0.0
        for r in range(self.n_nodes - self.n_bottom):
            gap = max(gap, float(np.max(np.abs(v[r] - v[kids[r]].sum(axis=0)))))
        return gap


def shrunk_covariance(residuals: np.ndarray) -> tuple[np.ndarray, float]:
    """Error covariance shrunk towards its diagonal (Schäfer & Strimmer 2005, target D).

    ``residuals`` is ``(n, r)``, NaN allowed (left out; a row with no finite value has
    variance 1e-9). Returns the covariance and the shrinkage intensity ``lambda`` in [0, 1]
    applied to the off-diagonal correlations.
    """
    e = np.asarray(residuals, dtype=np.float64)
    e = np.where(np.isfinite(e), e, 0.0)
    n, r = e.shape
    if r < 2:
        var = np.maximum((e**2).mean(axis=1) if r else np.zeros(n), 1e-9)
        return np.diag(var), 1.0
    x = e - e.mean(axis=1, keepdims=True)
    sd = np.sqrt((x**2).mean(axis=1))
    sd = np.where(sd > 1e-12, sd, 1e-12)
    z = x / sd[:, None]
    corr = z @ z.T / r
    # variance of each sample correlation: r / (r-1)^3 * sum_t (w_ijt - mean_t w_ijt)^2,
    # w_ijt = z_it z_jt, and sum_t (w - mean w)^2 = r (mean w^2 - (mean w)^2)
    w2 = (z**2) @ (z**2).T / r
    var_corr = (w2 - corr**2) * r * r / (r - 1) ** 3
    off = ~np.eye(n, dtype=bool)
    denom = float((corr[off] ** 2).sum())
    lam = 1.0 if denom <= 0 else float(np.clip(var_corr[off].sum() / denom, 0.0, 1.0))
    shrunk = corr * (1.0 - lam)
    np.fill_diagonal(shrunk, 1.0)
    var = np.maximum((e**2).mean(axis=1), 1e-9)
    s = np.sqrt(var)
    return shrunk * s[:, None] * s[None, :], lam


def _projection(
    hierarchy: Hierarchy,
    method: str,
    residuals: np.ndarray | None,
    history: np.ndarray | None,
    window: int,
) -> np.ndarray:
    """The ``(n_bottom, n_nodes)`` matrix ``G`` of the method."""
    S = hierarchy.summing
    n, nb = S.shape
    if method == "bottom_up":
        G = np.zeros((nb, n))
        G[:, n - nb :] = np.eye(nb)
        return G
    if method == "top_down":
        if history is None:
            raise ForecastingError("history", None, "top_down needs the bottom history")
        h = np.asarray(history, dtype=np.float64)[:, -window:]
        means = np.nan_to_num(np.nanmean(np.where(np.isfinite(h), h, np.nan), axis=1))
        total = means.sum()
        share = means / total if total > 0 else np.full(nb, 1.0 / nb)
        G = np.zeros((nb, n))
        G[:, 0] = share
        return G
    if method == "ols":
        w_inv = np.eye(n)
    elif method == "wls_struct":
        w_inv = np.diag(1.0 / S.sum(axis=1))
    elif method in ("wls_var", "mint_shrink"):
        if residuals is None:
            raise ForecastingError("residuals", None, f"{method} needs base-forecast residuals")
        res = np.asarray(residuals, dtype=np.float64)
        if res.ndim != 2 or res.shape[0] != n:
            raise ForecastingError("residuals", res.shape, f"must be ({n}, r)")
        if method == "wls_var":
            var = np.nanmean(np.where(np.isfinite(res), res**2, np.nan), axis=1)
            w_inv = np.diag(1.0 / np.maximum(np.nan_to_num(var, nan=1.0), 1e-9))
        else:
            cov, _ = shrunk_covariance(res)
            w_inv = np.linalg.pinv(cov, hermitian=True)
    else:
        raise ForecastingError("method", method, f"must be one of {list(RECONCILE_METHODS)}")
    a = S.T @ w_inv
    out: np.ndarray = np.linalg.solve(a @ S, a)
    return out


def reconcile(
    base: np.ndarray,
    hierarchy: Hierarchy,
    method: ReconcileMethod | str = "mint_shrink",
    *,
    residuals: np.ndarray | None = None,
    history: np.ndarray | None = None,
    base_std: np.ndarray | None = None,
    window: int = 28,
    nonnegative: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Coherent forecasts of every node from base forecasts of every node.

    Args:
        base: ``(n_nodes, horizon)`` base forecasts in :attr:`Hierarchy.ids` order (units).
        hierarchy: the hierarchy.
        method: one of :data:`RECONCILE_METHODS` (see the module docstring).
        residuals: ``(n_nodes, r)`` base-forecast errors (``wls_var``, ``mint_shrink``).
        history: ``(n_bottom, T)`` bottom history (``top_down`` shares).
        base_std: ``(n_nodes, horizon)`` base forecast standard deviations; when given the
            reconciled standard deviations are returned too: ``sqrt(diag(S G V_h G' S'))``
            with ``V_h`` the base errors' correlation (from ``residuals``, shrunk; independent
            without them) scaled by ``base_std[:, h]``.
        window: periods of history for the ``top_down`` shares.
        nonnegative: clip negative bottom forecasts at 0 before aggregating.

    Returns:
        ``(mean, std)``: ``(n_nodes, horizon)`` coherent forecasts, and their standard
        deviations (``None`` without ``base_std``).

    Raises:
        ForecastingError: bad shapes, an unknown method or missing inputs for it.
    """
    y = np.asarray(base, dtype=np.float64)
    if y.ndim != 2 or y.shape[0] != hierarchy.n_nodes:
        raise ForecastingError("base", y.shape, f"must be ({hierarchy.n_nodes}, horizon)")
    G = _projection(hierarchy, str(method), residuals, history, window)
    bottom = G @ np.nan_to_num(y)
    if nonnegative:
        bottom = np.maximum(bottom, 0.0)
    mean = hierarchy.aggregate(bottom)
    if base_std is None:
        return mean, None
    sd = np.asarray(base_std, dtype=np.float64)
    if sd.shape != y.shape:
        raise ForecastingError("base_std", sd.shape, f"must be {y.shape}")
    if residuals is not None:
        cov, _ = shrunk_covariance(np.asarray(residuals, dtype=np.float64))
        d = np.sqrt(np.diag(cov))
        corr = cov / np.outer(d, d)
    else:
        corr = np.eye(hierarchy.n_nodes)
    P = hierarchy.summing @ G  # (n_nodes, n_nodes)
    std = np.empty_like(mean)
    for h in range(y.shape[1]):
        s = np.nan_to_num(sd[:, h])
        v = corr * np.outer(s, s)
        std[:, h] = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", P, v, P), 0.0))
    return mean, std


def holdout_residuals(model: Forecaster, panel: Panel, periods: int) -> np.ndarray:
    """``(n_series, periods)`` errors ``actual - forecast`` of ``model`` fitted on all but the
    last ``periods`` periods of ``panel`` and forecasting them (regressors given as known).

    Raises:
        ForecastingError: ``periods`` not in ``[1, n_periods - 2]``.
    """
    if not 1 <= periods <= panel.n_periods - 2:
        raise ForecastingError("periods", periods, f"must be in [1, {panel.n_periods - 2}]")
    cut = panel.n_periods - periods
    fitted = model.fit(panel.slice_time(0, cut))
    future = {k: v[:, cut:] for k, v in panel.regressors.items()}
    fc = fitted.predict(periods, future_regressors=future or None)
    out: np.ndarray = panel.values[:, cut:] - fc.mean
    return out


def forecast_hierarchy(
    bottom: Panel,
    hierarchy: Hierarchy,
    model: Forecaster,
    horizon: int,
    *,
    method: ReconcileMethod | str = "mint_shrink",
    level: float = 0.8,
    residual_periods: int | None = None,
    future_regressors: Mapping[str, np.ndarray] | None = None,
    window: int = 28,
) -> Forecast:
    """Coherent forecasts of every node of ``hierarchy`` from a panel of its bottom series.

    ``model`` is fitted to every node's aggregated history (base forecasts), then the base
    forecasts are reconciled with ``method``; ``wls_var`` and ``mint_shrink`` take their error
    covariance from :func:`holdout_residuals` over the last ``residual_periods`` periods
    (default ``max(2 * horizon, 14)``, at most a third of the history). Intervals are normal
    around the reconciled mean with the reconciled standard deviation, clipped at 0.
    ``future_regressors`` are bottom-level ``(n_bottom, horizon)`` plans, summed up like the
    history.

    Raises:
        ForecastingError: shapes that do not match the hierarchy, or bad arguments.
    """
    panel = hierarchy.aggregate_panel(bottom)
    future = (
        {
            k: hierarchy.aggregate(np.asarray(v, dtype=np.float64))
            for k, v in future_regressors.items()
        }
        if future_regressors
        else None
    )
    base = model.fit(panel).predict(horizon, level=level, future_regressors=future)
    residuals = None
    if method in ("wls_var", "mint_shrink"):
        r = residual_periods or max(2 * horizon, 14)
        r = max(1, min(r, panel.n_periods // 3))
        residuals = holdout_residuals(model, panel, r)
    mean, std = reconcile(
        base.mean,
        hierarchy,
        method,
        residuals=residuals,
        history=bottom.values,
        base_std=base.std,
        window=window,
    )
    assert std is not None
    z = NormalDist().inv_cdf(0.5 + level / 2.0)
    return Forecast(
        model=f"{base.model}+{method}",
        ids=hierarchy.ids,
        dates=base.dates,
        mean=mean,
        std=std,
        lower=np.maximum(mean - z * std, 0.0),
        upper=mean + z * std,
        level=level,
    )
