"""Query text handling shared by both backends: words, synonym expansion, typo correction.

A query becomes a :class:`QueryPlan`: an AND of groups, each group an OR of alternatives,
each alternative a phrase (one or more words). Synonyms add alternatives; a word missing from
the catalog vocabulary gets its closest vocabulary word (edit distance at most 1 for words of
up to 5 letters, 2 for longer ones) as an alternative.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_WORDS = 12  # longer queries keep their first 12 words


def words(text: str) -> list[str]:
    """Lower-cased words of ``text`` (letters and digits; punctuation splits)."""
    return [w.lower() for w in WORD.findall(text)][:MAX_WORDS]


def attribute_values(raw: str | None) -> list[str]:
    """String values of a JSON attributes object (empty on anything else)."""
    try:
        data = json.loads(raw or "{}")
    except ValueError:
        return []
    return [str(v) for v in data.values()] if isinstance(data, dict) else []


def document_words(name: str, description: str, attributes: str | None) -> set[str]:
    """Distinct vocabulary words of one SKU (2 to 64 characters)."""
    out: set[str] = set()
    for part in (name, description, " ".join(attribute_values(attributes))):
        out.update(w for w in words(part) if 1 < len(w) <= 64)
    return out


def vocab_counts(docs: Iterable[tuple[str, str, str | None]]) -> Counter[str]:
    """Document frequency of each word over ``(name, description, attributes)`` rows."""
    df: Counter[str] = Counter()
    for name, desc, attrs in docs:
        df.update(document_words(name, desc, attrs))
    return df


@dataclass(frozen=True, slots=True)
class QueryPlan:
    """AND over ``groups``; each group is an OR over phrases (tuples of words)."""

    groups: tuple[tuple[tuple[str, ...], ...], ...]
    corrections: dict[str, str] = field(default_factory=dict)
    expansions: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.groups


def edit_distance(a: str, b: str, cap: int = 3) -> int:
    """Optimal-string-alignment distance (insert, delete, substitute, swap adjacent), capped:
    returns ``cap`` as soon as the distance is known to be at least ``cap``."""
    if abs(len(a) - len(b)) >= cap:
        return cap
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            v = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                v = min(v, prev2[j - 2] + 1)
            cur[j] = v
        if min(cur) >= cap:
            return cap
        prev2, prev = prev, cur
    return min(prev[len(b)], cap)


def max_typos(word: str) -> int:
    """Edits tolerated in a word: none up to 3 letters, 1 up to 5, 2 beyond."""
    return 0 if len(word) <= 3 else (1 if len(word) <= 5 else 2)


def trigrams(word: str) -> set[str]:
    """Character trigrams of ``  word `` (padded as pg_trgm does)."""
    padded = f"  {word} "
    return {padded[i : i + 3] for i in range(len(padded) - 2)}


class TrigramIndex:
    """In-memory trigram index over a vocabulary (the SQLite / no-pg_trgm typo path)."""

    def __init__(self, vocab: Mapping[str, int]) -> None:
        self.df = dict(vocab)
        self._post: dict[str, list[str]] = {}
        self._short: dict[tuple[str, int], list[str]] = {}
        for w in self.df:
            for g in trigrams(w):
                self._post.setdefault(g, []).append(w)
            if len(w) <= 6:
                self._short.setdefault((w[0], len(w)), []).append(w)

    def candidates(self, word: str, limit: int = 40) -> list[str]:
        """Vocabulary words sharing the most trigrams with ``word`` (best first), plus, for
        short words (few trigrams survive a typo), the words of the same first letter and a
        length within one."""
        hits: Counter[str] = Counter()
        for g in trigrams(word):
            hits.update(self._post.get(g, ()))
        out = [w for w, _ in hits.most_common(limit)]
        if len(word) <= 5:
            for n in (len(word) - 1, len(word), len(word) + 1):
                out.extend(self._short.get((word[0], n), ()))
        return out


def best_correction(word: str, candidates: Iterable[str], df: Mapping[str, int]) -> str | None:
    """The candidate closest to ``word`` within :func:`max_typos` edits (ties: higher document
    frequency, then alphabetical); None when no candidate is close enough."""
    k = max_typos(word)
    if k == 0:
        return None
    best: tuple[int, int, str] | None = None
    for c in candidates:
        if c == word:
            continue
        d = edit_distance(word, c, cap=k + 1)
        if d > k:
            continue
        key = (d, -df.get(c, 0), c)
        if best is None or key < best:
            best = key
    return None if best is None else best[2]


def build_plan(
    qwords: list[str],
    synonyms: Mapping[str, list[str]],
    corrections: Mapping[str, str],
) -> QueryPlan:
    """Group the query words: a two-word phrase with synonyms becomes one group; every other
    word its own group, with its synonyms and its typo correction as alternatives."""
    groups: list[tuple[tuple[str, ...], ...]] = []
    used: dict[str, list[str]] = {}
    i = 0
    while i < len(qwords):
        pair = " ".join(qwords[i : i + 2]) if i + 1 < len(qwords) else ""
        if pair and pair in synonyms:
            alts = [tuple(qwords[i : i + 2])] + [tuple(s.split()) for s in synonyms[pair]]
            used[pair] = list(synonyms[pair])
            i += 2
        else:
            w = qwords[i]
            alts = [(w,)]
            fixed = corrections.get(w)
            if fixed is not None:
                alts.append((fixed,))
            for key in (w, fixed):
                if key is not None and key in synonyms:
                    alts.extend(tuple(s.split()) for s in synonyms[key])
                    used[key] = list(synonyms[key])
            i += 1
        seen: list[tuple[str, ...]] = []
        for a in alts:
            if a not in seen:
                seen.append(a)
        groups.append(tuple(seen))
    return QueryPlan(groups=tuple(groups), corrections=dict(corrections), expansions=used)


def fts5_match(plan: QueryPlan) -> str:
    """The plan as an FTS5 MATCH expression (every phrase double-quoted: no operators leak)."""
    parts = []
    for g in plan.groups:
        alts = ['"' + " ".join(p).replace('"', "") + '"' for p in g]
        parts.append("(" + " OR ".join(alts) + ")")
    return " AND ".join(parts)


def pg_tsquery(plan: QueryPlan, prefix: str = "w") -> tuple[str, dict[str, str]]:
    """The plan as a PostgreSQL tsquery expression over bound parameters (``&&`` between
    groups, ``||`` within; phrases via ``phraseto_tsquery``)."""
    params: dict[str, str] = {}
    groups = []
    n = 0
    for g in plan.groups:
        alts = []
        for p in g:
            key = f"{prefix}{n}"
            n += 1
            params[key] = " ".join(p)
            fn = "phraseto_tsquery" if len(p) > 1 else "plainto_tsquery"
            alts.append(f"{fn}('english', :{key})")
        groups.append("(" + " || ".join(alts) + ")")
    return "(" + " && ".join(groups) + ")", params
