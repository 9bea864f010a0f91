"""Catalog: bulk import, lookup, full-text search with filters, sorting and cursor paging."""

from __future__ import annotations

import uuid

import pytest
from api_helpers import seed

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.schemas import CategoryCreate, SearchQuery, SkuImportRow, SkuRead


def _rows(p: str) -> list[SkuImportRow]:
    spec = [
        ("Red cotton shirt", "shirts", 2500),
        ("Blue denim jeans", "pants", 4500),
        ("Green wool shirt", "shirts", 3900),
        ("Running shoes", "shoes", 8900),
        ("Shirt hanger", "home", 300),
    ]
    return [
        SkuImportRow(
            sku=f"{p}-{i}",
            product=f"{p}-p{i}",
            name=name,
            category=f"{p}-{cat}",
            description=f"{name} from {p}",
            attributes={"brand": "acme"},
            cost_cents=price // 2,
            list_price_cents=price,
        )
        for i, (name, cat, price) in enumerate(spec)
    ]


def test_import_creates_then_updates_and_round_trips_attributes(staff: InProcessClient) -> None:
    p = uuid.uuid4().hex[:8]
    rows = _rows(p)
    assert staff.import_skus(rows).model_dump() == {"created": 5, "updated": 0}
    changed = [rows[0].model_copy(update={"list_price_cents": 2600}), rows[1]]
    assert staff.import_skus(changed).model_dump() == {"created": 0, "updated": 2}
    got = staff.get_sku(f"{p}-0")
    assert got == SkuRead(
        sku=f"{p}-0",
        product=f"{p}-p0",
        name="Red cotton shirt",
        category=f"{p}-shirts",
        description=f"Red cotton shirt from {p}",
        attributes={"brand": "acme"},
        cost_cents=1250,
        list_price_cents=2600,
    )


def test_unknown_sku_is_not_found(staff: InProcessClient) -> None:
    with pytest.raises(CommerceError) as err:
        staff.get_sku("does-not-exist")
    assert (err.value.code, err.value.status, err.value.details) == (
        "NOT_FOUND",
        404,
        {"sku": "does-not-exist"},
    )


def test_full_text_search_stems_and_filters(staff: InProcessClient) -> None:
    p = uuid.uuid4().hex[:8]
    staff.import_skus(_rows(p))
    hits = staff.search(SearchQuery(q=f"shirts {p}", limit=50)).items
    assert sorted(h.sku for h in hits) == [f"{p}-0", f"{p}-2", f"{p}-4"]
    in_cat = staff.search(
        SearchQuery(q=f"shirt {p}", category=f"{p}-shirts", sort="price_desc")
    ).items
    assert [h.sku for h in in_cat] == [f"{p}-2", f"{p}-0"]
    cheap = staff.search(SearchQuery(q=p, max_price_cents=3000, sort="price_asc")).items
    assert [h.sku for h in cheap] == [f"{p}-4", f"{p}-0"]
    assert (
        staff.search(SearchQuery(q='"(( AND OR')).items
        == staff.search(SearchQuery(q=f"zzz{p}")).items
        == []
    )


def test_cursor_pages_cover_every_match_once_in_order(staff: InProcessClient) -> None:
    p = uuid.uuid4().hex[:8]
    staff.import_skus(_rows(p))
    for sort in ("price_asc", "price_desc", "name", "relevance"):
        seen, cursor = [], None
        while True:
            page = staff.search(SearchQuery(q=p, sort=sort, limit=2, cursor=cursor))
            seen += [h.sku for h in page.items]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        full = [h.sku for h in staff.search(SearchQuery(q=p, sort=sort, limit=50)).items]
        assert seen == full and len(seen) == 5, sort
    prices = [h.list_price_cents for h in staff.search(SearchQuery(q=p, sort="price_asc")).items]
    assert prices == sorted(prices)


def test_in_stock_filter_uses_available_stock(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=2, stock=0)
    from api.schemas import ReceiptCreate, StockLine

    staff.receive(ReceiptCreate(location=s.location, lines=[StockLine(sku=s.skus[1], quantity=1)]))
    hits = staff.search(SearchQuery(q=s.prefix, in_stock_at=s.location)).items
    assert [h.sku for h in hits] == [s.skus[1]]


def test_category_tree_and_duplicates(staff: InProcessClient) -> None:
    p = uuid.uuid4().hex[:8]
    staff.create_category(CategoryCreate(code=f"{p}-root", name="Root"))
    child = staff.create_category(
        CategoryCreate(code=f"{p}-kid", name="Kid", parent_code=f"{p}-root")
    )
    assert child.parent_code == f"{p}-root"
    with pytest.raises(CommerceError) as dup:
        staff.create_category(CategoryCreate(code=f"{p}-root", name="Again"))
    assert dup.value.code == "CONFLICT"
    with pytest.raises(CommerceError) as orphan:
        staff.create_category(CategoryCreate(code=f"{p}-x", name="X", parent_code=f"{p}-none"))
    assert orphan.value.code == "NOT_FOUND"


@pytest.mark.slow
def test_bulk_import_of_100k_skus_in_one_call(staff: InProcessClient) -> None:
    p = uuid.uuid4().hex[:6]
    rows = [
        SkuImportRow(
            sku=f"{p}{i}",
            product=f"{p}p{i // 4}",
            name=f"Cotton tee {i}",
            category=f"{p}c{i % 40}",
            cost_cents=100,
            list_price_cents=200 + i % 500,
        )
        for i in range(100_000)
    ]
    assert staff.import_skus(rows).model_dump() == {"created": 100_000, "updated": 0}
    assert staff.get_sku(f"{p}99999").category == f"{p}c39"
    assert staff.search(SearchQuery(category=f"{p}c7", limit=500)).next_cursor is not None
