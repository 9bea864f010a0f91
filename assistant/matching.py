"""Lexical embeddings for product matching (no model, no download).

An item phrase and a SKU's text (name, category, description) are embedded as hashed bags of
word tokens and character trigrams (per word, with boundary marks) into ``DIM`` dimensions,
L2-normalised; the cosine rewards shared words and tolerates plurals, typos and compounds
("oatmilk" ~ "oat milk"). Name tokens weigh more than description tokens.

Vague phrases ("breakfast", "a snack") expand into concrete product words through
:data:`CONCEPTS` before searching.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence

import numpy as np

__all__ = [
    "CONCEPTS",
    "DIM",
    "amount_in_base",
    "embed",
    "expand",
    "pack_count",
    "pack_size",
    "similarity",
]

DIM = 2048
_WORD = re.compile(r"[a-z0-9]+")

CONCEPTS: dict[str, tuple[str, ...]] = {
    "breakfast": ("cereal", "muesli", "granola", "oats", "porridge", "bread", "yoghurt", "juice"),
    "snack": ("crisps", "chocolate", "biscuits", "nuts", "fruit", "bar"),
    "snacks": ("crisps", "chocolate", "biscuits", "nuts", "fruit", "bar"),
    "dessert": ("ice cream", "chocolate", "cake", "pudding", "yoghurt"),
    "drinks": ("juice", "water", "soda", "milk"),
    "a drink": ("juice", "water", "soda", "milk"),
    "lunch": ("bread", "cheese", "ham", "salad", "soup"),
    "dinner": ("pasta", "rice", "chicken", "vegetables", "sauce"),
    "baking": ("flour", "sugar", "butter", "eggs", "yeast"),
    "a picnic": ("bread", "cheese", "fruit", "juice", "crisps"),
    "coffee": ("coffee", "milk", "oat milk"),
}


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def _features(text: str, weight: float, out: np.ndarray) -> None:
    for w in _tokens(text):
        stem = w[:-1] if len(w) > 3 and w.endswith("s") else w
        out[zlib.crc32(b"w:" + stem.encode()) % DIM] += 2.0 * weight
        padded = f"^{stem}$"
        for i in range(len(padded) - 2):
            out[zlib.crc32(b"t:" + padded[i : i + 3].encode()) % DIM] += weight


def embed(name: str, extra: str = "", extra_weight: float = 0.3) -> np.ndarray:
    """Unit vector of ``name`` (weight 1) and ``extra`` text (category, description)."""
    v = np.zeros(DIM, dtype=np.float64)
    _features(name, 1.0, v)
    if extra:
        _features(extra, extra_weight, v)
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def similarity(query: str, names: Sequence[str], extras: Sequence[str] | None = None) -> np.ndarray:
    """Cosine of ``query`` against each candidate (``names[i]`` + ``extras[i]``), in [0, 1]."""
    q = embed(query)
    if not names:
        return np.zeros(0)
    ex = extras if extras is not None else [""] * len(names)
    mat = np.stack([embed(n, e) for n, e in zip(names, ex, strict=True)])
    return np.clip(mat @ q, 0.0, 1.0)


def expand(product: str) -> tuple[str, ...]:
    """Concrete search phrases for a vague product ("breakfast" -> cereal, muesli, ...); the
    phrase itself when it is concrete."""
    key = product.strip().lower()
    return CONCEPTS.get(key, (key,))


_SIZE = re.compile(r"(?P<n>\d+(?:[.,]\d+)?)\s*(?P<u>ml|cl|l|kg|g)\b", re.IGNORECASE)
_TO_BASE = {
    "ml": ("l", 0.001),
    "cl": ("l", 0.01),
    "l": ("l", 1.0),
    "g": ("kg", 0.001),
    "kg": ("kg", 1.0),
}


def pack_size(text: str) -> tuple[str, float] | None:
    """A package's size from its name, in base units (``("l", 1.5)``, ``("kg", 0.5)``), or None."""
    m = _SIZE.search(text)
    if m is None:
        return None
    base, factor = _TO_BASE[m.group("u").lower()]
    return base, float(m.group("n").replace(",", ".")) * factor


_COUNT = re.compile(r"(?P<n>\d+)\s*-?\s*(?:pack|pcs|pieces|count|ct)\b", re.IGNORECASE)


def pack_count(text: str) -> int | None:
    """Pieces per package from a name ("Eggs 6 pack" -> 6), or None."""
    m = _COUNT.search(text)
    return int(m.group("n")) if m is not None and int(m.group("n")) > 0 else None


def amount_in_base(quantity: float, unit: str) -> tuple[str, float] | None:
    """``(base unit, amount)`` for a measured quantity (``2, "l"`` -> ``("l", 2.0)``), or None
    for counted units (packs, bottles)."""
    if unit not in _TO_BASE:
        return None
    base, factor = _TO_BASE[unit]
    return base, quantity * factor
