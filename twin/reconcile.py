"""Checks that the twin's view of stock equals the commerce API's ledger after a run.

Two checks, both exact (integers):

* :func:`reconcile_stock` compares the twin's final on-hand and reserved units with
  ``stock_levels`` for every (SKU, location) the twin knows (one API call).
* :func:`check_conservation` pages through the API's ``movements`` and verifies, for every
  (SKU, location), ``initial + receipts + transfers in + returns = final + sales + transfers
  out + write-offs``, both in the twin's own flow counters and in the ledger, and that the two
  agree flow by flow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from api.client.base import CommerceClient
from api.schemas import MovementKind, StockQuery
from twin.engine import TwinResult
from twin.world import INITIAL_RECEIPT_REF

FLOWS = ("initial", "receipt", "transfer_in", "return", "sale", "transfer_out", "write_off")


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Result of a check: how many (SKU, location) pairs were checked and which disagreed."""

    checked: int
    mismatches: int
    examples: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.mismatches == 0


def reconcile_stock(result: TwinResult, client: CommerceClient) -> Reconciliation:
    """Twin's final on-hand/reserved vs the API's ``stock_levels`` for every SKU-location."""
    w = result.world
    loc_index = {c: i for i, c in enumerate(w.location_codes)}
    api_oh = np.zeros_like(result.final_on_hand)
    api_res = np.zeros_like(result.final_reserved)
    for lvl in client.stock_levels(StockQuery(locations=list(w.location_codes))):
        if lvl.location in loc_index:
            i, j = loc_index[lvl.location], w.skus.index_of(lvl.sku)
            api_oh[i, j] = lvl.on_hand
            api_res[i, j] = lvl.reserved
    bad = (api_oh != result.final_on_hand) | (api_res != result.final_reserved)
    examples = [
        f"{w.location_codes[i]}/{w.skus.codes[j]}: twin {result.final_on_hand[i, j]}"
        f"({result.final_reserved[i, j]} reserved), API {api_oh[i, j]}({api_res[i, j]} reserved)"
        for i, j in zip(*np.nonzero(bad), strict=True)
    ][:10]
    return Reconciliation(checked=int(bad.size), mismatches=int(bad.sum()), examples=examples)


def ledger_flows(
    result: TwinResult, client: CommerceClient, page: int = 5000
) -> dict[str, np.ndarray]:
    """The API ledger's movements summed per flow kind, ``(n_locations, n_skus)`` each."""
    w = result.world
    loc_index = {c: i for i, c in enumerate(w.location_codes)}
    flows = {k: np.zeros_like(result.final_on_hand) for k in FLOWS}
    kind_to_flow = {
        MovementKind.SALE: "sale",
        MovementKind.TRANSFER_IN: "transfer_in",
        MovementKind.TRANSFER_OUT: "transfer_out",
        MovementKind.RETURN: "return",
    }
    for loc in w.location_codes:
        cursor: str | None = None
        while True:
            pg = client.movements(location=loc, cursor=cursor, limit=page)
            for m in pg.items:
                i, j = loc_index[m.location], w.skus.index_of(m.sku)
                if m.kind == MovementKind.RECEIPT:
                    flows["initial" if m.reference == INITIAL_RECEIPT_REF else "receipt"][i, j] += (
                        m.quantity
                    )
                elif m.kind == MovementKind.ADJUSTMENT:
                    flows["write_off"][i, j] -= m.quantity
                else:
                    flows[kind_to_flow[m.kind]][i, j] += abs(m.quantity)
            cursor = pg.next_cursor
            if not cursor:
                break
    return flows


def balance(flows: dict[str, np.ndarray], final: np.ndarray) -> np.ndarray:
    """``initial + receipts + transfers in + returns``
    ``- (final + sales + transfers out + write-offs)``."""
    out: np.ndarray = (
        flows["initial"]
        + flows["receipt"]
        + flows["transfer_in"]
        + flows["return"]
        - final
        - flows["sale"]
        - flows["transfer_out"]
        - flows["write_off"]
    )
    return out


def check_conservation(result: TwinResult, client: CommerceClient) -> Reconciliation:
    """Conservation per (SKU, location) in the twin and in the ledger, and twin == ledger."""
    twin_flows = {"initial": result.initial_on_hand, **result.flows}
    ledger = ledger_flows(result, client)
    bad = balance(twin_flows, result.final_on_hand) != 0
    bad |= balance(ledger, result.final_on_hand) != 0
    for k in FLOWS:
        bad |= twin_flows[k] != ledger[k]
    w = result.world
    examples = [
        f"{w.location_codes[i]}/{w.skus.codes[j]}: "
        + ", ".join(f"{k} twin {twin_flows[k][i, j]} ledger {ledger[k][i, j]}" for k in FLOWS)
        for i, j in zip(*np.nonzero(bad), strict=True)
    ][:10]
    return Reconciliation(checked=int(bad.size), mismatches=int(bad.sum()), examples=examples)
