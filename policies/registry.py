"""Policy registry: policies by kind and name, built from parameters, and the one validator of
policy parameters.

Scenarios and the API name policies (``policy: capped_base_stock``, ``params: {...}``); this
module turns such a name into an object. Policy classes (or factory functions) register
themselves::

    from policies.registry import register

    @register("replenishment", "capped_base_stock")
    class CappedBaseStock: ...

and callers build them (typed: a ``ReplenishmentPolicy`` for kind ``"replenishment"``)::

    from policies.registry import create
    policy = create("replenishment", "capped_base_stock", base_stock=12, cap=6)

or only check parameters, getting every problem at once with its field and value::

    from policies.registry import validate
    for p in validate("replenishment", "capped_base_stock", {"base_stock": 12, "cap": -1}):
        print(p.field, p.value, p.message)   # params.cap -1 cap must be >= 0.0, got -1

Kinds: ``"replenishment"``, ``"pricing"``, ``"forecasting"`` (others may be registered). The
built-in modules of a known kind are imported lazily on the first lookup, so importing this
module is cheap and pulls in neither torch nor the twin. The RL artifact adapters are
registered explicitly under the name ``rl_artifact`` (kinds ``replenishment`` and ``pricing``),
independent of what else has been imported.

Errors: :class:`UnknownPolicyError` (unknown kind or name, listing what exists) and
:class:`PolicyParameterError` (unknown, missing or invalid parameters, with typed
:class:`Problem` entries), both subclasses of :class:`PolicyError`, the root exception of the
``policies`` package.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar, overload

if TYPE_CHECKING:
    from policies.forecasting.base import Forecaster
    from policies.pricing.types import PricingPolicy
    from policies.replenishment.types import ReplenishmentPolicy

__all__ = [
    "PolicyError",
    "PolicyParameterError",
    "Problem",
    "UnknownPolicyError",
    "available",
    "create",
    "get",
    "parameters",
    "register",
    "validate",
]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., object])

# Modules whose import registers the built-in policies of a kind.
_BUILTIN_MODULES: dict[str, tuple[str, ...]] = {
    "replenishment": ("policies.replenishment",),
    "pricing": ("policies.pricing",),
    "forecasting": ("policies.forecasting",),
}

# Built-in factories registered by name (not by an import side effect): (kind, name) -> target.
_BUILTIN_FACTORIES: dict[tuple[str, str], str] = {
    ("replenishment", "rl_artifact"): "policies.artifact_adapters:rl_replenishment_artifact",
    ("pricing", "rl_artifact"): "policies.artifact_adapters:rl_pricing_artifact",
    ("replenishment", "sku_projected"): "policies.rl.sku_policy:sku_projected",
}

# What a built policy of a known kind must satisfy (runtime-checkable protocols, by path).
_PROTOCOLS: dict[str, str] = {
    "replenishment": "policies.replenishment.types:ReplenishmentPolicy",
    "pricing": "policies.pricing.types:PricingPolicy",
    "forecasting": "policies.forecasting.base:Forecaster",
}

_REGISTRY: dict[str, dict[str, Callable[..., object]]] = {}
_LOADED: set[str] = set()


class PolicyError(Exception):
    """Root of the errors raised by the ``policies`` package."""


class UnknownPolicyError(PolicyError, LookupError):
    """No policy of that kind and name is registered."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a policy reference.

    Attributes:
        field: where, relative to the reference: ``"kind"``, ``"name"``, ``"params.<name>"``
            for one parameter, or ``"params"`` for the parameters as a whole. Callers prefix
            their own path (``policies.replenishment.`` in a scenario, ``policy.`` in the API).
        value: the offending value (``None`` for a missing parameter).
        message: what is wrong, for a person.
    """

    field: str
    value: object
    message: str

    def __str__(self) -> str:
        return f"{self.field}={self.value!r}: {self.message}"

    def at(self, prefix: str) -> Problem:
        """The same problem with ``prefix`` before its field (``policies.replenishment`` gives
        ``policies.replenishment.params.cap``)."""
        return Problem(f"{prefix}.{self.field}" if prefix else self.field, self.value, self.message)


class PolicyParameterError(PolicyError, ValueError):
    """Parameters do not fit the policy: unknown, missing, or rejected by its constructor.

    Raised by policy constructors with the parameter's name and value
    (``PolicyParameterError("cap must be >= 0", field="cap", value=-2)``) and by
    :func:`create` with every :class:`Problem` found.

    Attributes:
        field: the parameter at fault (no ``params.`` prefix), or ``None`` if not one.
        value: its value.
        problems: the problems (relative fields, as :func:`validate` returns them).
    """

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        value: object = None,
        problems: Sequence[Problem] = (),
    ) -> None:
        super().__init__(message)
        self.field = field
        self.value = value
        self.problems: tuple[Problem, ...] = tuple(problems)


def register(kind: str, name: str) -> Callable[[F], F]:
    """Class or function decorator registering a policy factory under ``(kind, name)``.

    Raises:
        PolicyError: if ``(kind, name)`` is already taken by a different factory.
    """

    def decorator(factory: F) -> F:
        table = _REGISTRY.setdefault(kind, {})
        existing = table.get(name)
        if existing is not None and _qualname(existing) != _qualname(factory):
            raise PolicyError(
                f"{kind} policy {name!r} is already registered by {_qualname(existing)}"
            )
        table[name] = factory
        return factory

    return decorator


def _qualname(obj: object) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def _resolve(target: str) -> object:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def _load_builtins(kind: str) -> None:
    if kind in _LOADED:
        return
    _LOADED.add(kind)
    for module in _BUILTIN_MODULES.get(kind, ()):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            # Only tolerate the built-in module itself being absent, not its broken imports.
            if exc.name != module:
                raise
            logger.debug("built-in policy module %s not present", module)
    for (k, name), target in _BUILTIN_FACTORIES.items():
        if k == kind:
            factory = _resolve(target)
            assert callable(factory), target
            register(kind, name)(factory)


def _known_kinds() -> list[str]:
    return sorted(set(_BUILTIN_MODULES) | set(_REGISTRY))


def available(kind: str | None = None) -> dict[str, list[str]]:
    """Registered names, sorted, by kind (all kinds, or only ``kind``)."""
    kinds = [kind] if kind is not None else _known_kinds()
    out: dict[str, list[str]] = {}
    for k in kinds:
        _load_builtins(k)
        out[k] = sorted(_REGISTRY.get(k, {}))
    return out


def get(kind: str, name: str) -> Callable[..., object]:
    """The factory registered under ``(kind, name)``.

    Raises:
        UnknownPolicyError: naming the unknown kind or name and listing the known ones.
    """
    problem = _lookup_problem(kind, name)
    if problem is not None:
        raise UnknownPolicyError(problem.message)
    return _REGISTRY[kind][name]


def parameters(kind: str, name: str) -> dict[str, inspect.Parameter]:
    """The constructor parameters of a registered policy, by name.

    Raises:
        UnknownPolicyError: unknown kind or name.
    """
    factory = get(kind, name)
    sig = inspect.signature(factory)
    return {
        p.name: p
        for p in sig.parameters.values()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    }


def _hint(word: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _lookup_problem(kind: str, name: str) -> Problem | None:
    _load_builtins(kind)
    if kind not in _REGISTRY:
        known = _known_kinds()
        return Problem(
            "kind", kind, f"unknown policy kind {kind!r}{_hint(kind, known)}; known kinds: {known}"
        )
    table = _REGISTRY[kind]
    if name not in table:
        return Problem(
            "name",
            name,
            f"unknown {kind} policy {name!r}{_hint(name, sorted(table))}; "
            f"known {kind} policies: {sorted(table)}",
        )
    return None


def _signature_problems(
    kind: str, name: str, params: Mapping[str, object], *, partial: bool
) -> list[Problem]:
    factory = _REGISTRY[kind][name]
    sig = inspect.signature(factory)
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    allowed = parameters(kind, name)
    problems: list[Problem] = []
    if not accepts_any:
        for key in sorted(set(params) - set(allowed)):
            problems.append(
                Problem(
                    f"params.{key}",
                    params[key],
                    f"{kind} policy {name!r} has no parameter {key!r}{_hint(key, list(allowed))}; "
                    f"allowed: {sorted(allowed)}",
                )
            )
    if not partial:
        for p in allowed.values():
            if (
                p.default is inspect.Parameter.empty
                and p.kind is not inspect.Parameter.POSITIONAL_ONLY
                and p.name not in params
            ):
                problems.append(
                    Problem(
                        f"params.{p.name}",
                        None,
                        f"{kind} policy {name!r} needs parameter {p.name!r}",
                    )
                )
    return problems


def _raised_problem(exc: Exception, kind: str, name: str, params: Mapping[str, object]) -> Problem:
    """The problem a constructor's exception reports, from its typed ``field`` and ``value``."""
    field = getattr(exc, "field", None)
    if isinstance(field, str) and field in params:
        return Problem(f"params.{field}", getattr(exc, "value", params[field]), str(exc))
    return Problem("params", dict(params), f"{kind} policy {name!r}: {exc}")


