"""The policy registry: lookup by kind and name, parameter checking, clear errors."""

from __future__ import annotations

import pytest

from policies.registry import (
    PolicyError,
    PolicyParameterError,
    Problem,
    UnknownPolicyError,
    available,
    create,
    register,
    validate,
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
        PolicyParameterError, match=r"no parameter 'S'; allowed: \['base_stock', 'cap'\]"
    ) as info:
        create("replenishment", "capped_base_stock", base_stock=3, cap=2, S=4)
    assert (info.value.field, info.value.value) == ("S", 4)


def test_missing_parameter_is_named() -> None:
    with pytest.raises(PolicyParameterError, match=r"needs parameter 'cap'") as info:
        create("replenishment", "capped_base_stock", base_stock=3)
    assert info.value.field == "cap"


def test_invalid_parameter_value_is_reported_as_a_parameter_error() -> None:
    with pytest.raises(PolicyParameterError, match=r"cap must be >= 0\.0, got -2") as info:
        create("replenishment", "capped_base_stock", base_stock=3, cap=-2)
    assert (info.value.field, info.value.value) == ("cap", -2)


def test_a_name_cannot_be_taken_twice() -> None:
    @register("test-kind", "thing")
    class Thing:
        pass

    with pytest.raises(PolicyError, match="already registered"):

        @register("test-kind", "thing")
        class Other:
            pass

    assert create("test-kind", "thing").__class__ is Thing


def test_validate_returns_every_problem_with_its_field_and_value() -> None:
    problems = validate("replenishment", "capped_base_stock", {"base_stok": 3, "S": 1})
    assert [(p.field, p.value) for p in problems] == [
        ("params.S", 1),
        ("params.base_stok", 3),
        ("params.base_stock", None),
        ("params.cap", None),
    ]
    assert "did you mean 'base_stock'" in problems[1].message


def test_validate_reports_a_value_the_policy_rejects_without_parsing_its_message() -> None:
    assert validate("replenishment", "capped_base_stock", {"base_stock": 3, "cap": 2}) == []
    (problem,) = validate("replenishment", "capped_base_stock", {"base_stock": 3, "cap": -2})
    assert problem == Problem("params.cap", -2, "cap must be >= 0.0, got -2")
    assert problem.at("policy").field == "policy.params.cap"
    (s_problem,) = validate("replenishment", "s_S", {"s": 5, "S": 2})
    assert (s_problem.field, s_problem.value) == ("params.S", 2)


def test_validate_names_an_unknown_name_or_kind_with_a_hint() -> None:
    (problem,) = validate("replenishment", "capped_base_stok", {})
    assert (problem.field, problem.value) == ("name", "capped_base_stok")
    assert "did you mean 'capped_base_stock'" in problem.message
    (kind,) = validate("replenishmnt", "base_stock", {})
    assert kind.field == "kind"


def test_partial_validation_leaves_missing_parameters_to_the_caller() -> None:
    assert validate("replenishment", "capped_base_stock", {"cap": 2}, partial=True) == []
    (problem,) = validate("replenishment", "capped_base_stock", {"cep": 2}, partial=True)
    assert problem.field == "params.cep"
    # with every required parameter given, the values are checked as well
    params = {"base_stock": 3, "cap": -1}
    (value,) = validate("replenishment", "capped_base_stock", params, partial=True)
    assert (value.field, value.value) == ("params.cap", -1)


@pytest.mark.slow
def test_rl_artifact_is_registered_explicitly_for_both_kinds() -> None:
    from policies import registry

    # forget what is loaded: the registry re-registers rl_artifact by name (there is no
    # decorator in policies.artifact_adapters any more, so nothing else can)
    for kind in ("replenishment", "pricing"):
        registry._REGISTRY.get(kind, {}).pop("rl_artifact", None)
        registry._LOADED.discard(kind)
    for kind in ("replenishment", "pricing"):
        assert "rl_artifact" in available(kind)[kind]
    assert registry.parameters("pricing", "rl_artifact").keys() == {"artifact", "registry_dir"}


def test_a_factory_that_builds_the_wrong_kind_of_object_is_refused() -> None:
    @register("replenishment", "not-a-policy")
    def not_a_policy() -> object:
        return object()

    try:
        with pytest.raises(PolicyError, match="not a ReplenishmentPolicy"):
            create("replenishment", "not-a-policy")
    finally:
        from policies import registry

        registry._REGISTRY["replenishment"].pop("not-a-policy")
