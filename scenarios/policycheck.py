"""Policy names and parameters of a scenario, checked by the policies registry.

``policies.registry.validate`` is the one validator of policy references: it returns typed
problems with a field relative to the reference (``name``, ``params.cap``) and the offending
value. This module only prefixes the scenario path (``policies.replenishment.``) and writes each
problem in the scenario's house format (``<value>: <what is wrong>``).
"""

from __future__ import annotations

import inspect

from policies import registry
from scenarios.distributions import fmt_value
from scenarios.errors import Problem
from scenarios.sections import Policies, PolicyRef

__all__ = ["check_policies"]


def check_policies(chosen: Policies) -> list[Problem]:
    """Problems with the policy names, parameter names and parameter values.

    Missing required parameters are not problems: the twin derives them from the scenario
    (order-up-to levels from demand and lead times), so such a reference is checked partially
    (names and unknown parameters). When every required parameter is given, the registry also
    builds the policy, so the policy's own validation of the values runs.
    """
    refs: list[tuple[str, str, PolicyRef | None]] = [
        ("replenishment", "replenishment", chosen.replenishment),
        ("replenishment", "warehouse_replenishment", chosen.warehouse_replenishment),
        ("pricing", "pricing", chosen.pricing),
    ]
    problems: list[Problem] = []
    for kind, field, ref in refs:
        if ref is not None:
            problems += _check_ref(kind, f"policies.{field}", ref)
    return problems


def _check_ref(kind: str, where: str, ref: PolicyRef) -> list[Problem]:
    params = dict(ref.params)
    found = registry.validate(kind, ref.name, params, partial=True)
    if not found and _all_required_given(kind, ref.name, params):
        found = registry.validate(kind, ref.name, params)
    return [Problem(f"{where}.{p.field}", f"{fmt_value(p.value)}: {p.message}") for p in found]


def _all_required_given(kind: str, name: str, params: dict[str, object]) -> bool:
    return all(
        n in params
        for n, p in registry.parameters(kind, name).items()
        if p.default is inspect.Parameter.empty and p.kind is not inspect.Parameter.POSITIONAL_ONLY
    )
