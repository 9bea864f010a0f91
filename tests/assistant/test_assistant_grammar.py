"""The assistant's grammar: intents, quantities, units, budgets, brands and negation."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.errors import UtteranceError
from assistant.evaluate import load_utterances, score, slot_pairs
from assistant.grammar import Intent, ItemSlot, parse, parse_money_cents

DATA = Path(__file__).resolve().parents[2] / "data" / "assistant"


def test_the_issue_example_gives_two_items_and_a_budget() -> None:
    p = parse("two litres of oat milk and something for breakfast under €10")
    assert p.intent is Intent.ADD_TO_CART
    assert p.budget_cents == 1000
    assert p.items == (ItemSlot("oat milk", 2.0, "l"), ItemSlot("breakfast"))


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("order my usual", Intent.REORDER),
        ("what's in my basket", Intent.SHOW_CART),
        ("check out please", Intent.CHECKOUT),
        ("remove the milk", Intent.REMOVE_FROM_CART),
        ("do you have oat milk", Intent.SEARCH),
        ("oat milk", Intent.ADD_TO_CART),
    ],
)
def test_intents(text: str, intent: Intent) -> None:
    assert parse(text).intent is intent


@pytest.mark.parametrize(
    ("text", "qty", "unit"),
    [
        ("add 500ml of cream", 500.0, "ml"),
        ("add a dozen eggs", 12.0, None),
        ("half a dozen eggs", 6.0, None),
        ("milk x2", 2.0, None),
        ("a couple of cans of beans", 2.0, "can"),
        ("oat milk, 1.5 litres", 1.5, "l"),
        ("add three kilos of flour", 3.0, "kg"),
    ],
)
def test_quantities_and_units(text: str, qty: float, unit: str | None) -> None:
    (item,) = parse(text).items
    assert (item.quantity, item.unit) == (qty, unit)


def test_an_article_is_not_a_count_and_a_brand_starting_with_a_is_not_split() -> None:
    (item,) = parse("add a yoghurt").items
    assert item.quantity is None and item.product == "yoghurt"
    (item,) = parse("add Arla butter").items
    assert item.brand == "arla" and item.product == "butter"


def test_negations_attach_to_their_item() -> None:
    p = parse("add lactose-free yoghurt but not strawberry and bread without seeds")
    assert p.items[0].exclude == ("lactose", "strawberry")
    assert p.items[1] == ItemSlot("bread", exclude=("seeds",))
    (item,) = parse("grab some cheese, not Valio").items
    assert item.exclude == ("valio",)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("bread under €10", 1000),
        ("bread for no more than 4.50 euros", 450),
        ("bread, €8 max", 800),
        ("bread below 75 cents", 75),
        ("bread within a budget of 12,5 euros", 1250),
    ],
)
def test_budgets_in_cents(text: str, cents: int) -> None:
    assert parse(text).budget_cents == cents


def test_money_amounts_and_bad_input_name_the_value() -> None:
    assert parse_money_cents("€3.20") == 320
    with pytest.raises(UtteranceError, match="'lots'"):
        parse_money_cents("lots")
    with pytest.raises(UtteranceError, match="empty"):
        parse("   ")
    with pytest.raises(UtteranceError, match="501 characters"):
        parse("x" * 501)


def test_the_written_sets_have_at_least_100_utterances_covering_every_intent() -> None:
    rows = load_utterances(DATA / "utterances.jsonl")
    assert len(rows) >= 100
    assert {r.intent for r in rows} == {i.value for i in Intent}


def test_accuracy_on_the_written_sets_stays_at_its_measured_level() -> None:
    dev = score(load_utterances(DATA / "utterances.jsonl"))
    held = score(load_utterances(DATA / "heldout.jsonl"))
    assert dev.intent_accuracy == 1.0 and dev.slot_f1 >= 0.99, dev.errors
    assert held.intent_accuracy >= 0.95 and held.slot_f1 >= 0.9, held.errors


def test_slot_pairs_ignore_empty_values_and_compare_numbers_exactly() -> None:
    pairs = slot_pairs(
        {"items": [{"product": "milk", "quantity": 2.0, "unit": None, "exclude": []}]}
    )
    assert pairs == {("items.0.product", "milk"), ("items.0.quantity", 2)}


def test_a_malformed_line_is_refused_with_its_number(tmp_path: Path) -> None:
    f = tmp_path / "u.jsonl"
    f.write_text('{"text": "x", "intent": "add_to_cart", "slots": {}}\n{"text": 1}\n')
    with pytest.raises(UtteranceError, match=":2:"):
        load_utterances(f)
