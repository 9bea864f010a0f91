"""The discount arithmetic of promotions (pure: no database)."""

from __future__ import annotations

from api.services.promotions import PricedLine, Rule, discounts


def _amounts(lines: list[PricedLine], rules: list[Rule]) -> dict[int, int]:
    return {r.id: a for r, a in discounts(lines, rules)}


def test_percent_off_rounds_down_per_line_and_only_on_eligible_skus() -> None:
    lines = [PricedLine(1, 3, 333), PricedLine(2, 1, 1000)]
    rule = Rule(id=7, name="10%", kind="percent", percent_off=10, skus=frozenset({1}))
    assert _amounts(lines, [rule]) == {7: 99}  # 999 * 10 // 100


def test_fixed_amount_never_takes_more_than_the_eligible_lines() -> None:
    lines = [PricedLine(1, 1, 300), PricedLine(2, 1, 500)]
    rule = Rule(id=1, name="5 off", kind="fixed", amount_off_cents=500, skus=frozenset({1}))
    assert _amounts(lines, [rule]) == {1: 300}


def test_bundle_price_groups_the_most_expensive_units_first() -> None:
    # 3 for 1000 cents: units 600, 500, 500 | 400, 400 (no second full group)
    lines = [PricedLine(1, 2, 500), PricedLine(2, 1, 600), PricedLine(3, 2, 400)]
    rule = Rule(id=3, name="3 for 10", kind="bundle", bundle_qty=3, bundle_price_cents=1000)
    assert _amounts(lines, [rule]) == {3: 600 + 500 + 500 - 1000}


def test_bundle_percent_and_a_group_spanning_lines() -> None:
    lines = [PricedLine(1, 1, 1000), PricedLine(2, 3, 100)]
    rule = Rule(id=4, name="buy 2 get 50%", kind="bundle", bundle_qty=2, percent_off=50)
    # groups: (1000, 100) -> 550, (100, 100) -> 100
    assert _amounts(lines, [rule]) == {4: 650}


def test_a_bundle_never_costs_more_than_its_units() -> None:
    lines = [PricedLine(1, 2, 100)]
    rule = Rule(id=5, name="2 for 5", kind="bundle", bundle_qty=2, bundle_price_cents=500)
    assert _amounts(lines, [rule]) == {}


def test_stacking_bundle_then_percent_then_fixed_on_what_is_left() -> None:
    lines = [PricedLine(1, 2, 1000)]
    rules = [
        Rule(id=1, name="fixed", kind="fixed", amount_off_cents=5000),
        Rule(id=2, name="pct", kind="percent", percent_off=10),
        Rule(id=3, name="bundle", kind="bundle", bundle_qty=2, bundle_price_cents=1500),
    ]
    # bundle 2000 -> 1500 (500 off); 10% of 1500 = 150; fixed takes the remaining 1350
    assert _amounts(lines, rules) == {3: 500, 2: 150, 1: 1350}
    assert sum(_amounts(lines, rules).values()) == 2000


def test_minimum_subtotal_is_checked_before_any_discount() -> None:
    lines = [PricedLine(1, 1, 999)]
    rule = Rule(id=1, name="min", kind="fixed", amount_off_cents=100, min_subtotal_cents=1000)
    assert _amounts(lines, [rule]) == {}
    assert _amounts([PricedLine(1, 1, 1000)], [rule]) == {1: 100}
