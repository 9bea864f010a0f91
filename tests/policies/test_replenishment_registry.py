"""The policy registry: lookup by kind and name, parameter checking, clear errors."""

from __future__ import annotations

import pytest

from policies.registry import (
    PolicyError,
    PolicyParameterError,
    UnknownPolicyError,
    available,
    create,
    register,
)
from policies.replenishment import CappedBaseStock


def test_builtin_replenishment_policies_are_registered_by_name() -> None:
    names = available("replenishment")["replenishment"]
    for name in (
        "base_stock",
        "capped_base_stock",
        "s_S",
        "R_s_S",
        "forecast_order_up_to",
        "newsvendor",
        "echelon_base_stock",
    ):
        assert name in names


def test_create_builds_the_policy_from_a_params_mapping_and_keywords() -> None:
    policy = create("replenishment", "capped_base_stock", {"base_stock": 20}, cap=7)
    assert isinstance(policy, CappedBaseStock)
    assert float(policy.cap) == 7.0
    assert float(policy.base_stock) == 20.0


def test_unknown_name_lists_the_known_names() -> None:
    with pytest.raises(
        UnknownPolicyError, match=r"unknown replenishment policy 'capped'.*capped_base_stock"
    ):
        create("replenishment", "capped")


def test_unknown_kind_is_named() -> None:
    with pytest.raises(UnknownPolicyError, match="unknown policy kind 'inventory'"):
        create("inventory", "base_stock")


def test_unknown_parameter_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(
        PolicyParameterError, match=r"no parameter\(s\) \['S'\]; allowed: \['base_stock', 'cap'\]"
    ):
        create("replenishment", "capped_base_stock", base_stock=3, cap=2, S=4)


def test_missing_parameter_is_named() -> None:
    with pytest.raises(PolicyParameterError, match=r"missing parameter\(s\) \['cap'\]"):
        create("replenishment", "capped_base_stock", base_stock=3)


def test_invalid_parameter_value_is_reported_as_a_parameter_error() -> None:
    with pytest.raises(PolicyParameterError, match=r"cap must be >= 0\.0, got -2"):
        create("replenishment", "capped_base_stock", base_stock=3, cap=-2)


def test_a_name_cannot_be_taken_twice() -> None:
    @register("test-kind", "thing")
    class Thing:
        pass

    with pytest.raises(PolicyError, match="already registered"):

        @register("test-kind", "thing")
        class Other:
            pass

    assert create("test-kind", "thing").__class__ is Thing
