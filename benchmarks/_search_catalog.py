"""A synthetic grocery-and-general-merchandise catalog with a judged query set, for
``benchmarks/search.py`` and the relevance test.

Every SKU is an (adjective, product type) name with a brand and size in its attributes; its
description names its brand, size and the type's blurb, and a third of them also mention an
unrelated type ("pairs well with ...") so that description-only matches exist. Judgements are
known by construction: grade 2 for a SKU of a wanted type, 1 for one of a wanted category.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# category -> [(type, blurb)]
TYPES: dict[str, list[tuple[str, str]]] = {
    "dairy": [
        ("oat milk", "plant based dairy free drink"),
        ("whole milk", "fresh cow milk"),
        ("yoghurt", "creamy cultured dessert"),
        ("butter", "spread on toast or bake with it"),
        ("cheddar cheese", "mature hard cheese"),
        ("cream cheese", "soft spread for bagels"),
    ],
    "bakery": [
        ("sourdough bread", "slow fermented loaf"),
        ("croissant", "flaky french pastry"),
        ("bagel", "boiled and baked bread ring"),
        ("muffin", "sweet baked treat"),
    ],
    "breakfast": [
        ("granola", "breakfast cereal with nuts and honey"),
        ("porridge oats", "hot breakfast cereal"),
        ("cornflakes", "crispy breakfast cereal"),
        ("pancake mix", "batter for weekend breakfasts"),
    ],
    "drinks": [
        ("soda", "sweet carbonated beverage"),
        ("orange juice", "squeezed citrus juice"),
        ("sparkling water", "carbonated mineral water"),
        ("iced tea", "chilled tea beverage"),
        ("cold brew coffee", "smooth chilled coffee"),
    ],
    "snacks": [
        ("crisps", "thin fried potato slices"),
        ("biscuits", "baked sweet treats for tea time"),
        ("salted peanuts", "roasted savoury nuts"),
        ("popcorn", "popped corn for movie night"),
        ("chocolate bar", "sweet cocoa confection"),
    ],
    "produce": [
        ("banana", "ripe yellow fruit"),
        ("apple", "crunchy orchard fruit"),
        ("aubergine", "purple vegetable for roasting"),
        ("courgette", "green summer squash"),
        ("tomato", "vine ripened salad vegetable"),
        ("avocado", "creamy green fruit for guacamole"),
    ],
    "pantry": [
        ("pasta", "dried durum wheat noodles"),
        ("basmati rice", "long grain fragrant rice"),
        ("olive oil", "cold pressed cooking oil"),
        ("tomato sauce", "ready made sauce for pasta"),
        ("peanut butter", "nut spread for toast"),
    ],
    "household": [
        ("detergent", "laundry cleaning for clothes"),
        ("dish soap", "washing up liquid for dishes"),
        ("paper towels", "absorbent kitchen rolls"),
        ("bin bags", "strong refuse sacks"),
    ],
    "baby": [
        ("diapers", "absorbent nappies for infants"),
        ("baby wipes", "gentle wet wipes"),
        ("baby food", "smooth puree for infants"),
    ],
    "clothing": [
        ("sneakers", "casual sports footwear"),
        ("trousers", "tailored legwear"),
        ("sweater", "warm knitted top for winter"),
        ("rain jacket", "waterproof outerwear"),
        ("wool socks", "warm winter socks"),
    ],
    "electronics": [
        ("television", "flat screen display for films"),
        ("laptop", "portable computer for work"),
        ("headphones", "over ear audio with noise cancelling"),
        ("smartphone", "touchscreen phone"),
        ("phone charger", "usb power adapter"),
    ],
    "furniture": [
        ("sofa", "three seat living room settee"),
        ("office chair", "ergonomic seat for desk work"),
        ("bookshelf", "wooden shelving for books"),
        ("desk lamp", "adjustable reading light"),
    ],
}
ADJECTIVES = (
    "organic",
    "classic",
    "premium",
    "fresh",
    "family",
    "value",
    "deluxe",
    "natural",
    "everyday",
    "original",
    "finest",
    "simple",
    "super",
    "mini",
    "gourmet",
    "select",
)
BRANDS = (
    "acme",
    "northwind",
    "contoso",
    "fabrikam",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "soylent",
    "hooli",
    "vandelay",
    "oceanic",
    "monarch",
)
SIZES = ("small", "medium", "large", "xl", "100g", "250g", "500g", "1kg", "1l", "2l")

# synonym queries (query, wanted types): they rely on the default synonym groups
SYNONYM_QUERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("soft drink", ("soda",)),
    ("fizzy drink", ("soda",)),
    ("trainers", ("sneakers",)),
    ("tv", ("television",)),
    ("couch", ("sofa",)),
    ("eggplant", ("aubergine",)),
    ("zucchini", ("courgette",)),
    ("chips", ("crisps",)),
    ("cookies", ("biscuits",)),
    ("pants", ("trousers",)),
    ("jumper", ("sweater",)),
    ("nappies", ("diapers",)),
    ("yogurt", ("yoghurt",)),
    ("washing powder", ("detergent",)),
    ("mobile phone", ("smartphone",)),
)
# descriptive queries (no type named): what semantic search is for
DESCRIPTIVE_QUERIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("something to spread on toast", ("butter", "peanut butter", "cream cheese")),
    ("breakfast cereal", ("granola", "porridge oats", "cornflakes")),
    ("noise cancelling earphones", ("headphones",)),
    ("washing the dishes", ("dish soap",)),
    ("warm winter clothes", ("sweater", "wool socks")),
    ("salty snack", ("crisps", "salted peanuts", "popcorn")),
    ("coffee", ("cold brew coffee",)),
    ("seat for working at a desk", ("office chair",)),
    ("reading light", ("desk lamp",)),
    ("dairy free milk", ("oat milk",)),
    ("fruit", ("banana", "apple", "avocado")),
    ("computer", ("laptop",)),
    ("something for breakfast", ("granola", "porridge oats", "cornflakes", "pancake mix")),
    ("waterproof coat", ("rain jacket",)),
    ("cheese", ("cheddar cheese", "cream cheese")),
)


@dataclass(frozen=True, slots=True)
class Sku:
    code: str
    product: str
    name: str
    category: str
    kind: str  # product type
    description: str
    attributes: dict[str, str]
    price_cents: int


@dataclass(frozen=True, slots=True)
class Judged:
    query: str
    kind: str  # exact, typo, synonym, descriptive
    types: tuple[str, ...]


def category_of() -> dict[str, str]:
    return {t: c for c, ts in TYPES.items() for t, _ in ts}


def build_catalog(n: int, rng: np.random.Generator) -> list[Sku]:
    """``n`` SKUs; products group a name and brand (their sizes are SKUs)."""
    flat = [(c, t, b) for c, ts in TYPES.items() for t, b in ts]
    out: list[Sku] = []
    for i in range(n):
        c, t, blurb = flat[int(rng.integers(len(flat)))]
        adj = ADJECTIVES[int(rng.integers(len(ADJECTIVES)))]
        brand = BRANDS[int(rng.integers(len(BRANDS)))]
        size = SIZES[int(rng.integers(len(SIZES)))]
        desc = f"{brand.title()} {adj} {t}, {size}. {blurb.capitalize()}."
        if rng.random() < 0.33:
            _oc, ot, _ = flat[int(rng.integers(len(flat)))]
            desc += f" Pairs well with {ot}."
        out.append(
            Sku(
                code=f"S{i:06d}",
                product=f"P-{brand}-{adj}-{t.replace(' ', '-')}",
                name=f"{adj.title()} {t}",
                category=c,
                kind=t,
                description=desc,
                attributes={"brand": brand, "size": size},
                price_cents=int(rng.integers(50, 20000)),
            )
        )
    return out


def _typo(word: str, rng: np.random.Generator) -> str:
    """One edit inside the word: swap two neighbours, drop or double a letter."""
    i = int(rng.integers(1, len(word) - 2))
    k = int(rng.integers(3))
    if k == 0:
        return word[:i] + word[i + 1] + word[i] + word[i + 2 :]
    if k == 1:
        return word[:i] + word[i + 1 :]
    return word[:i] + word[i] + word[i:]


def judged_queries(rng: np.random.Generator) -> list[Judged]:
    """Exact type names, one misspelling of each (longest word, words of 6+ letters), the
    synonym queries and the descriptive ones."""
    out: list[Judged] = []
    for ts in TYPES.values():
        for t, _ in ts:
            out.append(Judged(t, "exact", (t,)))
            words = t.split()
            j = max(range(len(words)), key=lambda k: len(words[k]))
            if len(words[j]) >= 6:
                words[j] = _typo(words[j], rng)
                out.append(Judged(" ".join(words), "typo", (t,)))
    out += [Judged(q, "synonym", ts) for q, ts in SYNONYM_QUERIES]
    out += [Judged(q, "descriptive", ts) for q, ts in DESCRIPTIVE_QUERIES]
    return out


def ndcg_at_10(ranked_kinds: list[str], wanted: tuple[str, ...], n_relevant: int) -> float:
    """NDCG@10 with gains 2^rel - 1: rel 2 for a wanted type, 1 for the same category."""
    cat = category_of()
    wanted_cats = {cat[t] for t in wanted}

    def rel(kind: str) -> int:
        return 2 if kind in wanted else (1 if cat[kind] in wanted_cats else 0)

    dcg = sum((2 ** rel(k) - 1) / np.log2(i + 2) for i, k in enumerate(ranked_kinds[:10]))
    ideal = sum(3 / np.log2(i + 2) for i in range(min(10, n_relevant)))
    return float(dcg / ideal) if ideal else 0.0
