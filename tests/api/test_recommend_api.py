"""Recommendations through the service and over HTTP (SQLite and PostgreSQL)."""

from __future__ import annotations

from api_helpers import ServerThread, seed

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.schemas import Channel, CheckoutLine, CheckoutRequest
from api.schemas_promo import ViewBatch, ViewEvent
from api.services import recommend
from api.services.context import Principal, ServiceContext

STAFF = Principal(role="staff", key_id=1)


def _buy(client: InProcessClient, customer: str, location: str, skus: list[str]) -> None:
    shopper = client.as_principal("customer", customer)
    shopper.checkout(
        CheckoutRequest(
            lines=[CheckoutLine(sku=s, quantity=1) for s in skus],
            location=location,
            channel=Channel.WEB,
        )
    )


def test_without_a_trained_model_nothing_is_recommended(env: ServiceContext) -> None:
    got = recommend.recommendations(env, STAFF, customer="nobody", k=5)
    assert got.items == [] or got.model_id is not None


def test_co_purchase_also_viewed_and_factors_are_served_after_training(
    env: ServiceContext, staff: InProcessClient, server: ServerThread
) -> None:
    s = seed(staff, n_skus=5, stock=100)
    a, b, c, d, e = s.skus
    for i in range(4):
        _buy(staff, f"r-{i}", s.location, [a, b])
    _buy(staff, "r-9", s.location, [a, c])
    _buy(staff, "r-8", s.location, [d])
    viewer = Principal(role="customer", key_id=3, customer_id="r-7")
    recommend.record_views(env, viewer, ViewBatch(views=[ViewEvent(sku=a), ViewEvent(sku=e)]))
    res = recommend.train_recommendations(env, STAFF)
    assert res.orders >= 6 and res.views >= 2
    got = recommend.recommendations(env, STAFF, sku=a, k=3)
    assert got.model_id == res.model_id
    # cosine: a-b 4/sqrt(5*4) = 0.894; views a-e 0.5 * 1/sqrt(1*1) = 0.5; a-c 1/sqrt(5*1) = 0.447
    assert [(it.sku, it.source, round(it.score, 3)) for it in got.items[:3]] == [
        (b, "co_purchase", 0.894),
        (e, "also_viewed", 0.5),
        (c, "co_purchase", 0.447),
    ]
    # a customer's own history is left out of its factor recommendations
    mine = recommend.recommendations(env, STAFF, customer="r-0", k=5)
    assert a not in [it.sku for it in mine.items] and b not in [it.sku for it in mine.items]
    with server.client("customer", "r-0") as shopper, server.client("staff") as boss:
        r = shopper._http.get("/v1/recommendations", params={"sku": a, "k": 2})  # type: ignore[attr-defined]
        assert r.status_code == 200 and [i["sku"] for i in r.json()["items"]] == [e, c]
        r = shopper._http.get("/v1/recommendations", params={"customer": "r-1"})  # type: ignore[attr-defined]
        assert r.status_code == 403
        r = shopper._http.get("/v1/recommendations", params={"k": 0})  # type: ignore[attr-defined]
        assert r.status_code == 422
        r = shopper._http.post("/v1/recommendations/train")  # type: ignore[attr-defined]
        assert r.status_code == 403
        r = shopper._http.post(  # type: ignore[attr-defined]
            "/v1/recommendations/views", json={"views": [{"sku": a}]}
        )
        assert r.status_code == 200 and r.json() == {"count": 1}
        r = boss._http.get("/v1/recommendations", params={"sku": "NOPE"})  # type: ignore[attr-defined]
        assert r.status_code == 404


def test_views_from_staff_keys_must_name_the_customer(
    env: ServiceContext, staff: InProcessClient
) -> None:
    s = seed(staff, n_skus=1, stock=0)
    try:
        recommend.record_views(env, STAFF, ViewBatch(views=[ViewEvent(sku=s.skus[0])]))
    except CommerceError as exc:
        assert (exc.status, exc.details) == (422, {"field": "views[0].customer_id", "value": None})
    else:
        raise AssertionError("expected a 422")
