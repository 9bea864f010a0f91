"""Search: weighted relevance, keyset paging, typo tolerance, synonyms, facets, availability
ranking, hybrid (keyword + vector) search and typed errors, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import ServerThread

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.schemas import (
    LocationCreate,
    LocationKind,
    ReceiptCreate,
    SearchQuery,
    SkuImportRow,
    StockLine,
)
from api.search import service, vectors
from api.services.context import Principal, ServiceContext

STAFF = Principal(role="staff", key_id=1)
CATALOG = [
    # sku, name, category, description, brand, price
    ("M1", "Organic oat milk", "dairy", "Creamy oat drink", "oatly", 249),
    ("M2", "Whole milk", "dairy", "Fresh whole cow milk", "farmco", 119),
    ("M3", "Chocolate milk", "dairy", "Milk with cocoa", "farmco", 159),
    ("M4", "Granola cereal", "breakfast", "Crunchy oats, great with milk", "crunch", 399),
    ("M5", "Dark chocolate bar", "sweets", "Seventy percent cocoa", "cocoa", 299),
    ("M6", "Lemon soda", "drinks", "Sparkling lemon drink", "fizz", 99),
    ("M7", "Cola soft drink", "drinks", "Classic cola", "fizz", 129),
    ("M8", "Running sneakers", "shoes", "Light running shoes", "swift", 8999),
    ("M9", "Leather boots", "shoes", "Waterproof boots", "swift", 12999),
    ("M10", "Milk frother", "kitchen", "Whisks milk into foam", "barista", 2499),
]


@pytest.fixture(scope="module")
def cat(engine: object) -> Iterator[ServiceContext]:
    from api_helpers import make_test_env

    env = make_test_env(engine)  # type: ignore[arg-type]
    staff = InProcessClient(env, STAFF)
    staff.import_skus(
        [
            SkuImportRow(
                sku=s,
                product="P" + s,
                name=name,
                category=c,
                description=d,
                attributes={"brand": b, "origin": "eu"},
                cost_cents=p // 2,
                list_price_cents=p,
            )
            for s, name, c, d, b, p in CATALOG
        ]
    )
    for code in ("STORE1", "STORE2"):
        staff.create_location(
            LocationCreate(code=code, kind=LocationKind.STORE, name=code, lat=52.0, lon=13.0)
        )
    staff.receive(
        ReceiptCreate(location="STORE1", lines=[StockLine(sku=s, quantity=5) for s in ["M2", "M3"]])
    )
    staff.receive(ReceiptCreate(location="STORE2", lines=[StockLine(sku="M10", quantity=1)]))
    yield env


def _skus(env: ServiceContext, **kw: object) -> list[str]:
    return [h.sku for h in InProcessClient(env, STAFF).search(SearchQuery(**kw)).items]  # type: ignore[arg-type]


def test_name_matches_outrank_description_matches(cat: ServiceContext) -> None:
    got = _skus(cat, q="milk")
    assert set(got) == {"M1", "M2", "M3", "M4", "M10"}
    assert set(got[:4]) == {"M1", "M2", "M3", "M10"}  # the name says milk
    assert got[-1] == "M4"  # only its description does


def test_all_words_must_match_and_stemming_applies(cat: ServiceContext) -> None:
    assert _skus(cat, q="chocolate milks") == ["M3"]
    assert _skus(cat, q="boot") == ["M9"]


def test_relevance_pages_by_keyset_without_gaps_or_repeats(cat: ServiceContext) -> None:
    client = InProcessClient(cat, STAFF)
    full = _skus(cat, q="milk", limit=50)
    seen: list[str] = []
    cursor = None
    while True:
        page = client.search(SearchQuery(q="milk", limit=2, cursor=cursor))
        seen += [h.sku for h in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == full


def test_misspelled_words_are_corrected_from_the_catalog_vocabulary(cat: ServiceContext) -> None:
    assert _skus(cat, q="choclate milk") == ["M3"]
    assert set(_skus(cat, q="mlik")) == set(_skus(cat, q="milk"))  # swapped letters
    assert _skus(cat, q="sneekers") == ["M8"]
    assert _skus(cat, q="choclate milk", expand=False) == []


def test_short_words_are_not_corrected(cat: ServiceContext) -> None:
    assert _skus(cat, q="bat") == []  # three letters: no edit tolerated


def test_synonyms_expand_a_word_and_a_phrase(cat: ServiceContext) -> None:
    assert set(_skus(cat, q="soda")) == {"M6", "M7"}  # M7 says "soft drink"
    assert "M6" in _skus(cat, q="soft drink")
    assert _skus(cat, q="trainers") == ["M8"]  # default group: sneakers / trainers
    assert _skus(cat, q="trainers", expand=False) == []


def test_staff_add_synonyms_and_customers_may_not(cat: ServiceContext) -> None:
    assert _skus(cat, q="footwear") == []
    with pytest.raises(CommerceError) as err:
        service.set_synonyms(cat, Principal(role="customer", customer_id="c1"), [["a", "b"]])
    assert err.value.status == 403
    assert service.set_synonyms(cat, STAFF, [["footwear", "boots"]]) == 2
    assert _skus(cat, q="footwear") == ["M9"]
    assert "boots" in service.list_synonyms(cat, STAFF)["footwear"]


def test_in_stock_filter_and_ranking_by_availability_at_the_shoppers_store(
    cat: ServiceContext,
) -> None:
    assert set(_skus(cat, q="milk", in_stock_at="STORE1")) == {"M2", "M3"}
    plain = _skus(cat, q="milk")
    ranked = _skus(cat, q="milk", rank_at="STORE2")
    assert sorted(plain) == sorted(ranked)
    assert ranked[0] == "M10"  # the only milk item STORE2 has
    assert set(_skus(cat, category="dairy", in_stock_at="STORE1")) == {"M2", "M3"}


def test_other_sorts_are_exhaustive_and_keyset_paged(cat: ServiceContext) -> None:
    client = InProcessClient(cat, STAFF)
    seen: list[int] = []
    cursor = None
    while True:
        page = client.search(SearchQuery(q="milk", sort="price_desc", limit=2, cursor=cursor))
        seen += [h.list_price_cents for h in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == [2499, 399, 249, 159, 119]


def test_facets_count_categories_brands_price_bands_and_stock(cat: ServiceContext) -> None:
    f = service.facets(cat, STAFF, SearchQuery(q="milk", in_stock_at=None, rank_at="STORE1"))
    assert f.total == 5 and f.exact
    assert {c.value: c.count for c in f.categories} == {"dairy": 3, "breakfast": 1, "kitchen": 1}
    assert {b.value: b.count for b in f.brands} == {
        "farmco": 2,
        "oatly": 1,
        "crunch": 1,
        "barista": 1,
    }
    assert {v.value: v.count for v in f.attributes["origin"]} == {"eu": 5}
    assert [(b.min_cents, b.max_cents, b.count) for b in f.price_bands] == [
        (0, 500, 4),
        (2000, 5000, 1),
    ]
    assert f.in_stock == 2
    typo = service.facets(cat, STAFF, SearchQuery(q="choclate soda"))
    assert typo.interpretation.corrections == {"choclate": "chocolate"}
    assert "soft drink" in typo.interpretation.synonyms["soda"]


def test_bad_parameters_are_typed_errors(cat: ServiceContext) -> None:
    client = InProcessClient(cat, STAFF)
    first = client.search(SearchQuery(q="milk", limit=1))
    assert first.next_cursor is not None
    with pytest.raises(CommerceError) as err:
        client.search(SearchQuery(q="milk", sort="price_asc", cursor=first.next_cursor))
    assert (err.value.status, err.value.details) == (
        422,
        {"field": "cursor", "value": first.next_cursor},
    )
    with pytest.raises(CommerceError) as err:
        client.search(SearchQuery(q="milk", rank_at="NOWHERE"))
    assert (err.value.status, err.value.details) == (404, {"location": "NOWHERE"})


def test_http_rejects_unknown_modes_and_serves_facets(cat: ServiceContext) -> None:
    with ServerThread(cat) as srv:
        http = srv.client("staff")
        raw = http._http  # type: ignore[attr-defined]
        bad = raw.get("/v1/search", params={"q": "milk", "mode": "psychic"})
        assert bad.status_code == 422
        assert bad.json()["code"] == "VALIDATION_ERROR"
        ok = raw.get("/v1/search/facets", params={"q": "milk"})
        assert ok.status_code == 200 and ok.json()["total"] == 5


def test_hybrid_search_fuses_keyword_and_vector_ranks(
    cat: ServiceContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPSPHERE_SEARCH_EMBEDDER", "hashing")
    first = vectors.refresh(cat, STAFF)
    assert (first.model, first.embedded, first.unchanged) == ("hashing-v1", 10, 0)
    again = vectors.refresh(cat, STAFF)
    assert (again.embedded, again.unchanged) == (0, 10)
    hybrid = _skus(cat, q="milk", mode="hybrid")
    assert set(_skus(cat, q="milk")) <= set(hybrid)
    semantic = _skus(cat, q="chocolate", mode="semantic", limit=3)
    assert semantic[0] in {"M3", "M5"}
    client = InProcessClient(cat, STAFF)
    seen: list[str] = []
    cursor = None
    while True:
        page = client.search(SearchQuery(q="milk", mode="hybrid", limit=3, cursor=cursor))
        seen += [h.sku for h in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == _skus(cat, q="milk", mode="hybrid", limit=500)
    assert set(_skus(cat, q="milk", mode="hybrid", category="dairy")) <= {"M1", "M2", "M3"}
