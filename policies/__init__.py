"""ShopSphere policies: forecasting, replenishment, pricing, exact solvers, RL artifacts.

Importing this package is cheap (standard library only): import the subpackage you need.
Production code that needs only :mod:`policies.registry` or :mod:`policies.artifacts` never
pulls in torch or gymnasium.

Simulated evaluation of a replenishment policy is :func:`policies.evaluate.evaluate`
(``from policies.evaluate import evaluate``); confidence intervals come from
:mod:`policies.stats`; base-stock levels and searches from
:mod:`policies.replenishment.base_stock`; building and validating a policy by name from
:mod:`policies.registry`.
"""

from __future__ import annotations

__all__: list[str] = []
