"""ShopSphere policies: forecasting, replenishment, pricing, exact solvers, RL artifacts.

Importing this package is cheap (standard library only): subpackages load on first use, and
production code that needs only :mod:`policies.registry` or :mod:`policies.artifacts` never
pulls in torch, gymnasium or the twin.

``policies.evaluate(policy, instance, periods, seed)`` estimates a replenishment policy's
long-run average cost by simulation (see :func:`policies.evaluate.evaluate`). The name is also
that of the module :mod:`policies.evaluate`; the module object is made callable, so both
``policies.evaluate(...)`` and ``from policies.evaluate import evaluate`` work, in either order.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

__all__ = ["evaluate"]


class _CallableModule(types.ModuleType):
    """The :mod:`policies.evaluate` module, callable as its ``evaluate`` function."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.evaluate(*args, **kwargs)


class _Package(types.ModuleType):
    """This package's module type: makes the ``evaluate`` submodule callable when it is bound."""

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            name == "evaluate"
            and isinstance(value, types.ModuleType)
            and not isinstance(value, _CallableModule)
        ):
            value.__class__ = _CallableModule
        super().__setattr__(name, value)


def __getattr__(name: str) -> Any:
    # Lazy: policies.evaluate imports the twin's inventory kernel, which production never needs.
    if name == "evaluate":
        return importlib.import_module("policies.evaluate")
    raise AttributeError(f"module 'policies' has no attribute {name!r}")


sys.modules[__name__].__class__ = _Package
_bound = sys.modules.get(f"{__name__}.evaluate")
if _bound is not None:  # imported before this package finished initialising (unusual)
    setattr(sys.modules[__name__], "evaluate", _bound)  # noqa: B010 (goes through _Package)
