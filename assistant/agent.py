"""Carry a parsed request out through the commerce API: search, cart lines, checkout, reorder.

:class:`Assistant` keeps one open cart per conversation and uses only
:class:`api.client.CommerceClient` calls (``search``, ``create_cart``, ``set_cart_line``,
``get_cart``, ``get_sku``, ``checkout``, ``list_orders``), so it works in-process or against a
server over HTTP, with whatever key the caller holds.

Product choice for an item: search the phrase (each concrete phrase of a vague one, then each
word when the phrase finds nothing), drop candidates naming an excluded term or lacking the
asked brand, score the rest by lexical-embedding cosine (:mod:`assistant.matching`), and take
the best one whose line fits what is left of the budget (concrete items are served before vague
ones, so "something for breakfast" gets what the oat milk leaves). Measured amounts become
packages from the size in the SKU's name ("2 litres" of a "1 L" carton: 2 cartons). Budgets
use list prices; the cart's total is the API's own figure.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from api.client.base import CommerceClient, CommerceError
from api.schemas import (
    CartCreate,
    CartLineSet,
    CartRead,
    Channel,
    CheckoutRequest,
    OrderRead,
    SearchQuery,
    SkuRead,
)
from assistant.grammar import DEFAULT_BRANDS, Intent, ItemSlot, Parsed, parse
from assistant.matching import amount_in_base, expand, pack_count, pack_size, similarity

__all__ = ["Action", "Assistant", "AssistantReply", "usual_basket"]

NEAR_BEST = 0.8
"""A cheaper candidate may replace the best match when its score is at least this share of the
best score (budget pressure)."""
MIN_SCORE = 0.15
FREE_BONUS = 0.3
"""Score added to a product whose text says it is free of an excluded term."""
CATEGORY_BONUS = 0.3
"""Weight of the vague phrase's similarity to a candidate's category ("breakfast")."""


@dataclass(frozen=True, slots=True)
class Action:
    """One thing the assistant did or declined: ``kind`` is ``add``, ``remove``, ``found``,
    ``checkout`` or ``skip``; ``quantity`` in packages; prices in cents."""

    kind: str
    item: str = ""
    sku: str | None = None
    quantity: int = 0
    unit_price_cents: int | None = None
    note: str = ""


@dataclass(slots=True)
class AssistantReply:
    """What one utterance produced: the parse, the actions, and the API's cart / order."""

    parsed: Parsed
    actions: list[Action] = field(default_factory=list)
    cart: CartRead | None = None
    order: OrderRead | None = None
    results: list[SkuRead] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"intent: {self.parsed.intent.value}"]
        for a in self.actions:
            price = f" @ {a.unit_price_cents / 100:.2f}" if a.unit_price_cents is not None else ""
            what = f"{a.quantity} x {a.sku}" if a.sku else a.item
            lines.append(f"  {a.kind}: {what}{price} {a.note}".rstrip())
        if self.cart is not None:
            lines.append(f"cart {self.cart.id}: total {self.cart.total_cents / 100:.2f}")
        if self.order is not None:
            lines.append(f"order {self.order.id}: {self.order.status}")
        return "\n".join(lines)


def usual_basket(orders: Sequence[OrderRead]) -> list[tuple[str, int]]:
    """The customer's most frequent basket (same SKUs and quantities), ties to the most recent
    order; ``[]`` when there are no orders. Lines sorted by SKU."""
    if not orders:
        return []
    keyed = [(tuple(sorted((ln.sku, ln.quantity) for ln in o.lines)), o.id) for o in orders]
    counts = Counter(k for k, _ in keyed)
    newest = {k: max(i for kk, i in keyed if kk == k) for k in counts}
    best = max(counts, key=lambda k: (counts[k], newest[k]))
    return list(best)


