"""Catalog search: bounded-candidate keyword ranking, typo correction, synonyms, availability
ranking, facets and hybrid (keyword + vector) search. See docs/search.md.

Keyword relevance ranks a bounded candidate set: at most ``CANDIDATES`` SKUs whose *name*
matches the query plus at most ``CANDIDATES`` matching in any field, each taken from the
full-text index in index order and stopped early, so the cost does not grow with the match
count. Below that bound the ranking is exact; above it, it ranks the best of those candidates.
Relevance pages by keyset on the (integer score, id) pair; only narrow (id, score) rows go
through the sort, and the page's rows are read by primary key afterwards (the only join with
products and categories).
"""

from __future__ import annotations

import functools
import json
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, TextClause, create_engine, event
from sqlalchemy import text as _text

from api.errors import InvalidInputError, NotFoundError
from api.schemas import Page, SearchQuery, SkuRead
from api.search import text as qt
from api.search.schemas import FacetCount, PriceBand, SearchFacets, SearchInterpretation
from api.services.context import Principal, ServiceContext, decode_cursor, encode_cursor

CANDIDATES = 200  # per tier: name matches, any-field matches
HYBRID_DEPTH = 100  # ranks fused from each list
RRF_K = 60  # reciprocal rank fusion constant
FACET_ROWS = 5000  # facets count over at most this many matching SKUs
SCALE = 1_000_000_000  # float scores become integers (exact keyset comparisons)
NAME_TIER = 10**15  # SQLite: name matches rank above description-only ones
PRICE_BANDS: tuple[tuple[int, int | None], ...] = (
    (0, 500),
    (500, 1000),
    (1000, 2000),
    (2000, 5000),
    (5000, 10000),
    (10000, None),
)


@functools.lru_cache(maxsize=1024)
def text(sql: str) -> TextClause:
    """``sqlalchemy.text`` memoised: the statements here are built from a few shapes, and
    parsing their bind parameters again on every request cost more than running some of them."""
    return _text(sql)


# ---- per-engine caches -------------------------------------------------------------------
@dataclass(slots=True)
class _Cache:
    vocab_gen: int = -1
    trigram: qt.TrigramIndex | None = None
    trgm_schema: str | None = None
    trgm_checked: bool = False


_CACHES: weakref.WeakKeyDictionary[Engine, _Cache] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _cache(engine: Engine) -> _Cache:
    with _LOCK:
        c = _CACHES.get(engine)
        if c is None:
            c = _CACHES[engine] = _Cache()
        return c


_READERS: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def read_engine(ctx: ServiceContext) -> Engine:
    """The engine search reads through. PostgreSQL (and in-memory SQLite): the service's own.
    A SQLite file: a second engine on the same file whose transactions start with a deferred
    ``BEGIN``, because the service's engine starts every transaction with ``BEGIN IMMEDIATE``
    (the write lock), which made concurrent searches queue one behind another (p99 of 0.35-1.3 s
    with 4 threads in one process); WAL readers need no lock against each other."""
    eng = ctx.engine
    db = eng.url.database
    if ctx.is_pg or eng.dialect.name != "sqlite" or db in (None, "", ":memory:"):
        return eng
    with _LOCK:
        got = _READERS.get(eng)
        if got is None:
            got = create_engine(eng.url, connect_args={"check_same_thread": False, "timeout": 30})

            @event.listens_for(got, "connect")
            def _connect(dbapi_conn: Any, _record: Any) -> None:
                dbapi_conn.isolation_level = None  # BEGIN is emitted below
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA busy_timeout=30000")
                cur.execute("PRAGMA query_only=ON")
                cur.close()

            @event.listens_for(got, "begin")
            def _begin(conn: Connection) -> None:
                conn.connection.driver_connection.execute("BEGIN")  # type: ignore[union-attr]

            _READERS[eng] = got
        return got


def generation(conn: Connection, key: str) -> int:
    """The ``search_meta`` counter ``key`` (0 when absent)."""
    v = conn.execute(text("SELECT value FROM search_meta WHERE key = :k"), {"k": key}).scalar()
    return int(v or 0)


