"""Shelf observations through the commerce API: restock tasks, phantom inventory, typed 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.clock import ManualClock
from api.db import make_engine, upgrade_schema
from api.payments import SimulatedGateway
from api.schemas import LocationCreate, LocationKind, ReceiptCreate, SkuImportRow, StockLine
from api.services import catalog, locations, stock
from api.services.auth import create_api_key
from api.services.context import Principal, ServiceContext
from api.settings import Settings

PEPPER = "edge-test-pepper-0123456789"
STAFF = Principal(role="staff", key_id=1)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceContext]:
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('db') / 'shop.db'}")
    upgrade_schema(engine)
    ctx = ServiceContext(
        engine=engine,
        clock=ManualClock(),
        gateway=SimulatedGateway(),
        reservation_ttl=timedelta(seconds=900),
        unpaid_order_ttl=timedelta(seconds=1800),
    )
    catalog.import_skus(
        ctx,
        STAFF,
        [
            SkuImportRow(
                sku=f"MILK-{i}",
                product=f"P-{i}",
                name=f"Milk {i}",
                category="DAIRY",
                cost_cents=50,
                list_price_cents=129,
            )
            for i in range(4)
        ],
    )
    locations.create_location(
        ctx, STAFF, LocationCreate(code="STORE-1", kind=LocationKind.STORE, name="S", lat=0, lon=0)
    )
    # the ledger holds 6 of MILK-0 and MILK-1 and 3 of MILK-2; MILK-3 was never received
    stock.receive(
        ctx,
        STAFF,
        ReceiptCreate(
            location="STORE-1",
            lines=[
                StockLine(sku="MILK-0", quantity=6),
                StockLine(sku="MILK-1", quantity=6),
                StockLine(sku="MILK-2", quantity=3),
            ],
        ),
    )
    yield ctx
    engine.dispose()


@pytest.fixture(scope="module")
def http(env: ServiceContext) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(
        mode="development", api_key_pepper=PEPPER, bootstrap_api_keys="", sweep_interval_seconds=0
    )
    app = create_app(settings, ctx=env)
    token = create_api_key(env.engine, env.clock, PEPPER, "staff")
    with TestClient(app) as client:
        yield client, {"X-API-Key": token}


def _obs(slots: list[dict[str, object]], **extra: object) -> dict[str, object]:
    return {"location": "STORE-1", "camera": "cam-1", "slots": slots, **extra}


def test_gap_with_stock_on_the_ledger_opens_a_phantom_suspect_task_once(
    http: tuple[TestClient, dict[str, str]],
) -> None:
    client, h = http
    body = _obs(
        [
            {"sku": "MILK-0", "facings": 0, "capacity": 4, "confidence": 0.97},
            {"sku": "MILK-1", "facings": 4, "capacity": 4, "confidence": 0.99},
            {"sku": "MILK-3", "facings": 0, "capacity": 2, "confidence": 0.95},
        ]
    )
    r = client.post("/v1/shelf/observations", json=body, headers=h)
    assert r.status_code == 201, r.text
    out = r.json()
    assert out["observations"] == 3
    assert out["phantom_suspected"] == ["MILK-0"]  # MILK-3: the ledger agrees it is out
    made = {t["sku"]: t for t in out["tasks_created"]}
    assert set(made) == {"MILK-0", "MILK-3"}
    assert made["MILK-0"]["phantom_suspected"] and made["MILK-0"]["ledger_on_hand"] == 6
    assert made["MILK-3"]["reason"] == "out_of_stock" and not made["MILK-3"]["phantom_suspected"]
    again = client.post("/v1/shelf/observations", json=body, headers=h).json()
    assert again["tasks_created"] == [] and again["already_open"] == ["MILK-0", "MILK-3"]
    listed = client.get("/v1/shelf/tasks", params={"location": "STORE-1"}, headers=h).json()
    assert [t["sku"] for t in listed["items"]] == ["MILK-0", "MILK-3"]


def test_low_stock_and_low_confidence(http: tuple[TestClient, dict[str, str]]) -> None:
    client, h = http
    body = _obs(
        [
            {"sku": "MILK-2", "facings": 1, "capacity": 4, "confidence": 0.9},
            {"sku": "MILK-1", "facings": 0, "capacity": 4, "confidence": 0.3},
        ]
    )
    out = client.post("/v1/shelf/observations", json=body, headers=h).json()
    assert [(t["sku"], t["reason"]) for t in out["tasks_created"]] == [("MILK-2", "low_stock")]
    assert out["low_confidence"] == ["MILK-1"]


def test_completing_a_phantom_task_corrects_the_ledger(
    env: ServiceContext, http: tuple[TestClient, dict[str, str]]
) -> None:
    client, h = http
    tasks = client.get("/v1/shelf/tasks", headers=h).json()["items"]
    tid = next(t["id"] for t in tasks if t["sku"] == "MILK-0")
    r = client.post(f"/v1/shelf/tasks/{tid}/complete", json={"found_units": 0}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done" and r.json()["found_units"] == 0
    levels = client.post(
        "/v1/stock/levels", json={"skus": ["MILK-0"], "locations": ["STORE-1"]}, headers=h
    ).json()
    assert levels[0]["on_hand"] == 0
    moves = client.get(
        "/v1/stock/movements", params={"sku": "MILK-0", "location": "STORE-1"}, headers=h
    ).json()["items"]
    assert [(mv["kind"], mv["quantity"]) for mv in moves] == [("receipt", 6), ("adjustment", -6)]
    second = client.post(f"/v1/shelf/tasks/{tid}/complete", json={}, headers=h)
    assert second.status_code == 409 and second.json()["code"] == "INVALID_TRANSITION"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (_obs([{"sku": "NOPE", "facings": 0, "capacity": 1, "confidence": 1}]), 404, "NOT_FOUND"),
        (
            {
                **_obs([{"sku": "MILK-1", "facings": 0, "capacity": 1, "confidence": 1}]),
                "location": "X",
            },
            404,
            "NOT_FOUND",
        ),
        (
            _obs([{"sku": "MILK-1", "facings": 5, "capacity": 4, "confidence": 1}]),
            422,
            "VALIDATION_ERROR",
        ),
        (
            _obs([{"sku": "MILK-1", "facings": 0, "capacity": 4, "confidence": 1.5}]),
            422,
            "VALIDATION_ERROR",
        ),
        (_obs([]), 422, "VALIDATION_ERROR"),
        (
            _obs(
                [{"sku": "MILK-1", "facings": 0, "capacity": 1, "confidence": 1}],
                observed_at="0001-01-01T00:00:00+14:00",
            ),
            422,
            "VALIDATION_ERROR",
        ),
        (
            _obs(
                [{"sku": "MILK-1", "facings": 0, "capacity": 1, "confidence": 1}],
                observed_at="2026-01-01T00:00:00",
            ),
            422,
            "VALIDATION_ERROR",
        ),
    ],
)
def test_bad_observations_get_typed_4xx(
    http: tuple[TestClient, dict[str, str]], body: dict[str, object], status: int, code: str
) -> None:
    client, h = http
    r = client.post("/v1/shelf/observations", json=body, headers=h)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code


def test_unknown_task_is_404_and_customers_are_refused(
    env: ServiceContext, http: tuple[TestClient, dict[str, str]]
) -> None:
    client, h = http
    assert client.post("/v1/shelf/tasks/999999/complete", json={}, headers=h).status_code == 404
    cust = create_api_key(env.engine, env.clock, PEPPER, "customer", customer_id="c1")
    r = client.post(
        "/v1/shelf/observations",
        json=_obs([{"sku": "MILK-1", "facings": 0, "capacity": 1, "confidence": 1}]),
        headers={"X-API-Key": cust},
    )
    assert r.status_code == 403


def test_rendered_camera_to_api_closes_the_loop(
    env: ServiceContext, http: tuple[TestClient, dict[str, str]]
) -> None:
    import numpy as np

    from edge_sim.feeds import RenderedFeed
    from edge_sim.pipeline import observation_payload, watch
    from edge_sim.planogram import shelf_state
    from edge_sim.scenes import random_scene
    from edge_sim.vision import ShelfVision

    client, h = http
    rng = np.random.default_rng(42)
    sc = random_scene(rng, "clean")
    stock = [s.capacity for s in sc.planogram.slots]
    stock[0] = 0  # the first slot is out on the shelf
    codes = {s.sku: ("MILK-1" if j == 0 else "MILK-2") for j, s in enumerate(sc.planogram.slots)}
    feed = RenderedFeed(
        sc.renderer, lambda t: shelf_state(sc.planogram, stock, rng), rng, n_frames=1
    )
    bodies: list[dict[str, object]] = []
    stats = watch(
        feed,
        ShelfVision(sc.planogram, sc.camera),
        lambda fr, rep: bodies.append(
            observation_payload(rep, "STORE-1", "cam-9", sku_codes=codes)
        ),
    )
    assert stats.frames == 1
    r = client.post("/v1/shelf/observations", json=bodies[0], headers=h)
    assert r.status_code == 201, r.text
    # MILK-1 (ledger 6) seen empty: suspected phantom; its task opens unless one is open
    assert "MILK-1" in r.json()["phantom_suspected"]
