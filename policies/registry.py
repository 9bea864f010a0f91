"""Policy registry: policies by kind and name, built from parameters.

Scenarios and the API name policies (``policy: capped_base_stock``, ``params: {...}``); this
module turns such a name into an object. Policy classes (or factory functions) register
themselves::

    from policies.registry import register

    @register("replenishment", "capped_base_stock")
    class CappedBaseStock: ...

and callers build them::

    from policies.registry import create
    policy = create("replenishment", "capped_base_stock", base_stock=12, cap=6)

Kinds in use: ``"replenishment"``, ``"pricing"``, ``"forecasting"`` (any string works). The
built-in modules of a known kind are imported lazily on the first lookup, so importing this
module is cheap and pulls in neither torch nor the twin.

Errors: :class:`UnknownPolicyError` (unknown kind or name, listing what exists) and
:class:`PolicyParameterError` (unknown, missing or invalid parameters, naming them), both
subclasses of :class:`PolicyError`, the root exception of the ``policies`` package.
"""

from __future__ import annotations

import importlib
import inspect
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

__all__ = [
    "PolicyError",
    "PolicyParameterError",
    "UnknownPolicyError",
    "available",
    "create",
    "get",
    "parameters",
    "register",
]

logger = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., object])

# Modules whose import registers the built-in policies of a kind.
_BUILTIN_MODULES: dict[str, tuple[str, ...]] = {
    "replenishment": ("policies.replenishment",),
    "pricing": ("policies.pricing",),
    "forecasting": ("policies.forecasting",),
}

_REGISTRY: dict[str, dict[str, Callable[..., object]]] = {}
_LOADED: set[str] = set()


class PolicyError(Exception):
    """Root of the errors raised by the ``policies`` package."""


class UnknownPolicyError(PolicyError, LookupError):
    """No policy of that kind and name is registered."""


class PolicyParameterError(PolicyError, ValueError):
    """Parameters do not fit the policy: unknown, missing, or rejected by its constructor."""


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


def available(kind: str | None = None) -> dict[str, list[str]]:
    """Registered names, sorted, by kind (all kinds, or only ``kind``)."""
    kinds = [kind] if kind is not None else sorted(set(_BUILTIN_MODULES) | set(_REGISTRY))
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
    _load_builtins(kind)
    if kind not in _REGISTRY:
        known = sorted(set(_BUILTIN_MODULES) | set(_REGISTRY))
        raise UnknownPolicyError(f"unknown policy kind {kind!r}; known kinds: {known}")
    table = _REGISTRY[kind]
    if name not in table:
        raise UnknownPolicyError(
            f"unknown {kind} policy {name!r}; known {kind} policies: {sorted(table)}"
        )
    return table[name]


def parameters(kind: str, name: str) -> dict[str, inspect.Parameter]:
    """The constructor parameters of a registered policy, by name."""
    factory = get(kind, name)
    sig = inspect.signature(factory)
    return {
        p.name: p
        for p in sig.parameters.values()
        if p.kind not in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    }


def create(kind: str, name: str, params: Mapping[str, Any] | None = None, **kwargs: Any) -> Any:
    """Build the policy registered under ``(kind, name)`` from keyword parameters.

    Parameters may be given as a mapping (``params``, as read from a scenario file), as
    keywords, or both (keywords win).

    Raises:
        UnknownPolicyError: unknown kind or name.
        PolicyParameterError: unknown or missing parameters (named, with the allowed ones), or
            a ``ValueError``/``TypeError`` from the policy's own validation.
    """
    factory = get(kind, name)
    merged: dict[str, Any] = {**(params or {}), **kwargs}
    sig = inspect.signature(factory)
    accepts_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in sig.parameters.values())
    allowed = parameters(kind, name)
    if not accepts_any:
        unknown = sorted(set(merged) - set(allowed))
        if unknown:
            raise PolicyParameterError(
                f"{kind} policy {name!r} has no parameter(s) {unknown}; allowed: {sorted(allowed)}"
            )
    missing = sorted(
        p.name
        for p in allowed.values()
        if p.default is inspect.Parameter.empty
        and p.kind is not inspect.Parameter.POSITIONAL_ONLY
        and p.name not in merged
    )
    if missing:
        raise PolicyParameterError(f"{kind} policy {name!r} is missing parameter(s) {missing}")
    try:
        return factory(**merged)
    except PolicyError:
        raise
    except (TypeError, ValueError) as exc:
        raise PolicyParameterError(f"{kind} policy {name!r}: {exc}") from exc