def bump(conn: Connection, key: str) -> None:
    """Advance counter ``key`` so other processes' caches reload."""
    conn.execute(text("UPDATE search_meta SET value = value + 1 WHERE key = :k"), {"k": key})


# ---- vocabulary upkeep (called by catalog.import_skus) -----------------------------------
def add_to_vocab(conn: Connection, docs: list[tuple[str, str, str | None]]) -> None:
    """Add the words of imported ``(name, description, attributes)`` rows to the vocabulary
    (document frequencies only grow: an update counts its words again)."""
    df = qt.vocab_counts(docs)
    if not df:
        return
    conn.execute(
        text(
            "INSERT INTO search_vocab (word, df) VALUES (:w, :d) "
            "ON CONFLICT (word) DO UPDATE SET df = search_vocab.df + excluded.df"
        ),
        [{"w": w, "d": d} for w, d in sorted(df.items())],
    )
    bump(conn, "vocab")


# ---- query interpretation ------------------------------------------------------------------
def interpret(ctx: ServiceContext, conn: Connection, raw: str, expand: bool) -> qt.QueryPlan:
    """Words of ``raw`` as a plan; with ``expand``, synonyms and typo corrections are added."""
    qwords = qt.words(raw)
    if not qwords:
        return qt.QueryPlan(groups=())
    if not expand:
        return qt.build_plan(qwords, {}, {})
    keys = sorted(set(qwords) | {" ".join(qwords[i : i + 2]) for i in range(len(qwords) - 1)})
    marks = ", ".join(f":k{i}" for i in range(len(keys)))
    params = {f"k{i}": k for i, k in enumerate(keys)}
    rows = conn.execute(
        text(
            f"SELECT 'v', word, '' FROM search_vocab WHERE word IN ({marks}) UNION ALL "
            f"SELECT 's', term, synonym FROM search_synonyms WHERE term IN ({marks})"
        ),
        params,
    ).all()
    known = {r[1] for r in rows if r[0] == "v"}
    synonyms: dict[str, list[str]] = {}
    for kind, term, syn in rows:
        if kind == "s":
            synonyms.setdefault(term, []).append(syn)
    for v in synonyms.values():
        v.sort()
    unknown = [w for w in dict.fromkeys(qwords) if w not in known and qt.max_typos(w) > 0]
    corrections = _correct(ctx, conn, unknown) if unknown else {}
    if corrections:
        extra = sorted(set(corrections.values()) - set(synonyms))
        if extra:
            marks = ", ".join(f":e{i}" for i in range(len(extra)))
            for term, syn in conn.execute(
                text(f"SELECT term, synonym FROM search_synonyms WHERE term IN ({marks})"),
                {f"e{i}": k for i, k in enumerate(extra)},
            ):
                synonyms.setdefault(term, []).append(syn)
    return qt.build_plan(qwords, synonyms, corrections)


def _correct(ctx: ServiceContext, conn: Connection, unknown: list[str]) -> dict[str, str]:
    cache = _cache(ctx.engine)
    out: dict[str, str] = {}
    if ctx.is_pg:
        schema = _trgm_schema(conn, cache)
        if schema is not None:
            for w in unknown:
                cands = list(
                    conn.execute(
                        text(
                            "SELECT word, df FROM search_vocab "
                            f'WHERE word OPERATOR("{schema}".%) :w '
                            f'ORDER BY "{schema}".similarity(word, :w) DESC, word LIMIT 40'
                        ),
                        {"w": w},
                    ).all()
                )
                cands += conn.execute(  # short words share few trigrams: same first letter
                    text(
                        "SELECT word, df FROM search_vocab WHERE word >= :lo AND word < :hi "
                        "AND length(word) BETWEEN :a AND :b ORDER BY word LIMIT 400"
                    ),
                    {"lo": w[0], "hi": w[0] + "\U0010ffff", "a": len(w) - 1, "b": len(w) + 1},
                ).all()
                df = {str(r[0]): int(r[1]) for r in cands}
                best = qt.best_correction(w, df, df)
                if best is not None:
                    out[w] = best
            return out
    gen = generation(conn, "vocab")
    if cache.trigram is None or cache.vocab_gen != gen:
        vocab = {str(w): int(d) for w, d in conn.execute(text("SELECT word, df FROM search_vocab"))}
        index = qt.TrigramIndex(vocab)
        with _LOCK:
            cache.trigram, cache.vocab_gen = index, gen
    index = cache.trigram
    assert index is not None
    for w in unknown:
        best = qt.best_correction(w, index.candidates(w), index.df)
        if best is not None:
            out[w] = best
    return out