def _build(
    kind: str, name: str, params: Mapping[str, object]
) -> tuple[object | None, list[Problem]]:
    factory = _REGISTRY[kind][name]
    try:
        policy = factory(**params)
    except (PolicyError, TypeError, ValueError, ArithmeticError) as exc:
        if isinstance(exc, UnknownPolicyError):
            raise
        return None, [_raised_problem(exc, kind, name, params)]
    target = _PROTOCOLS.get(kind)
    if target is not None:
        protocol = _resolve(target)
        assert isinstance(protocol, type)
        if not isinstance(policy, protocol):
            raise PolicyError(
                f"{kind} policy {name!r} built a {type(policy).__name__}, "
                f"which is not a {protocol.__name__}"
            )
    return policy, []


def validate(
    kind: str, name: str, params: Mapping[str, object] | None = None, *, partial: bool = False
) -> list[Problem]:
    """Every problem with the policy reference ``(kind, name, params)``; empty if it is valid.

    Checks, in order: the kind and the name exist (one problem, and nothing else is checked if
    not); no unknown parameters (one problem each, with a "did you mean" hint); no missing
    required parameters; and the policy's own validation, by building it (its
    :class:`PolicyParameterError` or other typed error names the field and value). With
    ``partial=True`` the parameters may be a subset (the caller derives the others later, like
    the twin from a scenario): missing required parameters are not problems, and the values
    are checked by building the policy only when none is missing.

    Fields are relative (``name``, ``params.cap``); see :class:`Problem`. Never raises for a bad
    reference; building a policy may take as long as its constructor (e.g. a pricing DP).
    """
    p = dict(params or {})
    lookup = _lookup_problem(kind, name)
    if lookup is not None:
        return [lookup]
    problems = _signature_problems(kind, name, p, partial=partial)
    if problems:
        return problems
    if partial and _signature_problems(kind, name, p, partial=False):
        return []  # some required parameter is left to the caller: nothing to build yet
    return _build(kind, name, p)[1]


