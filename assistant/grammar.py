"""Utterance -> intent and slots, by rules (no model).

Intents (:class:`Intent`): ``add_to_cart`` (the default when items are named), ``search``,
``remove_from_cart``, ``show_cart``, ``checkout`` and ``reorder`` ("order my usual").

Slots (:class:`Parsed`): a request-wide ``budget_cents`` ("under €10", "no more than 4.50
euros", "€8 max") and ``items``, one :class:`ItemSlot` per conjunct ("oat milk and bread",
commas, "plus"), each with

* ``quantity`` and ``unit``: digits or number words ("two", "a dozen", "half a"), units
  normalised (``l``, ``ml``, ``kg``, ``g``, ``pack``, ``bottle``, ``carton``, ``can``, ``jar``,
  ``box``, ``bag``, ``loaf``); "500ml" and "2 x" are understood;
* ``brand``: a known brand named in the item (multi-word brands first);
* ``exclude``: negated terms ("without sugar", "no Arla", "but not strawberry", "lactose-free",
  "except Valio"); a conjunct that is only a negation attaches to the item before it;
* ``product``: what is left, lower-case, without quantities, units, brands, negations and filler
  ("some", "please", "to my cart"); "something for breakfast" leaves ``breakfast``.

The grammar is deliberately small and explicit; ``data/assistant/utterances.jsonl`` is its test
set (``benchmarks/assistant.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from assistant.errors import UtteranceError

__all__ = [
    "DEFAULT_BRANDS",
    "Intent",
    "ItemSlot",
    "Parsed",
    "parse",
    "parse_money_cents",
]

MAX_UTTERANCE_CHARS = 500


class Intent(StrEnum):
    ADD_TO_CART = "add_to_cart"
    SEARCH = "search"
    REMOVE_FROM_CART = "remove_from_cart"
    SHOW_CART = "show_cart"
    CHECKOUT = "checkout"
    REORDER = "reorder"


@dataclass(frozen=True, slots=True)
class ItemSlot:
    """One wanted product: phrase, amount (``quantity`` in ``unit``; ``unit`` None = pieces),
    brand and excluded terms (lower-case)."""

    product: str
    quantity: float | None = None
    unit: str | None = None
    brand: str | None = None
    exclude: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "product": self.product,
            "quantity": self.quantity,
            "unit": self.unit,
            "brand": self.brand,
            "exclude": list(self.exclude),
        }


@dataclass(frozen=True, slots=True)
class Parsed:
    """The intent and slots of one utterance."""

    text: str
    intent: Intent
    items: tuple[ItemSlot, ...] = ()
    budget_cents: int | None = None

    def slots(self) -> dict[str, object]:
        return {
            "items": [i.as_dict() for i in self.items],
            "budget_cents": self.budget_cents,
        }


DEFAULT_BRANDS: tuple[str, ...] = (
    "alpro",
    "arla",
    "barilla",
    "bravo",
    "danone",
    "felix",
    "garant",
    "god morgon",
    "heinz",
    "kellogg's",
    "kelloggs",
    "lipton",
    "nescafe",
    "nestle",
    "oatly",
    "pagen",
    "skanemejerier",
    "tropicana",
    "valio",
    "yoplait",
    "zoegas",
    "coca-cola",
    "pepsi",
    "lindt",
    "nutella",
    "quaker",
)

_NUMBERS = {
    "a": 1.0,
    "an": 1.0,
    "one": 1.0,
    "single": 1.0,
    "two": 2.0,
    "three": 3.0,
    "four": 4.0,
    "five": 5.0,
    "six": 6.0,
    "seven": 7.0,
    "eight": 8.0,
    "nine": 9.0,
    "ten": 10.0,
    "eleven": 11.0,
    "twelve": 12.0,
    "fifteen": 15.0,
    "twenty": 20.0,
    "dozen": 12.0,
    "a dozen": 12.0,
    "half a dozen": 6.0,
    "a couple of": 2.0,
    "a couple": 2.0,
    "couple of": 2.0,
    "a pair of": 2.0,
    "half a": 0.5,
    "half an": 0.5,
}
_UNITS = {
    "l": "l",
    "lt": "l",
    "ltr": "l",
    "liter": "l",
    "liters": "l",
    "litre": "l",
    "litres": "l",
    "ml": "ml",
    "millilitre": "ml",
    "millilitres": "ml",
    "cl": "cl",
    "kg": "kg",
    "kilo": "kg",
    "kilos": "kg",
    "kilogram": "kg",
    "kilograms": "kg",
    "g": "g",
    "gr": "g",
    "gram": "g",
    "grams": "g",
    "pack": "pack",
    "packs": "pack",
    "packet": "pack",
    "packets": "pack",
    "bottle": "bottle",
    "bottles": "bottle",
    "carton": "carton",
    "cartons": "carton",
    "can": "can",
    "cans": "can",
    "tin": "can",
    "tins": "can",
    "jar": "jar",
    "jars": "jar",
    "box": "box",
    "boxes": "box",
    "bag": "bag",
    "bags": "bag",
    "loaf": "loaf",
    "loaves": "loaf",
    "tub": "tub",
    "tubs": "tub",
}

_NUM = r"\d+(?:[.,]\d+)?"
_NUMWORD = "|".join(sorted((re.escape(k) for k in _NUMBERS), key=len, reverse=True))
_UNIT = "|".join(sorted((re.escape(k) for k in _UNITS), key=len, reverse=True))
_QTY_RE = re.compile(
    rf"^(?:(?P<num>{_NUM})|(?P<word>{_NUMWORD})\b)\s*(?:x\s+)?"
    rf"(?:(?P<unit>{_UNIT})\b\.?\s*)?(?:of\s+)?",
)
_TRAILING_QTY_RE = re.compile(r"\s*(?:x\s*(?P<n1>\d+)|(?P<n2>\d+)\s*x)$")
_CURRENCY = r"(?:€|eur\b|euros?\b|e\b|\$|dollars?\b|£|pounds?\b|kr\b|sek\b)"
_BUDGET_LEAD = (
    r"(?:for\s+)?(?:under|below|less than|no more than|not more than|at most|max(?:imum)?|"
    r"up to|within|cheaper than|a budget of|budget of|budget is|my budget is|spending at most|"
    r"spend at most|spend no more than|spend up to|for no more than|for at most|"
    r"that costs? less than|costing less than|for less than)"
)
_BUDGET_RE = re.compile(
    rf"\b{_BUDGET_LEAD}\s*{_CURRENCY}?\s*(?P<amount>{_NUM})\s*(?P<cents>cents?\b)?\s*{_CURRENCY}?"
    rf"(?:\s+(?:in total|total|overall|altogether))?"
    rf"|(?P<pre>{_CURRENCY})\s*(?P<amount2>{_NUM})\s*(?:max(?:imum)?|or less|tops|at most)\b"
    rf"|\b(?P<amount3>{_NUM})\s*{_CURRENCY}\s*(?:max(?:imum)?|or less|tops|at most|budget)\b"
)
_MONEY_RE = re.compile(rf"^\s*{_CURRENCY}?\s*(?P<a>{_NUM})\s*(?P<c>cents?)?\s*{_CURRENCY}?\s*$")

_INTENTS: tuple[tuple[Intent, re.Pattern[str]], ...] = (
    (
        Intent.REORDER,
        re.compile(
            r"\b(?:my usual|the usual|usual (?:order|basket|shop|groceries)|same as last time|"
            r"repeat my (?:last |previous )?order|reorder|re-order|order (?:it )?again|"
            r"same order as (?:last|usual))\b"
        ),
    ),
    (
        Intent.SHOW_CART,
        re.compile(
            r"\b(?:what(?:'s| is| do i have) in (?:my|the) (?:cart|basket|trolley)|"
            r"show (?:me )?(?:my|the) (?:cart|basket|trolley)|(?:cart|basket) total|"
            r"view (?:my |the )?(?:cart|basket)|how much is (?:my|the) (?:cart|basket)|"
            r"what have i (?:got|added))\b"
        ),
    ),
    (
        Intent.CHECKOUT,
        re.compile(
            r"\b(?:check ?out|pay(?: for (?:it|everything|my order))?(?: now)?$|"
            r"place (?:the|my) order|complete (?:the|my) (?:order|purchase)|"
            r"finish (?:the |my )?order|that'?s all,? (?:thanks|thank you)|"
            r"confirm (?:the |my )?order)\b"
        ),
    ),
    (
        Intent.REMOVE_FROM_CART,
        re.compile(
            r"^(?:please\s+|can you\s+|could you\s+)?(?:remove|delete|drop|take out|take off)\b|"
            r"\b(?:from|out of) (?:my|the) (?:cart|basket|trolley)\b|"
            r"\bi (?:don't|do not) want (?:the|my)\b"
        ),
    ),
    (
        Intent.SEARCH,
        re.compile(
            r"^(?:please\s+|can you\s+|could you\s+)?(?:find|search|look for|looking for|"
            r"show me|do you (?:have|sell|stock|carry)|have you got|what|which|is there|"
            r"are there|any\b|how much (?:is|are|does|do)|where (?:is|are|can i find)|"
            r"i'm looking for|i am looking for|list|browse|compare)\b"
        ),
    ),
)

_LEAD_RE = re.compile(
    r"^(?:(?:hey|hi|ok|okay|so|um|uh|please|can you|could you|would you|will you|kindly)[,\s]+)*"
    r"(?:i(?:'d| would) like(?: to (?:buy|order|get|add|have))?|"
    r"i want(?: to (?:buy|order|get|add))?|"
    r"i need(?: to (?:buy|get|order))?|i'll (?:have|take)|i will (?:have|take)|let me (?:get|have)|"
    r"we need|we want|add|buy|get me|get|order|put|grab|pick up|throw in|give me|include|"
    r"remove|delete|drop|take out|take off|take|find me|find|search for|search|look for|"
    r"i'm looking for|i am looking for|looking for|show me|do you (?:have|sell|stock|carry)|"
    r"have you got|is there|are there|how much (?:is|are|does|do)|where (?:is|are|can i find)|"
    r"what|which|list|browse|compare|i don't want|i do not want|any)\b\s*"
)
_TAIL_RE = re.compile(
    r"\s*(?:\b(?:to|in|into|from|out of|on|onto) (?:my|the) (?:cart|basket|trolley|order|list)"
    r"|\bplease|\bthanks?(?: you)?|\bfor me|\bfor us|\bdo you have|\bdo you sell"
    r"|\bcost|\bcosts|\bdoes it cost|\bin stock|\bavailable|\bthere)\b\s*$"
)
_FILLER = frozenset(
    {
        "some",
        "the",
        "a",
        "an",
        "any",
        "my",
        "of",
        "more",
        "also",
        "too",
        "please",
        "me",
        "us",
        "cheap",
        "cheapest",
        "good",
        "nice",
    }
)
_VAGUE_RE = re.compile(
    r"^(?:something|anything|stuff|things|some things|a few things|food|snacks?)\s+"
    r"(?:nice\s+|good\s+|healthy\s+|quick\s+|to eat\s+|to have\s+)?(?:for|to)\s+(?:the\s+|my\s+)?"
)
_NEG_RE = re.compile(
    r"\b(?:but not|but no|not|no|without|except|excluding|other than|nothing with|"
    r"free of|that isn't|that is not|anything but|avoid|minus)\s+(?P<what>[a-z0-9'&\- ]+)"
)
_FREE_RE = re.compile(r"\b(?P<what>[a-z]+)[- ]free\b")
_SPLIT_RE = re.compile(r"\s*(?:,|;|\band then\b|\band also\b|\band\b|\bplus\b|&|\bas well as\b)\s*")


def parse_money_cents(text: str) -> int:
    """Parse an amount like ``"€10"``, ``"4.50 euros"``, ``"75 cents"`` into integer cents.

    Raises:
        UtteranceError: naming the text when it is not an amount.
    """
    m = _MONEY_RE.match(text.lower())
    if m is None:
        raise UtteranceError(f"amount {text!r} is not a money amount like '€10' or '4.50'")
    return _cents(m.group("a"), bool(m.group("c")))


def _cents(amount: str, is_cents: bool) -> int:
    value = float(amount.replace(",", "."))
    return round(value) if is_cents else round(value * 100)


def _normalise(text: str) -> str:
    t = text.lower().replace("\u2019", "'").replace("\u2018", "'")
    t = re.sub(r"(\d),(\d{3})\b", r"\1\2", t)  # 1,000 -> 1000
    t = re.sub(r"[!?\"“”()]", " ", t)
    t = re.sub(r"\.(?!\d)", " ", t)  # sentence full stops, not decimals
    t = re.sub(r"(\d)\s*(l|ml|cl|kg|g)\b", r"\1 \2", t)  # 500ml -> 500 ml
    t = re.sub(r"\b(\d+)x\b", r"\1 x", t)
    return re.sub(r"\s+", " ", t).strip()


def _intent(t: str, has_items: bool) -> Intent:
    for intent, pattern in _INTENTS:
        if pattern.search(t):
            return intent
    return Intent.ADD_TO_CART


def _budget(t: str) -> tuple[int | None, str]:
    m = _BUDGET_RE.search(t)
    if m is None:
        return None, t
    if m.group("amount") is not None:
        cents = _cents(m.group("amount"), bool(m.group("cents")))
    else:
        cents = _cents(m.group("amount2") or m.group("amount3"), False)
    return cents, (t[: m.start()] + " " + t[m.end() :]).strip()


def _find_brand(words: str, brands: Iterable[str]) -> tuple[str | None, str]:
    for b in sorted(brands, key=len, reverse=True):
        m = re.search(rf"(?<![a-z]){re.escape(b)}(?:'s)?(?![a-z])", words)
        if m is not None:
            return b, (words[: m.start()] + " " + words[m.end() :]).strip()
    return None, words


def _quantity(seg: str) -> tuple[float | None, str | None, str]:
    m = _QTY_RE.match(seg)
    qty: float | None = None
    unit: str | None = None
    if m is not None and (m.group("num") or m.group("word")):
        rest = seg[m.end() :]
        word = m.group("word")
        # "a" / "an" alone is an article, not a count, unless a unit follows ("a litre of")
        if word in ("a", "an") and not m.group("unit"):
            return None, None, rest
        qty = float(m.group("num").replace(",", ".")) if m.group("num") else _NUMBERS[word]
        unit = _UNITS[m.group("unit")] if m.group("unit") else None
        seg = rest
        # "half a dozen", "two dozen": a multiplier after the count
        dz = re.match(r"^dozen\s+(?:of\s+)?", seg)
        if dz is not None:
            qty *= 12.0
            seg = seg[dz.end() :]
    else:
        t = _TRAILING_QTY_RE.search(seg)
        if t is not None:
            qty = float(t.group("n1") or t.group("n2"))
            seg = seg[: t.start()]
    if unit is None:  # "milk, 2 litres" / "oat milk 1 l": amount after the product
        u = re.search(rf"\s(?P<n>{_NUM})\s*(?P<u>{_UNIT})\b$", seg)
        if u is not None and qty is None:
            qty = float(u.group("n").replace(",", "."))
            unit = _UNITS[u.group("u")]
            seg = seg[: u.start()]
    return qty, unit, seg.strip()


def _clean_product(words: str) -> str:
    words = _TAIL_RE.sub("", words)
    words = _TAIL_RE.sub("", words)
    words = _VAGUE_RE.sub("", words)
    toks = [w for w in re.split(r"\s+", words) if w]
    while toks and toks[0] in _FILLER:  # inner articles stay ("fruit for a snack")
        toks.pop(0)
    while toks and toks[-1] in _FILLER:
        toks.pop()
    while toks and toks[-1] in ("for", "with", "to", "that", "which", "is", "are", "but"):
        toks.pop()
    while toks and toks[0] in ("for", "with", "to", "and", "or", "but"):
        toks.pop(0)
    return " ".join(toks).strip(" -,'")


def _negations(seg: str) -> tuple[tuple[str, ...], str]:
    excl: list[str] = []
    excl.extend(f.group("what") for f in _FREE_RE.finditer(seg))
    seg = _FREE_RE.sub(" ", seg)
    m = _NEG_RE.search(seg)
    if m is not None:
        what = _clean_product(m.group("what"))
        parts = [p for p in re.split(r"\s+or\s+|\s+nor\s+|/", what) if p]
        excl.extend(parts)
        seg = seg[: m.start()].strip()
    return tuple(dict.fromkeys(e.strip() for e in excl if e.strip())), seg


def _item(seg: str, brands: Iterable[str]) -> ItemSlot | None:
    seg = _LEAD_RE.sub("", seg, count=1).strip()
    excl, seg = _negations(seg)
    qty, unit, seg = _quantity(seg)
    brand, seg = _find_brand(seg, brands)
    if qty is None:  # "arla two litres of milk": the count after a brand
        qty, unit, seg = _quantity(seg)
    product = _clean_product(seg)
    if not product and brand is None:
        if qty is not None and not excl:  # "oat milk, 2 litres": an amount for the item before
            return ItemSlot(product="", quantity=qty, unit=unit)
        return None
    return ItemSlot(product=product, quantity=qty, unit=unit, brand=brand, exclude=excl)


def parse(text: str, brands: Iterable[str] = DEFAULT_BRANDS) -> Parsed:
    """Intent and slots of one utterance (see the module docstring).

    Raises:
        UtteranceError: empty text or longer than 500 characters.
    """
    if not text or not text.strip():
        raise UtteranceError("utterance is empty")
    if len(text) > MAX_UTTERANCE_CHARS:
        raise UtteranceError(
            f"utterance of {len(text)} characters; at most {MAX_UTTERANCE_CHARS} allowed"
        )
    brand_list = [b.lower() for b in brands]
    t = _normalise(text)
    intent = _intent(t, True)
    budget, rest = _budget(t)
    if intent in (Intent.SHOW_CART, Intent.CHECKOUT, Intent.REORDER):
        return Parsed(text=text, intent=intent, items=(), budget_cents=budget)
    rest = _LEAD_RE.sub("", rest, count=1)
    items: list[ItemSlot] = []
    for seg in _SPLIT_RE.split(rest):
        seg = seg.strip()
        if not seg:
            continue
        neg_only = re.match(
            r"^(?:but\s+)?(?:not|no|without|except|excluding|other than|nothing with)\b", seg
        )
        if neg_only and items:
            excl, _ = _negations(seg if not seg.startswith("but ") else seg[4:])
            last = items[-1]
            items[-1] = ItemSlot(
                last.product,
                last.quantity,
                last.unit,
                last.brand,
                tuple(dict.fromkeys((*last.exclude, *excl))),
            )
            continue
        it = _item(seg, brand_list)
        if it is None:
            continue
        prev = items[-1] if items else None
        if not it.product and it.brand is None:
            if prev is not None and prev.quantity is None:
                items[-1] = ItemSlot(prev.product, it.quantity, it.unit, prev.brand, prev.exclude)
            continue
        items.append(it)
    return Parsed(text=text, intent=intent, items=tuple(items), budget_cents=budget)