def _trgm_schema(conn: Connection, cache: _Cache) -> str | None:
    if not cache.trgm_checked:
        found = conn.execute(
            text(
                "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n "
                "ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        ).scalar()
        cache.trgm_schema = None if found is None else str(found)
        cache.trgm_checked = True
    return cache.trgm_schema


# ---- filters -------------------------------------------------------------------------------
@dataclass(slots=True)
class _Filters:
    """``sql``: conditions with ``{id}`` standing for the SKU id expression; ``row``: whether
    they read columns of the skus row ``s`` (category, price), else only stock is probed."""

    raw: str
    params: dict[str, Any]
    boost_loc: int | None
    row: bool = False

    @property
    def sql(self) -> str:
        return self.raw.format(id="s.id")

    def on(self, id_expr: str) -> str:
        return self.raw.format(id=id_expr)


def _filters(ctx: ServiceContext, conn: Connection, q: SearchQuery) -> _Filters:
    """SQL conditions on ``s`` (the skus row) for the query's filters; ids resolved first."""
    conds: list[str] = []
    params: dict[str, Any] = {}
    if q.category is not None:
        cat = conn.execute(
            text("SELECT id FROM categories WHERE code = :c"), {"c": q.category}
        ).scalar()
        if cat is None:
            conds.append("1 = 0")
        else:
            conds.append("s.category_id = :f_cat")
            params["f_cat"] = int(cat)
    if q.min_price_cents is not None:
        conds.append("s.list_price_cents >= :f_min")
        params["f_min"] = q.min_price_cents
    if q.max_price_cents is not None:
        conds.append("s.list_price_cents <= :f_max")
        params["f_max"] = q.max_price_cents
    if q.in_stock_at is not None:
        params["f_loc"] = ctx.location_id(conn, q.in_stock_at)
        conds.append(
            "EXISTS (SELECT 1 FROM stock st WHERE st.location_id = :f_loc "
            "AND st.sku_id = {id} AND st.on_hand > st.reserved)"
        )
    boost = None
    if q.rank_at is not None:
        boost = ctx.location_id(conn, q.rank_at)
        params["f_rank_loc"] = boost
    row = any(k in params for k in ("f_cat", "f_min", "f_max")) or "1 = 0" in conds
    return _Filters(
        raw="".join(" AND " + c for c in conds), params=params, boost_loc=boost, row=row
    )


def available_at(conn: Connection, ids: list[int], location_id: int) -> set[int]:
    """Which of ``ids`` have available stock (on hand above reserved) at the location (one
    probe of the partial index ``ix_stock_available`` per id)."""
    out: set[int] = set()
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ", ".join(f":a{n}" for n in range(len(chunk)))
        params: dict[str, Any] = {f"a{n}": i for n, i in enumerate(chunk)}
        params["loc"] = location_id
        out.update(
            int(r[0])
            for r in conn.execute(
                text(
                    "SELECT sku_id FROM stock WHERE location_id = :loc AND on_hand > reserved "
                    f"AND sku_id IN ({marks})"
                ),
                params,
            )
        )
    return out


# ---- keyword candidates ----------------------------------------------------------------------
def _scored_sql(ctx: ServiceContext, plan: qt.QueryPlan, f: _Filters) -> tuple[str, dict[str, Any]]:
    """SQL yielding ``(id, score)`` rows for the bounded candidate set (two index-ordered
    scans stopped at ``CANDIDATES`` rows each, one statement; an id may appear twice with the
    same score). Scores are integers, higher is better."""
    params: dict[str, Any] = dict(f.params)
    params["k"] = CANDIDATES
    if ctx.is_pg:
        tsq, qp = qt.pg_tsquery(plan)
        params.update(qp)
        score = f"CAST(ts_rank(s.search_tsv, {tsq}) * {SCALE} AS BIGINT)"
        sql = (
            f"(SELECT s.id, {score} FROM skus s WHERE s.search_tsv_name @@ {tsq}{f.sql} "
            "LIMIT :k) UNION ALL "
            f"(SELECT s.id, {score} FROM skus s WHERE s.search_tsv @@ {tsq}{f.sql} LIMIT :k)"
        )
        return sql, params
    match = qt.fts5_match(plan)
    params["m_all"] = match
    params["m_name"] = "{name} : (" + match + ")"
    bm = "CAST(-bm25(sku_fts, 10.0, 1.0, 2.0) * 1000000 AS INTEGER)"  # name, descr., attrs
    join = " JOIN skus s ON s.id = sku_fts.rowid" if f.row else ""  # only for its columns
    cond = f.on("sku_fts.rowid")
    sql = (
        f"SELECT * FROM (SELECT sku_fts.rowid, {NAME_TIER} + {bm} FROM sku_fts{join} "
        f"WHERE sku_fts MATCH :m_name{cond} LIMIT :k) UNION ALL "
        f"SELECT * FROM (SELECT sku_fts.rowid, {bm} FROM sku_fts{join} "
        f"WHERE sku_fts MATCH :m_all{cond} LIMIT :k)"
    )
    return sql, params


def _ranked(
    ctx: ServiceContext,
    conn: Connection,
    plan: qt.QueryPlan,
    f: _Filters,
    limit: int,
    after: tuple[int, int] | None,
) -> list[tuple[int, int]]:
    """The best ``limit`` candidates ``(id, score)`` after the keyset ``after``, best first
    (ties by id). The candidate rows are narrow and at most ``2 * CANDIDATES``; they are
    merged, doubled when available at ``rank_at`` and ordered here."""
    sql, params = _scored_sql(ctx, plan, f)
    best: dict[int, int] = {}
    for sid, sc in conn.execute(text(sql), params):
        i, v = int(sid), int(sc)
        if v > best.get(i, -(2**63)):
            best[i] = v
    if f.boost_loc is not None and best:
        held = available_at(conn, list(best), f.boost_loc)
        best = {i: v * 2 if i in held else v for i, v in best.items()}
    out = sorted(best.items(), key=lambda p: (-p[1], p[0]))
    if after is not None:
        s0, i0 = after
        out = [p for p in out if p[1] < s0 or (p[1] == s0 and p[0] > i0)]
    return out[:limit]


def _match_filter(ctx: ServiceContext, plan: qt.QueryPlan, params: dict[str, Any]) -> str:
    """Condition ``s`` matches the plan (exhaustive: used by the non-relevance sorts)."""
    if ctx.is_pg:
        tsq, qp = qt.pg_tsquery(plan)
        params.update(qp)
        return f" AND s.search_tsv @@ {tsq}"
    params["m_all"] = qt.fts5_match(plan)
    return " AND s.id IN (SELECT rowid FROM sku_fts WHERE sku_fts MATCH :m_all)"


# ---- rows --------------------------------------------------------------------------------------
_ROW_SQL = (
    "SELECT s.id, s.code, p.code AS product, s.name, c.code AS category, s.description, "
    "s.attributes, s.cost_cents, s.list_price_cents FROM skus s "
    "JOIN products p ON p.id = s.product_id JOIN categories c ON c.id = s.category_id "
)


def _rows(conn: Connection, ids: list[int]) -> list[SkuRead]:
    """The SKUs ``ids`` in that order (one primary-key read)."""
    if not ids:
        return []
    marks = ", ".join(f":i{n}" for n in range(len(ids)))
    got = {
        int(r.id): r
        for r in conn.execute(
            text(_ROW_SQL + f"WHERE s.id IN ({marks})"), {f"i{n}": i for n, i in enumerate(ids)}
        )
    }
    return [
        SkuRead(
            sku=r.code,
            product=r.product,
            name=r.name,
            category=r.category,
            description=r.description,
            attributes=json.loads(r.attributes),
            cost_cents=r.cost_cents,
            list_price_cents=r.list_price_cents,
        )
        for i in ids
        if (r := got.get(i)) is not None
    ]


def _bad_cursor(q: SearchQuery) -> InvalidInputError:
    return InvalidInputError(
        "cursor does not match the sort order", details={"field": "cursor", "value": q.cursor}
    )


def _int_pair(cur: dict[str, Any], key: str, q: SearchQuery) -> tuple[int, int] | None:
    if key not in cur:
        if cur:
            raise _bad_cursor(q)
        return None
    v = cur[key]
    if (
        not isinstance(v, list)
        or len(v) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in v)
    ):
        raise _bad_cursor(q)
    return int(v[0]), int(v[1])


# ---- entry points --------------------------------------------------------------------------
def search(ctx: ServiceContext, who: Principal, q: SearchQuery) -> Page[SkuRead]:
    """Filter, rank and page SKUs (see the module docstring and docs/search.md).

    Raises InvalidInputError (422: a cursor from another sort or mode), NotFoundError (unknown
    ``in_stock_at`` / ``rank_at`` location).
    """
    cur = decode_cursor(q.cursor) if q.cursor else {}
    with read_engine(ctx).connect() as conn:
        try:
            _prefer_indexes(ctx, conn)
            return _search(ctx, conn, q, cur)
        finally:
            conn.rollback()


def _prefer_indexes(ctx: ServiceContext, conn: Connection) -> None:
    """PostgreSQL: no sequential scans for this read-only transaction. With ``LIMIT`` and an OR
    of synonyms the planner otherwise scans the table hoping to meet 200 matches early (25-35 ms
    at 100k SKUs against ~1 ms from the GIN index), and joins the page's 20 rows to products by a
    hash over the whole table."""
    if ctx.is_pg:
        conn.execute(text("SET LOCAL enable_seqscan = off"))


def _search(
    ctx: ServiceContext, conn: Connection, q: SearchQuery, cur: dict[str, Any]
) -> Page[SkuRead]:
    f = _filters(ctx, conn, q)
    has_text = q.q is not None and bool(q.q.strip())
    plan = interpret(ctx, conn, q.q or "", q.expand) if has_text else qt.QueryPlan(groups=())
    if has_text and plan.empty:
        return Page[SkuRead](items=[], next_cursor=None)
    if q.sort == "relevance" and has_text and q.mode != "keyword":
        from api.search import vectors

        after = _int_pair(cur, "h", q)
        fused = vectors.fused(ctx, conn, q, plan, f, after)
        page = fused[: q.limit]
        nxt = None
        if len(fused) > q.limit:
            nxt = encode_cursor({"h": [page[-1][1], page[-1][0]]})
        return Page[SkuRead](items=_rows(conn, [i for i, _ in page]), next_cursor=nxt)
    if q.sort == "relevance" and has_text:
        after = _int_pair(cur, "r", q)
        ranked = _ranked(ctx, conn, plan, f, q.limit + 1, None if after is None else after)
        page = ranked[: q.limit]
        nxt = None
        if len(ranked) > q.limit:
            nxt = encode_cursor({"r": [page[-1][1], page[-1][0]]})
        return Page[SkuRead](items=_rows(conn, [i for i, _ in page]), next_cursor=nxt)
    return _sorted(ctx, conn, q, cur, f, plan if has_text else None)


def _sorted(
    ctx: ServiceContext,
    conn: Connection,
    q: SearchQuery,
    cur: dict[str, Any],
    f: _Filters,
    plan: qt.QueryPlan | None,
) -> Page[SkuRead]:
    """Every other order (and relevance without text: by id), keyset-paged on narrow rows."""
    params = dict(f.params)
    where = "WHERE 1 = 1" + f.sql
    if plan is not None:
        where += _match_filter(ctx, plan, params)
    col = {
        "relevance": None,
        "price_asc": "s.list_price_cents",
        "price_desc": "s.list_price_cents",
        "name": "s.name",
    }[q.sort]
    desc = q.sort == "price_desc"
    if cur:
        after = cur.get("k")
        kinds = (int,) if col is None else ((str if q.sort == "name" else int), int)
        if (
            not isinstance(after, list)
            or len(after) != len(kinds)
            or not all(
                isinstance(a, k) and not isinstance(a, bool)
                for a, k in zip(after, kinds, strict=True)
            )
        ):
            raise _bad_cursor(q)
        op = "<" if desc else ">"
        if col is None:
            where += f" AND s.id {op} :c_id"
            params["c_id"] = after[0]
        else:
            where += f" AND ({col} {op} :c_v OR ({col} = :c_v AND s.id {op} :c_id))"
            params["c_v"], params["c_id"] = after
    d = " DESC" if desc else ""
    order = "s.id" + d if col is None else f"{col}{d}, s.id{d}"
    sel = "s.id" if col is None else f"s.id, {col} AS v"
    params["lim"] = q.limit + 1
    rows = conn.execute(
        text(f"SELECT {sel} FROM skus s {where} ORDER BY {order} LIMIT :lim"), params
    ).all()
    more = len(rows) > q.limit
    rows = rows[: q.limit]
    nxt = None
    if more:
        last = rows[-1]
        nxt = encode_cursor({"k": [int(last[0])] if col is None else [last[1], int(last[0])]})
    return Page[SkuRead](items=_rows(conn, [int(r[0]) for r in rows]), next_cursor=nxt)


def facets(ctx: ServiceContext, who: Principal, q: SearchQuery) -> SearchFacets:
    """Counts by category, brand, other attributes, price band and availability over the
    query's matches (its bounded candidate set for text queries; at most ``FACET_ROWS`` SKUs
    otherwise). ``exact`` says whether every match was counted.

    Raises NotFoundError (unknown location).
    """
    with read_engine(ctx).connect() as conn:
        try:
            _prefer_indexes(ctx, conn)
            return _facets(ctx, conn, q)
        finally:
            conn.rollback()


def _facets(ctx: ServiceContext, conn: Connection, q: SearchQuery) -> SearchFacets:
    f = _filters(ctx, conn, q)
    has_text = q.q is not None and bool(q.q.strip())
    plan = interpret(ctx, conn, q.q or "", q.expand) if has_text else qt.QueryPlan(groups=())
    interp = SearchInterpretation(
        words=qt.words(q.q or ""),
        corrections=dict(plan.corrections),
        synonyms={k: list(v) for k, v in plan.expansions.items()},
    )
    if has_text and plan.empty:
        return SearchFacets(total=0, exact=True, interpretation=interp)
    if has_text and q.mode != "keyword":
        from api.search import vectors

        ids = [i for i, _ in vectors.fused(ctx, conn, q, plan, f, None, depth=True)]
        exact = False
    elif has_text:
        ids = [i for i, _ in _ranked(ctx, conn, plan, f, 2 * CANDIDATES, None)]
        exact = len(ids) < CANDIDATES
    else:
        params = dict(f.params)
        params["lim"] = FACET_ROWS + 1
        ids = [
            int(r[0])
            for r in conn.execute(
                text(f"SELECT s.id FROM skus s WHERE 1 = 1{f.sql} ORDER BY s.id LIMIT :lim"),
                params,
            )
        ]
        exact = len(ids) <= FACET_ROWS
        ids = ids[:FACET_ROWS]
    loc = None
    for code in (q.in_stock_at, q.rank_at):
        if code is not None:
            loc = ctx.location_id(conn, code)
            break
    return _count(conn, ids, loc, exact, interp)


def _count(
    conn: Connection, ids: list[int], loc: int | None, exact: bool, interp: SearchInterpretation
) -> SearchFacets:
    cats: dict[str, int] = {}
    brands: dict[str, int] = {}
    attrs: dict[str, dict[str, int]] = {}
    bands = [0] * len(PRICE_BANDS)
    in_stock = 0
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        marks = ", ".join(f":i{n}" for n in range(len(chunk)))
        params: dict[str, Any] = {f"i{n}": i for n, i in enumerate(chunk)}
        avail = "0"
        if loc is not None:
            avail = (
                "CASE WHEN EXISTS (SELECT 1 FROM stock st WHERE st.location_id = :loc AND "
                "st.sku_id = s.id AND st.on_hand > st.reserved) THEN 1 ELSE 0 END"
            )
            params["loc"] = loc
        for cat, raw, price, av in conn.execute(
            text(
                f"SELECT c.code, s.attributes, s.list_price_cents, {avail} FROM skus s "
                f"JOIN categories c ON c.id = s.category_id WHERE s.id IN ({marks})"
            ),
            params,
        ):
            cats[cat] = cats.get(cat, 0) + 1
            try:
                data = json.loads(raw or "{}")
            except ValueError:
                data = {}
            if isinstance(data, dict):
                for k, v in data.items():
                    if k == "brand":
                        brands[str(v)] = brands.get(str(v), 0) + 1
                    else:
                        slot = attrs.setdefault(str(k), {})
                        slot[str(v)] = slot.get(str(v), 0) + 1
            for b, (lo, hi) in enumerate(PRICE_BANDS):
                if price >= lo and (hi is None or price < hi):
                    bands[b] += 1
                    break
            in_stock += int(av)
    return SearchFacets(
        total=len(ids),
        exact=exact,
        categories=_top(cats),
        brands=_top(brands),
        attributes={k: _top(v) for k, v in sorted(attrs.items())[:20]},
        price_bands=[
            PriceBand(min_cents=lo, max_cents=hi, count=n)
            for (lo, hi), n in zip(PRICE_BANDS, bands, strict=True)
            if n
        ],
        in_stock=in_stock if loc is not None else None,
        interpretation=interp,
    )


def _top(counts: dict[str, int], n: int = 20) -> list[FacetCount]:
    best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:n]
    return [FacetCount(value=k, count=v) for k, v in best]


