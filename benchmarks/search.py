"""Search benchmark: p99 latency of keyword search over HTTP at 100k SKUs (1 and 8 clients) and
NDCG@10 of keyword vs hybrid search on a judged query set, on SQLite and PostgreSQL.

What it does, per backend:

1. Builds the synthetic catalog of ``benchmarks/_search_catalog.py`` (``--skus``, default
   100,000) in a fresh database (SQLite file in a temp dir; PostgreSQL: ``--db URL`` or a
   throwaway role and database on the local cluster, see ``_pg.py``), imports it with the
   service's bulk import, stocks a store with 60% of the SKUs (direct inserts into ``stock``),
   and embeds every SKU (``--embedder``; distinct texts once, vectors memoised across backends).
2. NDCG@10 over the judged queries, in process, for ``keyword`` without expansion (what the
   seed could do), ``keyword`` (typo correction + synonyms), ``hybrid`` and ``semantic``.
3. Starts uvicorn (``--workers``) and runs ``--clients`` closed-loop clients (separate
   processes, keep-alive HTTP), each sending ``--requests`` keyword searches drawn from the
   judged queries and single catalog words, a fifth with ``in_stock_at`` and a fifth with
   ``rank_at``; ``--repeats`` runs per client count, the median of the p50/p99 reported.
   ``--hybrid-requests`` adds a 1-client hybrid run.

Prints the machine (CPU, load average) and a table. Run:
``python benchmarks/search.py --backends sqlite,pg --skus 100000 --repeats 3``
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _search_catalog import Judged, build_catalog, judged_queries, ndcg_at_10

log = logging.getLogger("benchmarks.search")
TARGET_P99_1, TARGET_P99_8 = 20.0, 100.0


# ---- load generator (runs in spawned processes: keep imports light) -----------------------
def _client(args: tuple[str, str, list[dict[str, Any]], int, int]) -> list[float]:
    import httpx

    base, token, queries, n, seed = args
    rng = np.random.default_rng(seed)
    out: list[float] = []
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=120) as c:
        for q in queries[:20]:  # warm-up, uncounted
            c.get("/v1/search", params=q)
        for _ in range(n):
            q = queries[int(rng.integers(len(queries)))]
            t0 = time.perf_counter()
            r = c.get("/v1/search", params=q)
            out.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"{r.status_code}: {r.text[:300]}")
    return out


def _cpu_s(server_pid: int, database: str) -> dict[str, float]:
    """CPU seconds so far of the API (uvicorn and its workers) and of the PostgreSQL backends
    connected to ``database`` (others' databases on the shared cluster are left out)."""
    import psutil

    def total(ps: list[Any]) -> float:
        out = 0.0
        for p in ps:
            try:
                t = p.cpu_times()
                out += t.user + t.system
            except psutil.Error:
                pass
        return out

    api = psutil.Process(server_pid)
    pg = []
    for p in psutil.process_iter(["name", "cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if (p.info["name"] or "").startswith("postgres") and f" {database} " in f"{cmd} ":
            pg.append(p)
    return {"api": total([api, *api.children(recursive=True)]), "postgres": total(pg)}


def run_clients(
    base: str,
    token: str,
    queries: list[dict[str, Any]],
    clients: int,
    n: int,
    seed: int,
    server_pid: int,
    database: str,
) -> tuple[float, float, float, dict[str, float]]:
    """(p50, p99, requests/s, CPU ms per request of API and PostgreSQL) of ``clients``
    concurrent closed-loop clients (the CPU figures include the uncounted warm-up requests)."""
    ctx = mp.get_context("spawn")
    c0 = _cpu_s(server_pid, database)
    t0 = time.perf_counter()
    with ctx.Pool(clients) as pool:
        res = pool.map(_client, [(base, token, queries, n, seed + i) for i in range(clients)])
    wall = time.perf_counter() - t0
    c1 = _cpu_s(server_pid, database)
    lat = np.array([x for r in res for x in r])
    sent = lat.size + 20 * clients
    cpu = {k: round(1000 * (c1[k] - c0[k]) / sent, 2) for k in c0}
    return float(np.percentile(lat, 50)), float(np.percentile(lat, 99)), lat.size / wall, cpu


# ---- setup -----------------------------------------------------------------------------------
class MemoEmbedder:
    """Wraps an embedder so a text is embedded once per benchmark (both backends share it)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self.memo: dict[str, Any] = {}

    def encode(self, texts: list[str]) -> Any:
        todo = [t for t in dict.fromkeys(texts) if t not in self.memo]
        if todo:
            for t, v in zip(todo, self.inner.encode(todo), strict=True):
                self.memo[t] = v
        return np.stack([self.memo[t] for t in texts])


def build(url: str, skus: list[Any], seed: int) -> dict[str, float]:
    """Migrate, import, stock and embed; returns seconds per step."""
    from sqlalchemy import text

    from api.clock import SystemClock
    from api.db import make_engine, upgrade_schema
    from api.payments import SimulatedGateway
    from api.schemas import LocationCreate, LocationKind, SkuImportRow
    from api.search import vectors
    from api.services import catalog, locations
    from api.services.context import Principal, ServiceContext

    staff = Principal(role="staff", key_id=1)
    engine = make_engine(url, pool_size=2, max_overflow=0)
    ctx = ServiceContext(engine=engine, clock=SystemClock(), gateway=SimulatedGateway())
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    upgrade_schema(engine)
    rows = [
        SkuImportRow(
            sku=s.code,
            product=s.product,
            name=s.name,
            category=s.category,
            description=s.description,
            attributes=s.attributes,
            cost_cents=s.price_cents // 2,
            list_price_cents=s.price_cents,
        )
        for s in skus
    ]
    for i in range(0, len(rows), 25000):
        catalog.import_skus(ctx, staff, rows[i : i + 25000])
    times["import_s"] = time.perf_counter() - t0
    locations.create_location(
        ctx, staff, LocationCreate(code="STORE", kind=LocationKind.STORE, name="S", lat=0, lon=0)
    )
    rng = np.random.default_rng(seed)
    with engine.begin() as conn:
        loc = conn.execute(text("SELECT id FROM locations WHERE code = 'STORE'")).scalar()
        ids = [int(r[0]) for r in conn.execute(text("SELECT id FROM skus ORDER BY id"))]
        held = [i for i in ids if rng.random() < 0.6]
        conn.execute(
            text(
                "INSERT INTO stock (sku_id, location_id, on_hand, reserved) VALUES (:s, :l, :o, 0)"
            ),
            [{"s": i, "l": loc, "o": int(rng.integers(1, 50))} for i in held],
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE"))
    t1 = time.perf_counter()
    got = vectors.refresh(ctx, staff)
    times["embed_s"] = time.perf_counter() - t1
    log.info("embedded %d SKUs with %s in %.1f s", got.embedded, got.model, times["embed_s"])
    engine.dispose()
    return times


def relevance(url: str, skus: list[Any], judged: list[Judged]) -> dict[str, dict[str, float]]:
    """Mean NDCG@10 per mode and query kind (plus ``all``), and mean latency in process."""
    from api.clock import SystemClock
    from api.db import make_engine
    from api.payments import SimulatedGateway
    from api.schemas import SearchQuery
    from api.search import service
    from api.services.context import Principal, ServiceContext

    kind_of = {s.code: s.kind for s in skus}
    count: dict[str, int] = {}
    for s in skus:
        count[s.kind] = count.get(s.kind, 0) + 1
    engine = make_engine(url, pool_size=2, max_overflow=0)
    ctx = ServiceContext(engine=engine, clock=SystemClock(), gateway=SimulatedGateway())
    staff = Principal(role="staff", key_id=1)
    modes: dict[str, dict[str, Any]] = {
        "keyword_strict": {"mode": "keyword", "expand": False},
        "keyword": {"mode": "keyword"},
        "hybrid": {"mode": "hybrid"},
        "semantic": {"mode": "semantic"},
    }
    out: dict[str, dict[str, float]] = {}
    for name, kw in modes.items():
        per: dict[str, list[float]] = {}
        t0 = time.perf_counter()
        for j in judged:
            page = service.search(ctx, staff, SearchQuery(q=j.query, limit=10, **kw))
            score = ndcg_at_10(
                [kind_of[h.sku] for h in page.items], j.types, sum(count.get(t, 0) for t in j.types)
            )
            per.setdefault(j.kind, []).append(score)
            per.setdefault("all", []).append(score)
        out[name] = {k: round(float(np.mean(v)), 3) for k, v in per.items()}
        out[name]["ms_per_query"] = round((time.perf_counter() - t0) * 1000 / len(judged), 1)
    engine.dispose()
    return out


def latency_queries(judged: list[Judged], seed: int) -> list[dict[str, Any]]:
    from _search_catalog import ADJECTIVES, TYPES

    rng = np.random.default_rng(seed)
    words = sorted({w for ts in TYPES.values() for t, _ in ts for w in t.split()} | set(ADJECTIVES))
    texts = [j.query for j in judged if j.kind != "descriptive"] + words
    out: list[dict[str, Any]] = []
    for t in texts:
        q: dict[str, Any] = {"q": t, "limit": 20}
        r = rng.random()
        if r < 0.2:
            q["in_stock_at"] = "STORE"
        elif r < 0.4:
            q["rank_at"] = "STORE"
        out.append(q)
    return out


def http_runs(
    url: str, args: argparse.Namespace, queries: list[dict[str, Any]], tmp: Path
) -> dict[str, Any]:
    import secrets

    import httpx
    from checkout import Keys, api_server, prepare_database

    keys = Keys(pepper=secrets.token_hex(16), staff=secrets.token_hex(16), customers=())
    dbname = url.rsplit("/", 1)[-1].split("?")[0]
    prepare_database(url, keys)
    res: dict[str, Any] = {}
    with api_server(url, keys, args.workers, 4, 4, tmp) as (proc, port, _log):
        base = f"http://127.0.0.1:{port}"
        for clients in args.clients:
            n = max(50, args.requests // clients)
            runs = [
                run_clients(
                    base, keys.staff, queries, clients, n, args.seed + 100 * r, proc.pid, dbname
                )
                for r in range(args.repeats)
            ]
            res[f"keyword_c{clients}"] = {
                "p50_ms": round(statistics.median(r[0] for r in runs), 2),
                "p99_ms": round(statistics.median(r[1] for r in runs), 2),
                "rps": round(statistics.median(r[2] for r in runs), 1),
                "p99_runs": [round(r[1], 2) for r in runs],
                "requests_per_run": n * clients,
                "cpu_ms_per_request": {
                    k: round(statistics.median(r[3][k] for r in runs), 2) for k in runs[0][3]
                },
                "loadavg_after": os.getloadavg(),
            }
            log.info("%s", res[f"keyword_c{clients}"])
        if args.hybrid_requests:
            hq = [dict(q, mode="hybrid") for q in queries]
            httpx.get(base + "/v1/search", params=hq[0], timeout=300,
                      headers={"Authorization": f"Bearer {keys.staff}"})  # fmt: skip
            p50, p99, rps, cpu = run_clients(
                base, keys.staff, hq, 1, args.hybrid_requests, args.seed, proc.pid, dbname
            )
            res["hybrid_c1"] = {
                "p50_ms": round(p50, 2),
                "p99_ms": round(p99, 2),
                "rps": round(rps, 1),
                "cpu_ms_per_request": cpu,
            }
    return res


def main() -> None:
    from checkout import machine_info

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backends", default="sqlite,pg")
    p.add_argument("--skus", type=int, default=100_000)
    p.add_argument("--clients", type=lambda s: [int(x) for x in s.split(",")], default=[1, 8])
    p.add_argument("--requests", type=int, default=800, help="per run, split over the clients")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--hybrid-requests", type=int, default=100)
    p.add_argument("--embedder", choices=["minilm", "hashing"], default="minilm")
    p.add_argument("--db", default=None, help="PostgreSQL URL (default: a throwaway database)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--skip-http", action="store_true")
    p.add_argument("--skip-ndcg", action="store_true")
    p.add_argument("--json", default=None, help="also write the results here")
    args = p.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    os.environ["SHOPSPHERE_SEARCH_EMBEDDER"] = args.embedder
    os.environ.setdefault("SHOPSPHERE_SEARCH_TORCH_THREADS", "1")
    from api.search import vectors

    vectors._EMBEDDERS[args.embedder] = MemoEmbedder(vectors.get_embedder(args.embedder))
    rng = np.random.default_rng(args.seed)
    skus = build_catalog(args.skus, rng)
    judged = judged_queries(rng)
    queries = latency_queries(judged, args.seed)
    info = machine_info()
    results: dict[str, Any] = {"machine": info, "skus": args.skus, "embedder": args.embedder}
    for backend in args.backends.split(","):
        with tempfile.TemporaryDirectory() as td:
            tmp = Path(td)
            if backend == "sqlite":
                ctxm: Any = None
                url = f"sqlite:///{tmp / 'search.db'}"
            else:
                from _pg import throwaway_database

                ctxm = None if args.db else throwaway_database()
                url = args.db or ctxm.__enter__()
            try:
                r: dict[str, Any] = {"build": build(url, skus, args.seed)}
                if not args.skip_ndcg:
                    r["ndcg"] = relevance(url, skus, judged)
                    log.info("%s ndcg %s", backend, json.dumps(r["ndcg"]))
                if not args.skip_http:
                    r["http"] = http_runs(url, args, queries, tmp)
                results[backend] = r
            finally:
                if ctxm is not None:
                    ctxm.__exit__(None, None, None)
    results["loadavg_at_end"] = os.getloadavg()
    print(json.dumps(results, indent=2))
    _table(results, args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


def _table(res: dict[str, Any], args: argparse.Namespace) -> None:
    m = res["machine"]
    print(
        f"\nmachine: {m['cpu_model']}, {m['usable_cpus']} CPUs, load average at start "
        f"{m['loadavg_at_start']}, at end {res['loadavg_at_end']}; {res['skus']} SKUs; "
        f"embedder {res['embedder']}"
    )
    print(
        f"{'backend':8} {'run':>10} {'p50 ms':>8} {'p99 ms':>8} {'target':>7} {'req/s':>7} "
        "CPU ms/request (API, PostgreSQL)"
    )
    for b in args.backends.split(","):
        for k, v in res.get(b, {}).get("http", {}).items():
            c = int(k.rsplit("c", 1)[1])
            tgt = "" if k.startswith("hybrid") else (TARGET_P99_1 if c == 1 else TARGET_P99_8)
            cpu = v.get("cpu_ms_per_request", {})
            print(
                f"{b:8} {k:>10} {v['p50_ms']:8.1f} {v['p99_ms']:8.1f} {tgt!s:>7} "
                f"{v.get('rps', 0):7.0f} {cpu.get('api', 0):.2f}, {cpu.get('postgres', 0):.2f}"
            )
    print("\nNDCG@10 (mean over judged queries)")
    for b in args.backends.split(","):
        for mode, v in res.get(b, {}).get("ndcg", {}).items():
            print(f"{b:8} {mode:15} " + " ".join(f"{k}={x}" for k, x in v.items()))


if __name__ == "__main__":
    main()
