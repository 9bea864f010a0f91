"""Replenishment policies (the inventory agent), vectorised over SKU-locations.

``policy.decide(ReplenishmentObservation) -> ReplenishmentDecision``; build policies by name
with :func:`policies.registry.create` (``create("replenishment", "capped_base_stock",
base_stock=20, cap=7)``). Importing this package registers the built-ins:

============================  ==============================================================
``base_stock``                order up to ``base_stock``
``capped_base_stock``         order up to ``base_stock``, at most ``cap`` per period
``s_S``                       when IP <= ``s`` order up to ``S``
``R_s_S``                     (s, S) reviewed every ``R`` periods
``forecast_order_up_to``      forecast over L + R plus safety stock ``z * sigma * sqrt(L+R)``
``newsvendor``                critical-fractile quantile of demand (perishables)
``echelon_base_stock``        echelon base-stock for warehouse-to-store networks
============================  ==============================================================
"""

from policies.replenishment.classic import SS, BaseStock, CappedBaseStock, PeriodicSS
from policies.replenishment.forecast import EchelonBaseStock, ForecastOrderUpTo, Newsvendor
from policies.replenishment.types import (
    ObservationError,
    ReplenishmentDecision,
    ReplenishmentObservation,
    ReplenishmentPolicy,
)

__all__ = [
    "SS",
    "BaseStock",
    "CappedBaseStock",
    "EchelonBaseStock",
    "ForecastOrderUpTo",
    "Newsvendor",
    "ObservationError",
    "PeriodicSS",
    "ReplenishmentDecision",
    "ReplenishmentObservation",
    "ReplenishmentPolicy",
]
