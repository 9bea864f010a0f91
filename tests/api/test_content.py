"""Product content: versions append, old versions stay readable, and If-Match/ETag optimistic
concurrency turns a stale or concurrent write into 412 (428 without If-Match)."""

from __future__ import annotations

import threading
import uuid

import pytest
from api_helpers import ServerThread

from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.schemas import SkuImportRow
from api.search import content
from api.search.schemas import ContentWrite
from api.services.context import Principal, ServiceContext

STAFF = Principal(role="staff", key_id=1)


def _product(env: ServiceContext) -> str:
    p = "P" + uuid.uuid4().hex[:8]
    InProcessClient(env, STAFF).import_skus(
        [
            SkuImportRow(
                sku=p + "-1",
                product=p,
                name="Tea",
                category="drinks",
                cost_cents=1,
                list_price_cents=2,
            )
        ]
    )
    return p


def test_each_write_is_a_new_version_and_old_versions_stay_readable(env: ServiceContext) -> None:
    p = _product(env)
    v1 = content.put_content(env, STAFF, p, ContentWrite(description="green tea"), None)
    v2 = content.put_content(
        env,
        STAFF,
        p,
        ContentWrite(
            description="Sencha green tea",
            attributes={"origin": "japan"},
            images=["https://img.example/tea.jpg"],
        ),
        1,
    )
    assert (v1.version, v2.version) == (1, 2)
    latest = content.get_content(env, STAFF, p)
    assert (latest.version, latest.description, latest.attributes, latest.images) == (
        2,
        "Sencha green tea",
        {"origin": "japan"},
        ["https://img.example/tea.jpg"],
    )
    assert content.get_content(env, STAFF, p, version=1).description == "green tea"
    assert [v.version for v in content.list_versions(env, STAFF, p)] == [2, 1]
    assert latest.created_by == "staff:1"


def test_stale_or_missing_if_match_is_refused(env: ServiceContext) -> None:
    p = _product(env)
    content.put_content(env, STAFF, p, ContentWrite(description="a"), None)
    with pytest.raises(CommerceError) as err:
        content.put_content(env, STAFF, p, ContentWrite(description="b"), None)
    assert (err.value.status, err.value.code) == (428, "PRECONDITION_REQUIRED")
    content.put_content(env, STAFF, p, ContentWrite(description="b"), 1)
    with pytest.raises(CommerceError) as err:
        content.put_content(env, STAFF, p, ContentWrite(description="c"), 1)
    assert (err.value.status, err.value.details) == (
        412,
        {"product": p, "current_version": 2, "if_match": 1},
    )
    assert content.get_content(env, STAFF, p).description == "b"


def test_concurrent_writers_from_one_version_yield_one_winner(env: ServiceContext) -> None:
    p = _product(env)
    content.put_content(env, STAFF, p, ContentWrite(description="base"), None)
    outcomes: list[str] = []
    lock = threading.Lock()

    def write(i: int) -> None:
        try:
            content.put_content(env, STAFF, p, ContentWrite(description=f"w{i}"), 1)
            res = "ok"
        except CommerceError as exc:
            res = str(exc.status)
        with lock:
            outcomes.append(res)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["412"] * 7 + ["ok"]
    assert [v.version for v in content.list_versions(env, STAFF, p)] == [2, 1]


def test_errors_name_the_product_version_and_bad_values(env: ServiceContext) -> None:
    p = _product(env)
    with pytest.raises(CommerceError) as err:
        content.get_content(env, STAFF, p)
    assert (err.value.status, err.value.details) == (404, {"product": p})
    with pytest.raises(CommerceError) as err:
        content.get_content(env, STAFF, "nope")
    assert (err.value.status, err.value.details) == (404, {"product": "nope"})
    with pytest.raises(CommerceError) as err:
        content.put_content(env, STAFF, p, ContentWrite(images=["javascript:alert(1)"]), None)
    assert (err.value.status, err.value.details) == (
        422,
        {"field": "images[0]", "value": "javascript:alert(1)"},
    )
    with pytest.raises(CommerceError) as err:
        content.put_content(
            env, Principal(role="customer", customer_id="c"), p, ContentWrite(), None
        )
    assert err.value.status == 403


def test_http_etag_and_if_match_round_trip(env: ServiceContext) -> None:
    p = _product(env)
    with ServerThread(env) as srv:
        raw = srv.client("staff")._http  # type: ignore[attr-defined]
        url = f"/v1/products/{p}/content"
        first = raw.put(url, json={"description": "one"})
        assert first.status_code == 200 and first.headers["etag"] == '"1"'
        got = raw.get(url)
        assert got.headers["etag"] == '"1"' and got.json()["description"] == "one"
        ok = raw.put(url, json={"description": "two"}, headers={"If-Match": got.headers["etag"]})
        assert ok.status_code == 200 and ok.headers["etag"] == '"2"'
        stale = raw.put(url, json={"description": "x"}, headers={"If-Match": '"1"'})
        assert stale.status_code == 412 and stale.json()["code"] == "PRECONDITION_FAILED"
        assert raw.put(url, json={"description": "x"}).status_code == 428
        bad = raw.put(url, json={"description": "x"}, headers={"If-Match": "banana"})
        assert bad.status_code == 422 and bad.json()["details"]["field"] == "If-Match"
        assert raw.get(url, params={"version": 1}).json()["description"] == "one"
        assert raw.get(url, params={"version": 0}).status_code == 422
        assert [v["version"] for v in raw.get(url + "/versions").json()] == [2, 1]
