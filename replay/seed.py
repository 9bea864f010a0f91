"""Seeding: create the catalog and stock a synthetic trace needs on an empty server.

The catalog is the trace header's ``meta.catalog`` (:meth:`FlashSaleSpec.catalog`): one
location, one category, SKUs with list price and stock. Seeding goes through
:class:`api.client.http.HttpClient` with the staff key and is safe to repeat: an existing location
is kept, and the stock receipt carries a fixed ``Idempotency-Key``, so a second seeding does not
add stock twice.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from api.client.base import CommerceError
from api.client.http import HttpClient
from api.schemas import LocationCreate, LocationKind, ReceiptCreate, SkuImportRow, StockLine
from replay.errors import ReplayError

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class SeedResult:
    """What seeding created: SKUs imported and the initial stock per SKU (units)."""

    location: str
    skus: int
    initial_stock: dict[str, int]


def _retrying(fn: Callable[[], R], attempts: int = 8) -> R:
    """Call ``fn``, waiting out 429 (rate limited) and 503 (unavailable) answers."""
    for i in range(attempts):
        wait = min(0.2 * 2**i, 5.0)
        try:
            return fn()
        except CommerceError as exc:
            if exc.status not in (429, 503) or i == attempts - 1:
                raise
            wait = max(wait, float(getattr(exc, "retry_after_s", None) or 0.0))
        except Exception as exc:  # an older client raises httpx's HTTPStatusError on 5xx
            if "503" not in str(exc) or i == attempts - 1:
                raise
        time.sleep(wait)
    raise AssertionError("unreachable")


def seed_catalog(client: HttpClient, catalog: dict[str, Any]) -> SeedResult:
    """Create ``catalog`` (location, SKUs, stock) through ``client`` (a staff key).

    Raises:
        ReplayError: a catalog without location or SKUs, or an answer other than success
            or "already exists".
    """
    try:
        location = str(catalog["location"])
        category = str(catalog["category"])
        skus = list(catalog["skus"])
    except (KeyError, TypeError):
        raise ReplayError(
            "the trace has no meta.catalog to seed (a synthetic trace has one)"
        ) from None
    rows = [
        SkuImportRow(
            sku=s["sku"],
            product=s["sku"],
            name=f"item {s['sku']}",
            category=category,
            cost_cents=int(s["price_cents"]) // 2,
            list_price_cents=int(s["price_cents"]),
        )
        for s in skus
    ]
    try:
        _retrying(lambda: client.import_skus(rows))
        try:
            _retrying(
                lambda: client.create_location(
                    LocationCreate(
                        code=location,
                        kind=LocationKind.WAREHOUSE,
                        name=location,
                        lat=52.5,
                        lon=13.4,
                    )
                )
            )
        except CommerceError as exc:
            if exc.status != 409:
                raise
        lines = [StockLine(sku=s["sku"], quantity=int(s["stock"])) for s in skus if s["stock"] > 0]
        if lines:
            _retrying(
                lambda: client.receive(
                    ReceiptCreate(location=location, lines=lines, reference="replay-seed"),
                    idempotency_key=f"replay-seed:{location}",
                )
            )
    except CommerceError as exc:
        raise ReplayError(f"seeding failed: {exc.code}: {exc.message}") from None
    return SeedResult(location, len(rows), {s["sku"]: int(s["stock"]) for s in skus})
