"""Narrow interfaces between the twin's collaborators (structural types, no behaviour).

A collaborator names the few things it needs from the others here instead of taking the
whole :class:`~twin.engine.Twin`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
import simpy

from api.client.base import CommerceClient
from twin.events import EventLog
from twin.kpis import KpiBook
from twin.world import World

if TYPE_CHECKING:
    from twin.fleet import PendingOrder

__all__ = ["FleetHost", "OrderSink", "ShippableOrder"]


class ShippableOrder(Protocol):
    """An online order the twin can ship: its API id and its units per SKU index."""

    @property
    def order_id(self) -> int: ...

    @property
    def lines(self) -> dict[int, int]: ...


class OrderSink(Protocol):
    """Where a placed online order waits for delivery (the fleet)."""

    def enqueue(self, wh: int, order: PendingOrder) -> None: ...


class FleetHost(Protocol):
    """What the delivery fleet (:mod:`twin.fleet`) uses of the twin."""

    env: simpy.Environment
    days: int
    world: World
    client: CommerceClient
    kpis: KpiBook
    events: EventLog
    delivery_failures: int

    def ship_order(self, row: int, o: ShippableOrder) -> None: ...

    def ship_from(self, row: int, origin: int, lines: dict[int, int]) -> None: ...

    def free(self, row: int) -> np.ndarray: ...

    def book_return(self, row: int, sku: int, restocked: int, written_off: int) -> None: ...
