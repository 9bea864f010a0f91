"""POST /v1/visual-search: a photo in the body, ranked SKUs out, typed 4xx for bad uploads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.clock import ManualClock
from api.db import make_engine, upgrade_schema
from api.payments import SimulatedGateway
from api.services.auth import create_api_key
from api.services.context import ServiceContext
from api.services.visual import VisualCatalog
from api.settings import Settings

PEPPER = "visual-test-pepper-0123456789"
GROCERY = Path(__file__).resolve().parents[2] / "data" / "grocery" / "catalog"
SKUS = ("Oatly-Oat-Milk", "Bravo-Orange-Juice", "Arla-Sour-Milk")


@pytest.fixture(scope="module")
def http(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("visual")
    engine = make_engine(f"sqlite:///{tmp / 'shop.db'}")
    upgrade_schema(engine)
    ctx = ServiceContext(
        engine=engine,
        clock=ManualClock(),
        gateway=SimulatedGateway(),
        reservation_ttl=timedelta(seconds=900),
        unpaid_order_ttl=timedelta(seconds=1800),
    )
    folder = tmp / "catalog"
    folder.mkdir()
    for sku in SKUS:  # a three-product catalog keeps the index small
        (folder / f"{sku}.jpg").write_bytes((GROCERY / f"{sku}_Iconic.jpg").read_bytes())
    settings = Settings(
        mode="development", api_key_pepper=PEPPER, bootstrap_api_keys="", sweep_interval_seconds=0
    )
    app = create_app(settings, ctx=ctx)
    app.state.visual_catalog = VisualCatalog(folder)
    staff = create_api_key(engine, ctx.clock, PEPPER, "staff")
    shopper = create_api_key(engine, ctx.clock, PEPPER, "customer", customer_id="c-1")
    with TestClient(app) as client:
        yield client, {"X-API-Key": staff}, {"X-API-Key": shopper}
    engine.dispose()


def _photo_of(sku: str) -> bytes:
    img = cv2.imread(str(GROCERY / f"{sku}_Iconic.jpg"))
    rng = np.random.default_rng(5)
    scene = cv2.resize(
        rng.integers(0, 255, (40, 40, 3), dtype=np.uint8), (320, 320), interpolation=0
    )
    scene[60:258, 60:258] = (img * 0.85).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", scene, [cv2.IMWRITE_JPEG_QUALITY, 85])
    assert ok
    return buf.tobytes()


def test_a_shopper_photo_returns_the_product_first(
    http: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    client, _, shopper = http
    r = client.post(
        "/v1/visual-search",
        content=_photo_of("Bravo-Orange-Juice"),
        headers={**shopper, "Content-Type": "image/jpeg"},
        params={"limit": 2},
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["catalog_size"] == 3
    assert out["matches"][0]["sku"] == "Bravo-Orange-Juice"
    assert len(out["matches"]) == 2 and out["matches"][0]["inliers"] >= 20


@pytest.mark.parametrize("body", [b"", b"\x89PNG garbage"])
def test_a_body_that_is_not_an_image_is_a_typed_422(
    http: tuple[TestClient, dict[str, str], dict[str, str]], body: bytes
) -> None:
    client, staff, _ = http
    r = client.post(
        "/v1/visual-search", content=body, headers={**staff, "Content-Type": "image/png"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "VALIDATION_ERROR"


def test_a_limit_out_of_range_is_a_422_naming_it(
    http: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    client, staff, _ = http
    r = client.post(
        "/v1/visual-search",
        content=_photo_of("Oatly-Oat-Milk"),
        headers={**staff, "Content-Type": "image/jpeg"},
        params={"limit": 0},
    )
    assert r.status_code == 422 and "limit" in r.text


def test_without_a_key_the_search_is_refused(
    http: tuple[TestClient, dict[str, str], dict[str, str]],
) -> None:
    client, _, _ = http
    r = client.post("/v1/visual-search", content=_photo_of("Oatly-Oat-Milk"))
    assert r.status_code == 401


def test_a_missing_catalog_folder_is_a_typed_503(tmp_path: Path) -> None:
    from api.errors import ServiceError
    from api.services.visual import search_photo

    with pytest.raises(ServiceError) as err:
        search_photo(VisualCatalog(tmp_path / "absent"), _photo_of("Oatly-Oat-Milk"), 5)
    assert err.value.status == 503 and err.value.code == "VISUAL_SEARCH_UNAVAILABLE"