@overload
def create(
    kind: Literal["replenishment"],
    name: str,
    params: Mapping[str, object] | None = None,
    **kwargs: object,
) -> ReplenishmentPolicy: ...


@overload
def create(
    kind: Literal["pricing"],
    name: str,
    params: Mapping[str, object] | None = None,
    **kwargs: object,
) -> PricingPolicy: ...


@overload
def create(
    kind: Literal["forecasting"],
    name: str,
    params: Mapping[str, object] | None = None,
    **kwargs: object,
) -> Forecaster: ...


@overload
def create(
    kind: str, name: str, params: Mapping[str, object] | None = None, **kwargs: object
) -> object: ...


def create(
    kind: str, name: str, params: Mapping[str, object] | None = None, **kwargs: object
) -> object:
    """Build the policy registered under ``(kind, name)`` from keyword parameters.

    Parameters may be given as a mapping (``params``, as read from a scenario file), as
    keywords, or both (keywords win). The result satisfies the kind's protocol
    (``ReplenishmentPolicy``, ``PricingPolicy`` or ``Forecaster``) and is typed as such.

    Raises:
        UnknownPolicyError: unknown kind or name.
        PolicyParameterError: the problems :func:`validate` reports (``problems``; ``field``
            and ``value`` of the first one that names a parameter).
        PolicyError: a registered factory built something that is not of its kind's protocol.
    """
    get(kind, name)
    merged: dict[str, object] = {**(params or {}), **kwargs}
    problems = _signature_problems(kind, name, merged, partial=False)
    policy: object | None = None
    if not problems:
        policy, problems = _build(kind, name, merged)
    if problems:
        first = next((p for p in problems if p.field.startswith("params.")), problems[0])
        field = first.field.removeprefix("params.") if first.field.startswith("params.") else None
        raise PolicyParameterError(
            "; ".join(p.message for p in problems),
            field=field,
            value=first.value,
            problems=problems,
        )
    return policy