class Assistant:
    """A conversation with one shopper at one location.

    Args:
        client: any commerce client door (in-process, HTTP).
        location: where the cart reserves stock and searches check availability.
        channel: the API channel of the cart (``web`` by default).
        customer_id: the shopper (staff/service keys; a customer key always uses its own).
        brands: brand names the grammar recognises.
    """

    def __init__(
        self,
        client: CommerceClient,
        *,
        location: str,
        channel: Channel = Channel.WEB,
        customer_id: str | None = None,
        brands: Sequence[str] = DEFAULT_BRANDS,
        search_limit: int = 50,
    ) -> None:
        self.client = client
        self.location = location
        self.channel = channel
        self.customer_id = customer_id
        self.brands = tuple(brands)
        self.search_limit = search_limit
        self.cart_id: int | None = None
        self._names: dict[str, SkuRead] = {}

    # ---- entry point ---------------------------------------------------------------------
    def handle(self, text: str) -> AssistantReply:
        """Parse ``text`` and carry it out.

        Raises:
            UtteranceError: empty or overlong text.
            CommerceError: the API refused a call the assistant cannot work around (bad
                location, forbidden key); out-of-stock lines are reported as ``skip`` instead.
        """
        parsed = parse(text, self.brands)
        reply = AssistantReply(parsed=parsed)
        if parsed.intent is Intent.SHOW_CART:
            reply.cart = self._cart() if self.cart_id is not None else None
        elif parsed.intent is Intent.CHECKOUT:
            self._checkout(reply)
        elif parsed.intent is Intent.REORDER:
            self._reorder(reply)
        elif parsed.intent is Intent.REMOVE_FROM_CART:
            self._remove(reply)
        elif parsed.intent is Intent.SEARCH:
            self._search(reply)
        else:
            self._add(reply)
        return reply

    # ---- product choice ------------------------------------------------------------------
    def _query(self, q: str, max_price: int | None) -> list[SkuRead]:
        query = SearchQuery(
            q=q[:200],
            in_stock_at=self.location,
            max_price_cents=max_price,
            limit=self.search_limit,
        )
        items = self.client.search(query).items
        for s in items:
            self._names[s.sku] = s
        return list(items)

    def candidates(
        self, item: ItemSlot, max_price: int | None = None
    ) -> list[tuple[float, SkuRead]]:
        """Scored candidates for an item, best first (see the module docstring)."""
        phrases = expand(item.product) if item.product else (item.brand or "",)
        scored: dict[str, tuple[float, SkuRead]] = {}
        for phrase in phrases:
            found = self._query(phrase, max_price) if phrase else []
            if not found and phrase:
                for word in sorted(set(phrase.split()), key=len, reverse=True):
                    found.extend(self._query(word, max_price))
            if item.brand and not any(item.brand in s.name.lower() for s in found):
                found.extend(self._query(f"{item.brand} {phrase}".strip(), max_price))
            pool = {s.sku: s for s in found}.values()
            ok = [s for s in pool if self._allowed(s, item)]
            if not ok:
                continue
            texts = [s.name for s in ok]
            extras = [f"{s.category} {s.description}" for s in ok]
            scores = similarity(phrase, texts, extras)
            if item.exclude:  # "lactose-free", "no pulp": prefer products that say so
                scores = scores + FREE_BONUS * np.array([self._says_free(s, item) for s in ok])
            if phrase != item.product and item.product:  # a vague item: its category counts
                scores = scores + CATEGORY_BONUS * similarity(
                    item.product, [s.category for s in ok]
                )
            for s, sc in zip(ok, scores.tolist(), strict=True):
                if sc >= MIN_SCORE and (s.sku not in scored or scored[s.sku][0] < sc):
                    scored[s.sku] = (sc, s)
        return sorted(scored.values(), key=lambda p: (-p[0], p[1].list_price_cents, p[1].sku))

    @staticmethod
    def _says_free(s: SkuRead, item: ItemSlot) -> bool:
        text = f"{s.name} {s.description}".lower()
        return any(
            re.search(rf"\b{re.escape(t)}[- ]free\b|\b(?:no|without|non)[- ]{re.escape(t)}\b", text)
            for t in item.exclude
            if t
        )

    @staticmethod
    def _allowed(s: SkuRead, item: ItemSlot) -> bool:
        text = f"{s.name} {s.description} {' '.join(s.attributes.values())}".lower()
        if item.brand and item.brand not in s.name.lower():
            return False
        for term in item.exclude:
            if not term:
                continue
            # "lactose-free milk" / "no pulp" do not contain the excluded thing
            t = re.escape(term)
            clean = re.sub(rf"\b{t}[- ]free\b|\b(?:no|without|non)[- ]{t}\b", " ", text)
            if term in clean:
                return False
        return True

    @staticmethod
    def packages(item: ItemSlot, sku: SkuRead) -> int:
        """Packages of ``sku`` that cover the item's amount (at least 1)."""
        if item.quantity is None:
            return 1
        if item.unit is not None:
            want = amount_in_base(item.quantity, item.unit)
            size = pack_size(sku.name)
            if want is not None and size is not None and want[0] == size[0] and size[1] > 0:
                return max(1, math.ceil(want[1] / size[1] - 1e-9))
            if want is not None:  # measured amount, unknown package size: one per unit
                return max(1, math.ceil(item.quantity - 1e-9)) if item.unit in ("l", "kg") else 1
            return max(1, math.ceil(item.quantity - 1e-9))  # packs, bottles, cartons ...
        per = pack_count(sku.name)  # "a dozen eggs" of "Eggs 6 pack": 2 packs
        return max(1, math.ceil(item.quantity / (per or 1) - 1e-9))

    # ---- intents ---------------------------------------------------------------------------
    def _cart(self) -> CartRead:
        if self.cart_id is None:
            cart = self.client.create_cart(
                CartCreate(
                    channel=self.channel, location=self.location, customer_id=self.customer_id
                )
            )
            self.cart_id = cart.id
            return cart
        return self.client.get_cart(self.cart_id)

    def _add(self, reply: AssistantReply) -> None:
        parsed = reply.parsed
        budget = parsed.budget_cents
        spent = 0
        cart = self._cart()
        have = {ln.sku: ln.quantity for ln in cart.lines}
        vague = [expand(i.product) != (i.product,) for i in parsed.items]
        order = sorted(range(len(parsed.items)), key=lambda k: vague[k])
        for k in order:
            item = parsed.items[k]
            left = None if budget is None else budget - spent
            cands = self.candidates(item, left)
            pick: tuple[SkuRead, int] | None = None
            if cands:
                best = cands[0][0]
                for sc, s in cands:
                    if sc < NEAR_BEST * best and not vague[k]:
                        break
                    n = self.packages(item, s)
                    if left is None or n * s.list_price_cents <= left:
                        pick = (s, n)
                        break
            if pick is None:
                priced_out = bool(cands) or (left is not None and bool(self.candidates(item)))
                why = "over budget" if priced_out else "no match in stock"
                reply.actions.append(Action("skip", item=item.product, note=why))
                continue
            s, n = pick
            try:
                cart = self.client.set_cart_line(
                    cart.id, CartLineSet(sku=s.sku, quantity=have.get(s.sku, 0) + n)
                )
            except CommerceError as exc:
                reply.actions.append(Action("skip", item=item.product, sku=s.sku, note=exc.code))
                continue
            have[s.sku] = have.get(s.sku, 0) + n
            spent += n * s.list_price_cents
            reply.actions.append(Action("add", item.product, s.sku, n, s.list_price_cents))
        reply.cart = cart

    def _search(self, reply: AssistantReply) -> None:
        for item in reply.parsed.items:
            for _, s in self.candidates(item, reply.parsed.budget_cents)[:5]:
                reply.results.append(s)
                reply.actions.append(
                    Action("found", item.product, s.sku, 0, s.list_price_cents, s.name)
                )

    def _sku(self, code: str) -> SkuRead:
        if code not in self._names:
            self._names[code] = self.client.get_sku(code)
        return self._names[code]

    def _remove(self, reply: AssistantReply) -> None:
        if self.cart_id is None:
            reply.actions.append(Action("skip", note="no cart yet"))
            return
        cart = self._cart()
        for item in reply.parsed.items:
            lines = [ln for ln in cart.lines if ln.quantity > 0]
            skus = [self._sku(ln.sku) for ln in lines]
            ok = [(ln, s) for ln, s in zip(lines, skus, strict=True) if self._allowed(s, item)]
            if not ok or not item.product:
                reply.actions.append(Action("skip", item=item.product, note="not in the cart"))
                continue
            scores = similarity(item.product, [s.name for _, s in ok])
            j = int(scores.argmax())
            if scores[j] < MIN_SCORE:
                reply.actions.append(Action("skip", item=item.product, note="not in the cart"))
                continue
            ln = ok[j][0]
            keep = 0
            if item.quantity is not None and item.unit is None:
                keep = max(0, ln.quantity - math.ceil(item.quantity))
            cart = self.client.set_cart_line(cart.id, CartLineSet(sku=ln.sku, quantity=keep))
            reply.actions.append(Action("remove", item.product, ln.sku, ln.quantity - keep))
        reply.cart = cart

    def _checkout(self, reply: AssistantReply) -> None:
        if self.cart_id is None:
            reply.actions.append(Action("skip", note="no cart to check out"))
            return
        order = self.client.checkout(CheckoutRequest(cart_id=self.cart_id))
        reply.order = order
        reply.actions.append(Action("checkout", note=f"order {order.id}"))
        self.cart_id = None

    def _reorder(self, reply: AssistantReply) -> None:
        orders: list[OrderRead] = []
        cursor: str | None = None
        while len(orders) < 500:
            page = self.client.list_orders(cursor=cursor, limit=100)
            orders.extend(
                o
                for o in page.items
                if self.customer_id is None or o.customer_id == self.customer_id
            )
            cursor = page.next_cursor
            if cursor is None:
                break
        basket = usual_basket(orders)
        if not basket:
            reply.actions.append(Action("skip", note="no previous orders"))
            return
        cart = self._cart()
        for sku, qty in basket:
            try:
                cart = self.client.set_cart_line(cart.id, CartLineSet(sku=sku, quantity=qty))
            except CommerceError as exc:
                reply.actions.append(Action("skip", sku=sku, quantity=qty, note=exc.code))
                continue
            reply.actions.append(Action("add", "usual", sku, qty))
        reply.cart = cart
