"""The twin's event log: one row per domain event, stored column-wise.

Events are appended on the hot path (one per sale line, lost unit, receipt, shipment...), so
the log keeps compact typed arrays (``array('d')``/``array('q')``) instead of Python objects,
and interns the strings (kinds, locations, SKUs) into integer codes. Time is simulated days
since the start of the run (1 time unit = 1 day).

The log's SHA-256 (:meth:`EventLog.digest`) covers every column in order, so two runs of the
same scenario and seed must give the same digest.
"""

from __future__ import annotations

import hashlib
from array import array
from enum import IntEnum
from pathlib import Path

import numpy as np


class EventKind(IntEnum):
    """What happened. Quantities are units; ``value_cents`` is money where it applies."""

    SALE = 1  # units sold to a customer (store POS line or online order line)
    LOST = 2  # units of demand not served (out of stock, no substitute taken)
    SUBSTITUTION = 3  # units sold in place of an out-of-stock SKU (sku = the substitute)
    ONLINE_ORDER = 4  # an online order placed (quantity = units, value = total)
    DELIVERY = 5  # an online order delivered (value = cycle time in minutes)
    PURCHASE_ORDER = 6  # supplier -> warehouse order placed
    RECEIPT = 7  # units received at a location from a supplier
    DISPATCH = 8  # warehouse -> store shipment left (transfer into transit)
    TRANSFER_ARRIVAL = 9  # warehouse -> store shipment arrived
    WRITE_OFF = 10  # perished units written off
    PRICE_CHANGE = 11  # a price set through the API (value = new price)
    POS_REJECTED = 12  # POS units the API refused (should never happen; counted)
    CHECKOUT_FAILED = 13  # an online checkout the API refused (units in quantity)
    RETURN = 14  # units returned by a customer and restocked


class EventLog:
    """Append-only, column-wise log of twin events."""

    def __init__(self) -> None:
        self.t = array("d")
        self.kind = array("q")
        self.location = array("q")
        self.sku = array("q")
        self.quantity = array("q")
        self.value_cents = array("q")
        self.ref = array("q")
        self.locations: list[str] = []
        self.skus: list[str] = []

    def set_names(self, locations: list[str], skus: list[str]) -> None:
        """Names for the integer location and SKU codes used in :meth:`add`."""
        self.locations = list(locations)
        self.skus = list(skus)

    def __len__(self) -> int:
        return len(self.t)

    def add(
        self,
        t: float,
        kind: EventKind,
        location: int,
        sku: int,
        quantity: int,
        value_cents: int = 0,
        ref: int = -1,
    ) -> None:
        """Append one event (``sku = -1`` when the event is not about one SKU)."""
        self.t.append(t)
        self.kind.append(kind)
        self.location.append(location)
        self.sku.append(sku)
        self.quantity.append(quantity)
        self.value_cents.append(value_cents)
        self.ref.append(ref)

    def arrays(self) -> dict[str, np.ndarray]:
        """The columns as NumPy arrays (no copy of the underlying buffers)."""
        return {
            "t": np.frombuffer(self.t, dtype=np.float64) if len(self.t) else np.zeros(0),
            "kind": np.frombuffer(self.kind, dtype=np.int64)
            if len(self.t)
            else np.zeros(0, np.int64),
            "location": np.frombuffer(self.location, dtype=np.int64)
            if len(self.t)
            else np.zeros(0, np.int64),
            "sku": np.frombuffer(self.sku, dtype=np.int64)
            if len(self.t)
            else np.zeros(0, np.int64),
            "quantity": np.frombuffer(self.quantity, dtype=np.int64)
            if len(self.t)
            else np.zeros(0, np.int64),
            "value_cents": np.frombuffer(self.value_cents, dtype=np.int64)
            if len(self.t)
            else np.zeros(0, np.int64),
            "ref": np.frombuffer(self.ref, dtype=np.int64)
            if len(self.t)
            else np.zeros(0, np.int64),
        }

    def digest(self) -> str:
        """SHA-256 over all columns and the name tables, in order."""
        h = hashlib.sha256()
        for col in (
            self.t,
            self.kind,
            self.location,
            self.sku,
            self.quantity,
            self.value_cents,
            self.ref,
        ):
            h.update(col.tobytes())
        h.update("\x1f".join(self.locations).encode())
        h.update("\x1e".join(self.skus).encode())
        return h.hexdigest()

    def count(self, kind: EventKind) -> int:
        return int(np.count_nonzero(self.arrays()["kind"] == int(kind)))

    def to_parquet(self, path: Path) -> None:
        """Write the log with readable kind/location/SKU names (dictionary-encoded)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        cols = self.arrays()
        kind_names = {int(k): k.name.lower() for k in EventKind}
        kinds = pa.DictionaryArray.from_arrays(
            pa.array(cols["kind"].astype(np.int32)),
            pa.array([kind_names.get(i, "") for i in range(max(kind_names) + 1)]),
        )
        loc_names = pa.array([*self.locations, ""])  # -1 maps to the last entry ("")
        sku_names = pa.array([*self.skus, ""])
        loc_idx = np.where(cols["location"] < 0, len(self.locations), cols["location"])
        sku_idx = np.where(cols["sku"] < 0, len(self.skus), cols["sku"])
        table = pa.table(
            {
                "t_days": cols["t"],
                "kind": kinds,
                "location": pa.DictionaryArray.from_arrays(
                    pa.array(loc_idx.astype(np.int32)), loc_names
                ),
                "sku": pa.DictionaryArray.from_arrays(
                    pa.array(sku_idx.astype(np.int32)), sku_names
                ),
                "quantity": cols["quantity"],
                "value_cents": cols["value_cents"],
                "ref": cols["ref"],
            }
        )
        pq.write_table(table, path)
