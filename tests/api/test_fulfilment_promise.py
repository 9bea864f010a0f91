"""POST /v1/promise: earliest delivery per carrier from the locations holding the stock."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from api_helpers import PEPPER, ServerThread, seed

from api.client.inprocess import InProcessClient
from api.schemas import LocationCreate, LocationKind, ReceiptCreate, StockLine
from api.services.auth import create_api_key


def test_promise_offers_carriers_from_where_the_stock_is(
    staff: InProcessClient, server: ServerThread
) -> None:
    s = seed(staff, n_skus=2, stock=5)  # a warehouse at (52.5, 13.4) holding 5 of each
    store = f"{s.prefix}-ST"
    staff.create_location(
        LocationCreate(code=store, kind=LocationKind.STORE, name="Store", lat=52.52, lon=13.41)
    )
    staff.receive(ReceiptCreate(location=store, lines=[StockLine(sku=s.skus[0], quantity=1)]))
    url = f"{server.url}/v1/promise"
    token = create_api_key(server.env.engine, server.env.clock, PEPPER, "service", None)
    headers = {"X-API-Key": token}
    at = datetime(2026, 6, 2, 7, 0, tzinfo=UTC).isoformat()
    body = {"lines": [{"sku": s.skus[0], "quantity": 1}], "lat": 52.53, "lon": 13.45, "at": at}
    r = httpx.post(url, json=body, headers=headers, timeout=30)
    assert r.status_code == 200, r.text
    opts = {o["mode"]: o for o in r.json()["options"]}
    assert opts["own_fleet"]["origin"] == s.location
    assert opts["own_fleet"]["deliver_from"].startswith("2026-06-02T10:00")
    assert opts["click_and_collect"]["origin"] == store
    assert "drone" in opts  # one unit, ~3 km
    starts = [o["deliver_from"] for o in r.json()["options"]]
    assert starts == sorted(starts)

    both = {**body, "lines": [{"sku": k, "quantity": 2} for k in s.skus]}
    r2 = httpx.post(url, json=both, headers=headers, timeout=30).json()
    assert {o["origin"] for o in r2["options"]} == {s.location}  # the store lacks the lines

    none = {**body, "lines": [{"sku": s.skus[0], "quantity": 50}]}
    assert httpx.post(url, json=none, headers=headers, timeout=30).json()["options"] == []

    bad = httpx.post(url, json={**body, "lines": [{"sku": "NOPE", "quantity": 1}]},
                     headers=headers, timeout=30)  # fmt: skip
    assert bad.status_code == 404 and "NOPE" in bad.text
    assert httpx.post(url, json={**body, "lat": 95}, headers=headers, timeout=30).status_code == 422
