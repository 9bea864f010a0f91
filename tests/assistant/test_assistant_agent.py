"""The assistant drives the commerce API (in-process, real SQLite): search, cart, checkout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.client.inprocess import InProcessClient
from api.schemas import OrderLineRead, OrderRead, OrderStatus
from assistant.agent import Assistant, usual_basket
from assistant.demo import DEMO_LOCATION, seed_demo
from assistant.grammar import ItemSlot


@pytest.fixture
def client() -> InProcessClient:
    c = InProcessClient.for_sqlite(role="service")
    seed_demo(c)
    return c


@pytest.fixture
def bot(client: InProcessClient) -> Assistant:
    return Assistant(client, location=DEMO_LOCATION, customer_id="c-1")


def test_the_issue_example_fills_a_cart_within_budget(bot: Assistant) -> None:
    r = bot.handle("two litres of oat milk and something for breakfast under €10")
    adds = [(a.sku, a.quantity) for a in r.actions if a.kind == "add"]
    assert adds[0] == ("MLK-OAT-1L", 2)  # 2 L of 1 L cartons
    assert len(adds) == 2 and adds[1][0].startswith("BRK-")
    assert r.cart is not None and r.cart.total_cents <= 1000
    assert {ln.sku: ln.quantity for ln in r.cart.lines}["MLK-OAT-1L"] == 2


def test_brand_and_negation_steer_the_choice(bot: Assistant) -> None:
    r = bot.handle("add Alpro soy milk but not vanilla, and orange juice without pulp")
    assert [a.sku for a in r.actions] == ["MLK-SOY-1L", "JCE-ORA-TRP"]
    r = bot.handle("add lactose-free milk and coffee beans, not decaf")
    assert [a.sku for a in r.actions] == ["MLK-LF-1L", "CFE-BEA-500"]


def test_a_budget_too_small_skips_the_item_and_buys_nothing(bot: Assistant) -> None:
    r = bot.handle("add coffee beans under €2")
    assert [a.kind for a in r.actions] == ["skip"] and r.actions[0].note == "over budget"
    assert r.cart is not None and r.cart.lines == []


def test_search_remove_show_and_checkout_go_through_the_api(bot: Assistant) -> None:
    found = bot.handle("find yoghurt but not strawberry")
    assert found.results and all("Strawberry" not in s.name for s in found.results)
    assert found.cart is None and bot.cart_id is None  # a search changes nothing
    bot.handle("add 2 kg of bananas and a loaf of rye bread")
    r = bot.handle("remove the bread")
    assert [(a.kind, a.sku) for a in r.actions] == [("remove", "BRD-RYE-400")]
    shown = bot.handle("what's in my cart")
    assert shown.cart is not None
    assert [(ln.sku, ln.quantity) for ln in shown.cart.lines if ln.quantity] == [("FRT-BAN-1K", 2)]
    done = bot.handle("check out")
    assert done.order is not None and done.order.total_cents == 2 * 199
    assert bot.cart_id is None


def test_order_my_usual_repeats_the_most_frequent_basket(client: InProcessClient) -> None:
    bot = Assistant(client, location=DEMO_LOCATION, customer_id="c-9")
    for text in ("add oat milk", "add oat milk", "add 2 kg of apples"):
        bot.handle(text)
        bot.handle("check out")
    r = bot.handle("order my usual")
    assert [(a.sku, a.quantity) for a in r.actions] == [("MLK-OAT-1L", 1)]


def _order(i: int, lines: list[tuple[str, int]]) -> OrderRead:
    t = datetime(2026, 1, 1, tzinfo=UTC)
    return OrderRead(
        id=i,
        customer_id="c",
        channel="web",
        location="W",
        status=OrderStatus.PAID,
        lines=[OrderLineRead(sku=s, quantity=q, unit_price_cents=1) for s, q in lines],
        total_cents=0,
        payment=None,
        created_at=t,
        updated_at=t,
    )


def test_usual_basket_ties_go_to_the_most_recent_and_order_of_lines_does_not_matter() -> None:
    a = [("A", 1), ("B", 2)]
    b = [("C", 1)]
    assert usual_basket([]) == []
    assert usual_basket([_order(1, a), _order(2, b), _order(3, a[::-1])]) == a
    assert usual_basket([_order(1, a), _order(2, b)]) == b


def test_packages_cover_measured_and_counted_amounts(client: InProcessClient) -> None:
    eggs6 = client.get_sku("EGG-6")
    milk15 = client.get_sku("MLK-ECO-15")
    assert Assistant.packages(ItemSlot("eggs", 12.0), eggs6) == 2
    assert Assistant.packages(ItemSlot("milk", 2.0, "l"), milk15) == 2
    assert Assistant.packages(ItemSlot("milk", 1500.0, "ml"), milk15) == 1
    assert Assistant.packages(ItemSlot("milk", 3.0, "carton"), milk15) == 3
