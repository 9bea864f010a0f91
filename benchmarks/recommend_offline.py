"""Offline evaluation of the recommenders: recall@k on a time split.

Two histories, both from the twin:

* ``twin``: the orders of a twin run (``CxTwin``, in-process SQLite, recommendations shown and
  the API's model retrained weekly), read back through the API. Its baskets are drawn from the
  demand kernel, so apart from the accepted add-ons they carry no taste structure;
* ``taste``: the twin's shoppers (the same :class:`twin.recommend.TasteModel` of the world)
  buying baskets drawn from their tastes: item ``j`` with probability proportional to
  ``exp(tau * affinity(c, j)) * rate_j`` (``tau`` = ``--tau``), ``--visits`` orders each over
  the period.

Split at ``--split`` of the period: train on the orders before, test on the items each
customer bought after and had not bought before. Methods: popularity, item-to-item
co-purchase (summed over the customer's items), implicit ALS (``api.services.recommend_model``),
and the served hybrid (co-purchase of the customer's items + factors). Prints recall@k per
method, the users evaluated and the training time.

    python benchmarks/recommend_offline.py --days 28 --k 10
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import scipy.sparse as sp

from api.services import recommend_model as rm
from scenarios.schema import Scenario, load_scenario
from twin.cx import CxTwin
from twin.recommend import TasteModel
from twin.runner import open_commerce, resolve

Order = tuple[str, float, list[tuple[int, int]]]  # customer, day, [(item, qty)]


def twin_history(sc: Scenario, seed: int, days: int) -> tuple[list[Order], int]:
    """Orders of a twin run with recommendations (customer, day, lines)."""
    sc = resolve(sc, seed=seed, days=days)
    from api.clock import ManualClock

    start = datetime(sc.start_date.year, sc.start_date.month, sc.start_date.day, tzinfo=UTC)
    clock = ManualClock(start)
    client, close, _ = open_commerce(sc, clock, database=":memory:")
    try:
        twin = CxTwin(sc, client, clock, seed=seed, days=days, recommend=True)
        twin.run()
        index = {c: i for i, c in enumerate(twin.world.skus.codes)}
        out: list[Order] = []
        cursor = None
        while True:
            page = client.list_orders(cursor=cursor, limit=500)
            for o in page.items:
                t = (o.created_at - start).total_seconds() / 86400.0
                out.append((o.customer_id, t, [(index[ln.sku], ln.quantity) for ln in o.lines]))
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        return out, twin.world.n_skus
    finally:
        close()


def taste_history(
    sc: Scenario, seed: int, days: int, visits: int, tau: float
) -> tuple[list[Order], int]:
    """Baskets drawn from the shoppers' tastes (see the module docstring)."""
    from twin.engine import Twin
    from twin.runner import resolve as _resolve

    sc = _resolve(sc, seed=seed, days=days)
    from api.client.fake import FakeCommerce
    from api.clock import ManualClock

    twin = Twin(sc, FakeCommerce(ManualClock()), ManualClock(), seed=seed, days=days)
    w = twin.world
    n = len(twin.model.customers)
    ws = 0 if sc.world_seed is None else sc.world_seed
    taste = TasteModel.for_world(w, n, ws)
    rng = np.random.default_rng([seed, 99])
    rate = w.demand.base_rate.sum(axis=1)
    logp = np.log(np.maximum(rate, 1e-9))
    out: list[Order] = []
    sizes = rng.poisson(4.0, size=(n, visits)) + 1
    for c in range(n):
        u = tau * taste.affinity(c, np.arange(w.n_skus)) + logp
        p = np.exp(u - u.max())
        p /= p.sum()
        for v in range(visits):
            t = float(rng.uniform(0, days))
            items = rng.choice(w.n_skus, size=int(min(sizes[c, v], w.n_skus)), replace=False, p=p)
            out.append((f"C{c}", t, [(int(i), 1) for i in items]))
    return out, w.n_skus


