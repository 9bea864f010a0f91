"""Policy names and parameters of a scenario, checked by the policies registry.

``policies.registry`` is the one place that knows which policies exist and what their
parameters accept; this module only turns its answers into :class:`~scenarios.errors.Problem`
objects at the scenario path of the offending value (``policies.pricing.params.markdown``).
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect

from scenarios.distributions import fmt_value
from scenarios.errors import Problem
from scenarios.sections import Policies, PolicyRef

__all__ = ["check_policies"]


def check_policies(chosen: Policies) -> list[Problem]:
    """Problems with the policy names, parameter names and parameter values.

    Missing required parameters are not problems: the twin derives them from the scenario
    (order-up-to levels from demand and lead times). Values are checked by building the policy
    through the registry when every required parameter is given. Skipped (no problems) when the
    registry cannot be imported.
    """
    if importlib.util.find_spec("policies.registry") is None:  # pragma: no cover
        return []
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
    from policies.registry import PolicyError, available, create, get, parameters

    known = available(kind).get(kind, [])
    if not known:
        return []
    if ref.name not in known:
        close = difflib.get_close_matches(ref.name, known, n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        return [
            Problem(
                f"{where}.name",
                f"{fmt_value(ref.name)} is not a {kind} policy{hint} (allowed: {', '.join(known)})",
            )
        ]
    params = parameters(kind, ref.name)
    sig = inspect.signature(get(kind, ref.name)).parameters.values()
    open_ended = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig)
    problems = []
    if not open_ended:
        for key in ref.params:
            if key not in params:
                close = difflib.get_close_matches(key, list(params), n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                problems.append(
                    Problem(
                        f"{where}.params.{key}",
                        f"unknown parameter {key!r} of {kind} policy {ref.name!r}{hint} "
                        f"(allowed: {', '.join(params) or 'none'})",
                    )
                )
    if problems:
        return problems
    required = [
        n
        for n, p in params.items()
        if p.default is inspect.Parameter.empty and p.kind is not inspect.Parameter.POSITIONAL_ONLY
    ]
    if any(n not in ref.params for n in required):
        return []  # derived by the twin; values checked when the twin builds the policy
    try:
        create(kind, ref.name, dict(ref.params))
    except PolicyError as exc:
        shown = ", ".join(f"{k}={fmt_value(v)}" for k, v in ref.params.items()) or "no parameters"
        return [Problem(f"{where}.params", f"{shown}: {exc} (policy {ref.name!r})")]
    return []
