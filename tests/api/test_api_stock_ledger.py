"""Stock ledger behaviour: receipts, transfers, adjustments, POS batches, reconciliation."""

from __future__ import annotations

import pytest
from api_helpers import seed
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.schemas import (
    AdjustmentCreate,
    Channel,
    LocationCreate,
    LocationKind,
    PosSale,
    PosSaleBatch,
    PriceSet,
    ReceiptCreate,
    StockLine,
    StockQuery,
    TransferCreate,
)
from api.services.stock import ledger_mismatches


def _levels(client: InProcessClient, skus: list[str]) -> dict[tuple[str, str], tuple[int, int]]:
    return {
        (s.sku, s.location): (s.on_hand, s.reserved)
        for s in client.stock_levels(StockQuery(skus=skus))
    }


def test_receipt_transfer_adjust_keep_ledger_equal_to_counters(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=2, stock=10)
    store = f"{s.prefix}-ST"
    staff.create_location(
        LocationCreate(code=store, kind=LocationKind.STORE, name="Store", lat=1.0, lon=2.0)
    )
    moves = staff.transfer(
        TransferCreate(
            from_location=s.location,
            to_location=store,
            lines=[StockLine(sku=s.skus[0], quantity=4)],
            reference="T1",
        )
    )
    assert [(m.kind.value, m.location, m.quantity) for m in moves] == [
        ("transfer_out", s.location, -4),
        ("transfer_in", store, 4),
    ]
    staff.adjust(AdjustmentCreate(location=store, sku=s.skus[0], delta=-1, reason="broken"))
    assert _levels(staff, s.skus) == {
        (s.skus[0], s.location): (6, 0),
        (s.skus[0], store): (3, 0),
        (s.skus[1], s.location): (10, 0),
    }
    with staff.ctx.engine.connect() as conn:
        assert ledger_mismatches(conn) == []


def test_transfer_short_on_one_line_changes_nothing(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=2, stock=5)
    store = f"{s.prefix}-ST"
    staff.create_location(
        LocationCreate(code=store, kind=LocationKind.STORE, name="Store", lat=1.0, lon=2.0)
    )
    with pytest.raises(CommerceError) as err:
        staff.transfer(
            TransferCreate(
                from_location=s.location,
                to_location=store,
                lines=[StockLine(sku=s.skus[0], quantity=2), StockLine(sku=s.skus[1], quantity=6)],
            )
        )
    assert err.value.code == "INSUFFICIENT_STOCK" and err.value.status == 409
    assert err.value.details == [
        {"sku": s.skus[1], "code": "INSUFFICIENT_STOCK", "requested": 6, "available": 5}
    ]
    assert _levels(staff, s.skus) == {
        (s.skus[0], s.location): (5, 0),
        (s.skus[1], s.location): (5, 0),
    }


def test_adjustment_cannot_take_on_hand_below_zero(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=3)
    with pytest.raises(CommerceError) as err:
        staff.adjust(AdjustmentCreate(location=s.location, sku=s.skus[0], delta=-4, reason="count"))
    assert err.value.code == "INSUFFICIENT_STOCK"
    assert _levels(staff, s.skus) == {(s.skus[0], s.location): (3, 0)}


def test_pos_batch_accepts_what_is_available_and_prices_at_store_price(
    staff: InProcessClient,
) -> None:
    s = seed(staff, n_skus=3, stock=5, price_cents=1000)
    staff.set_prices([PriceSet(sku=s.skus[0], channel=Channel.STORE, price_cents=777)])
    res = staff.pos_sales(
        PosSaleBatch(
            location=s.location,
            sales=[
                PosSale(sku=s.skus[0], quantity=2),
                PosSale(sku=s.skus[0], quantity=1),
                PosSale(sku=s.skus[1], quantity=6),
                PosSale(sku=s.skus[2], quantity=1, unit_price_cents=50),
                PosSale(sku="no-such-sku", quantity=1),
            ],
        )
    )
    assert [(a.sku, a.quantity) for a in res.accepted] == [(s.skus[0], 3), (s.skus[2], 1)]
    assert sorted((r.sku, r.code, r.requested, r.available) for r in res.rejected) == sorted(
        [(s.skus[1], "INSUFFICIENT_STOCK", 6, 5), ("no-such-sku", "UNKNOWN_SKU", 1, 0)]
    )
    assert res.revenue_cents == 3 * 777 + 50
    assert _levels(staff, s.skus)[(s.skus[0], s.location)] == (2, 0)
    with staff.ctx.engine.connect() as conn:
        assert ledger_mismatches(conn) == []


def test_database_check_forbids_available_below_zero(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=2)
    with pytest.raises(IntegrityError), staff.ctx.engine.begin() as conn:
        conn.execute(
            text(
                "UPDATE stock SET reserved = on_hand + 1 WHERE location_id = "
                "(SELECT id FROM locations WHERE code = :loc)"
            ),
            {"loc": s.location},
        )


def test_movements_page_through_the_ledger_in_order(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=1)
    for _ in range(4):
        staff.receive(
            ReceiptCreate(location=s.location, lines=[StockLine(sku=s.skus[0], quantity=1)])
        )
    seen, cursor = [], None
    while True:
        page = staff.movements(sku=s.skus[0], limit=2, cursor=cursor)
        seen += [m.id for m in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert len(seen) == 5 and seen == sorted(seen)
    assert sum(m.quantity for m in staff.movements(sku=s.skus[0]).items) == 5


def test_bad_cursor_is_a_validation_error(staff: InProcessClient) -> None:
    with pytest.raises(CommerceError) as err:
        staff.movements(cursor="!!not-a-cursor")
    assert (err.value.code, err.value.status) == ("VALIDATION_ERROR", 422)