def evaluate(orders: list[Order], n_items: int, split: float, k: int) -> dict[str, float]:
    """Recall@k of each method on the time split (see the module docstring)."""
    train = [o for o in orders if o[1] < split]
    test = [o for o in orders if o[1] >= split]
    users = sorted({o[0] for o in train})
    uix = {u: i for i, u in enumerate(users)}
    g, us, it, q = [], [], [], []
    for oid, (cust, _t, lines) in enumerate(train):
        for i, qty in lines:
            g.append(oid)
            us.append(uix[cust])
            it.append(i)
            q.append(qty)
    inter = rm.Interactions(np.array(g), np.array(us), np.array(it), np.array(q, dtype=float))
    none = np.zeros(0, dtype=np.int64)
    empty = rm.Interactions(none, none, none, np.zeros(0))
    t0 = time.perf_counter()
    model = rm.train(np.arange(n_items), users, inter, empty, np.random.default_rng(0))
    train_s = time.perf_counter() - t0
    bought = model.bought.tocsr()
    rows, cols = np.nonzero(model.buy_idx >= 0)
    co = sp.csr_matrix(
        (model.buy_score[rows, cols], (rows, model.buy_idx[rows, cols])), shape=(n_items, n_items)
    )
    relevant: dict[str, set[int]] = {}
    for cust, _t, lines in test:
        if cust in uix:
            relevant.setdefault(cust, set()).update(i for i, _q in lines)
    recs: dict[str, list[np.ndarray]] = {m: [] for m in ("popular", "co_purchase", "als", "hybrid")}
    rel: list[set[int]] = []
    for cust, items in relevant.items():
        u = uix[cust]
        had = bought.indices[bought.indptr[u] : bought.indptr[u + 1]]
        new = items - set(had.tolist())
        if not new:
            continue
        rel.append(new)
        mask = np.zeros(n_items, dtype=bool)
        mask[had] = True
        pop = np.where(mask, -np.inf, model.popularity)
        recs["popular"].append(rm.top_k(pop, k))
        c = np.asarray(co[had].sum(axis=0)).ravel() + 1e-6 * model.popularity / max(
            model.popularity.max(), 1.0
        )
        recs["co_purchase"].append(rm.top_k(np.where(mask, -np.inf, c), k))
        s, _src = rm.scores_for(model, user=u, item=None)
        recs["als"].append(rm.top_k(s, k))
        f = s / max(float(np.max(np.abs(s[np.isfinite(s)]))), 1e-12)
        cn = c / max(float(c.max()), 1e-12)
        recs["hybrid"].append(rm.top_k(np.where(mask, -np.inf, cn + 0.5 * f), k))
    out = {m: rm.recall_at_k(r, rel, k) for m, r in recs.items()}
    out["users"] = float(len(rel))
    out["train_orders"] = float(len(train))
    out["train_seconds"] = train_s
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--scenario", default="scenarios/baseline.yaml")
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--split", type=float, default=0.75, help="share of the period for training")
    ap.add_argument("--visits", type=int, default=8, help="orders per shopper (taste history)")
    ap.add_argument("--tau", type=float, default=4.0, help="taste strength (taste history)")
    ap.add_argument("--histories", default="taste,twin")
    args = ap.parse_args()
    sc = load_scenario(args.scenario)
    print(f"{platform.node()}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    for name in args.histories.split(","):
        t0 = time.perf_counter()
        if name == "twin":
            orders, n_items = twin_history(sc, args.seed, args.days)
        else:
            orders, n_items = taste_history(sc, args.seed, args.days, args.visits, args.tau)
        res = evaluate(orders, n_items, args.split * args.days, args.k)
        print(
            f"{name:5s} history: {len(orders)} orders, {n_items} SKUs, split at day "
            f"{args.split * args.days:.0f}, {res['users']:.0f} users evaluated, ALS trained in "
            f"{res['train_seconds']:.2f} s ({time.perf_counter() - t0:.0f} s in all)"
        )
        for m in ("popular", "co_purchase", "als", "hybrid"):
            print(f"    recall@{args.k} {m:12s} {res[m]:.3f}")


if __name__ == "__main__":
    main()