# ---- synonyms ------------------------------------------------------------------------------
def set_synonyms(ctx: ServiceContext, who: Principal, groups: list[list[str]]) -> int:
    """Add synonym groups (each term matches every other of its group); returns the number of
    directed pairs stored. Raises ForbiddenError (customers), InvalidInputError (a term with
    no word)."""
    from api.services.context import require_staff

    require_staff(who, "editing synonyms")
    pairs: set[tuple[str, str]] = set()
    for g in groups:
        terms = []
        for t in g:
            w = qt.words(t)
            if not w:
                raise InvalidInputError(
                    "a synonym needs at least one word", details={"field": "groups", "value": t}
                )
            terms.append(" ".join(w[:2]))
        pairs.update((a, b) for a in terms for b in terms if a != b)
    if not pairs:
        return 0
    with ctx.uow() as u:
        u.conn.execute(
            text(
                "INSERT INTO search_synonyms (term, synonym) VALUES (:t, :s) "
                "ON CONFLICT (term, synonym) DO NOTHING"
            ),
            [{"t": a, "s": b} for a, b in sorted(pairs)],
        )
        bump(u.conn, "synonyms")
        u.commit()
    return len(pairs)


def list_synonyms(ctx: ServiceContext, who: Principal) -> dict[str, list[str]]:
    """Every term with its synonyms."""
    out: dict[str, list[str]] = {}
    with ctx.engine.connect() as conn:
        for t, s in conn.execute(
            text("SELECT term, synonym FROM search_synonyms ORDER BY term, synonym")
        ):
            out.setdefault(str(t), []).append(str(s))
        conn.rollback()
    return out


__all__ = ["NotFoundError", "facets", "interpret", "search"]
