"""Policy serving: replenishment plans and price quotes from the same policy objects the twin
runs, on SQLite and PostgreSQL, through HTTP and in-process; configuration and RL artifacts
checked at start-up; no training or twin dependency imported by the API."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from api_helpers import PEPPER, ServerThread, seed
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.app import create_app
from api.client.base import CommerceError
from api.client.inprocess import InProcessClient
from api.clock import ManualClock
from api.models import T
from api.schemas import (
    CartCreate,
    CartLineSet,
    Channel,
    PipelineLine,
    PolicySpec,
    PosSale,
    PosSaleBatch,
    PriceQuoteRequest,
    PriceSet,
    ReplenishmentPlanRequest,
)
from api.services.auth import create_api_key
from api.services.context import ServiceContext
from api.services.policy_serving import PolicyConfigError, PolicyServing
from api.settings import Settings
from policies.artifacts import (
    ActionMapping,
    FrameworkFreePolicy,
    Manifest,
    ObsNormalization,
    Registry,
    ValidationReport,
    safety_checks,
)

DAY = timedelta(days=1)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _settings(**kw: Any) -> Settings:
    return Settings(
        mode="development",
        api_key_pepper=PEPPER,
        bootstrap_api_keys="",
        sweep_interval_seconds=0,
        **kw,
    )


def _sell(
    staff: InProcessClient, clock: ManualClock, location: str, day: int, sales: dict[str, int]
) -> None:
    clock.set(T0 + day * DAY + timedelta(hours=10))
    staff.pos_sales(
        PosSaleBatch(
            location=location, sales=[PosSale(sku=s, quantity=q) for s, q in sales.items()]
        )
    )


def _test_client(env: ServiceContext, settings: Settings, role: str = "staff") -> TestClient:
    app = create_app(settings, ctx=env)
    token = create_api_key(
        env.engine, env.clock, PEPPER, role, "c-1" if role == "customer" else None
    )
    return TestClient(app, headers={"X-API-Key": token})


# ---- replenishment ---------------------------------------------------------------------------
def test_base_stock_plan_orders_level_minus_inventory_position(
    staff: InProcessClient, clock: ManualClock, server: ServerThread
) -> None:
    s = seed(staff, n_skus=3, stock=30)
    sold = {0: [4, 0, 2, 6], 1: [1, 1, 1, 1], 2: [0, 0, 0, 0]}  # days 1..4, per SKU index
    for d in range(4):
        _sell(staff, clock, s.location, d + 1, {s.skus[i]: q[d] for i, q in sold.items() if q[d]})
    clock.set(T0 + 5 * DAY + timedelta(hours=8))
    _sell(staff, clock, s.location, 5, {s.skus[1]: 3})  # today: not in the history window
    shopper = staff.as_principal("customer", "c-plan")
    cart = shopper.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
    shopper.set_cart_line(cart.id, CartLineSet(sku=s.skus[0], quantity=2))  # 2 reserved
    body = ReplenishmentPlanRequest(
        location=s.location,
        skus=s.skus,
        policy=PolicySpec(name="base_stock", params={"base_stock": 40}),
        lead_time_days=2,
        history_days=4,
        pipeline=[
            PipelineLine(sku=s.skus[0], quantity=5, arrives_in_days=1),
            PipelineLine(sku=s.skus[2], quantity=7, arrives_in_days=0),
        ],
    )
    plan = server.client("staff").plan_replenishment(body)
    assert plan.policy == "base_stock" and plan.params == {"base_stock": 40}
    assert plan.generated_at == clock.now() and plan.lead_time_days == 2 and plan.history_days == 4
    on_hand = [30 - 12, 30 - 4 - 3, 30]
    reserved, on_order = [2, 0, 0], [5, 0, 7]
    got = [
        (
            ln.sku,
            ln.on_hand,
            ln.available,
            ln.on_order,
            ln.inventory_position,
            ln.order_quantity,
            ln.target,
        )
        for ln in plan.lines
    ]
    want = []
    for i in range(3):
        ip = on_hand[i] - reserved[i] + on_order[i]
        want.append(
            (s.skus[i], on_hand[i], on_hand[i] - reserved[i], on_order[i], ip, 40 - ip, 40.0)
        )
    assert got == want
    for i, ln in enumerate(plan.lines):
        assert ln.demand_mean == pytest.approx(np.mean(sold[i]))
        assert ln.demand_std == pytest.approx(np.std(sold[i], ddof=1))
    assert staff.plan_replenishment(body).model_dump(exclude={"generated_at"}) == plan.model_dump(
        exclude={"generated_at"}
    )


def test_plan_without_skus_covers_every_stocked_sku_and_uses_forecast_policy(
    staff: InProcessClient, clock: ManualClock
) -> None:
    s = seed(staff, n_skus=2, stock=20)
    for d in range(1, 8):
        _sell(staff, clock, s.location, d, {s.skus[0]: 1 + d % 2})  # 2,1,2,1,2,1,2
    clock.set(T0 + 8 * DAY)
    plan = staff.plan_replenishment(
        ReplenishmentPlanRequest(
            location=s.location,
            policy=PolicySpec(
                name="forecast_order_up_to", params={"service_level": 0.5, "review_period": 1}
            ),
            lead_time_days=3,
            history_days=7,
        )
    )
    assert [ln.sku for ln in plan.lines] == sorted(s.skus)
    first = plan.lines[sorted(s.skus).index(s.skus[0])]
    mean = 11 / 7
    assert first.demand_mean == pytest.approx(mean)
    # z = 0 at a 50% service level: target = mean * (L + R) = 4 * mean
    assert first.target == pytest.approx(4 * mean)
    assert first.order_quantity == max(int(np.ceil(4 * mean - 1e-9)) - first.inventory_position, 0)


def test_configured_default_policy_serves_plans_and_quotes(
    env: ServiceContext, staff: InProcessClient, clock: ManualClock
) -> None:
    s = seed(staff, n_skus=2, stock=5)
    settings = _settings(
        replenishment_policy="capped_base_stock",
        replenishment_params={"base_stock": 20, "cap": 6},
        pricing_policy="static",
        pricing_params={"multiplier": 0.9},
    )
    with _test_client(env, settings) as http:
        r = http.post("/v1/replenishment/plan", json={"location": s.location, "skus": s.skus})
        assert r.status_code == 200, r.text
        plan = r.json()
        assert plan["policy"] == "capped_base_stock" and plan["params"] == {
            "base_stock": 20,
            "cap": 6,
        }
        assert [ln["order_quantity"] for ln in plan["lines"]] == [6, 6]  # min(20 - 5, 6)
        r = http.post("/v1/pricing/quote", json={"skus": s.skus, "channel": "web"})
        assert r.status_code == 200, r.text
        assert [ln["quoted_price_cents"] for ln in r.json()["lines"]] == [900, round(1001 * 0.9)]


# ---- pricing ---------------------------------------------------------------------------------
def test_static_quote_is_bounded_and_apply_writes_once_with_idempotency_key(
    staff: InProcessClient, server: ServerThread, env: ServiceContext
) -> None:
    s = seed(staff, n_skus=3, stock=4)  # list 1000, 1001, 1002; cost 500
    staff.set_prices([PriceSet(sku=s.skus[0], channel=Channel.WEB, price_cents=950)])
    http = server.client("service")
    body = PriceQuoteRequest(
        skus=s.skus,
        channel=Channel.WEB,
        policy=PolicySpec(name="static", params={"multiplier": 0.4}),
        min_price_ratio=0.6,
        max_price_ratio=1.2,
    )
    quote = http.quote_prices(body)
    assert [
        (
            ln.current_price_cents,
            ln.list_price_cents,
            ln.cost_cents,
            ln.on_hand,
            ln.min_price_cents,
            ln.max_price_cents,
            ln.quoted_price_cents,
        )
        for ln in quote.lines
    ] == [
        (950, 1000, 500, 4, 600, 1200, 600),
        (1001, 1001, 500, 4, 601, 1201, 601),
        (1002, 1002, 500, 4, 602, 1202, 602),
    ]
    assert not quote.applied and quote.updated == 0
    assert [p.price_cents for p in staff.get_prices(s.skus, "web")] == [950, 1001, 1002]

    apply = body.model_copy(
        update={"apply": True, "policy": PolicySpec(name="static", params={"multiplier": 0.95})}
    )
    first = http.quote_prices(apply, idempotency_key=f"q-{s.prefix}")
    assert first.applied and first.updated == 2  # 950 is already the quoted price of the first SKU
    assert [p.price_cents for p in staff.get_prices(s.skus, "web")] == [950, 951, 952]

    def rows() -> int:
        with env.engine.connect() as conn:
            n = conn.scalar(
                select(func.count())
                .select_from(T["prices"])
                .join(T["skus"], T["skus"].c.id == T["prices"].c.sku_id)
                .where(T["skus"].c.code.in_(s.skus))
            )
            conn.rollback()
        return int(n or 0)

    before = rows()
    again = http.quote_prices(apply, idempotency_key=f"q-{s.prefix}")
    assert again == first and rows() == before
    with pytest.raises(CommerceError) as err:
        http.quote_prices(body.model_copy(update={"apply": True}), idempotency_key=f"q-{s.prefix}")
    assert (err.value.status, err.value.code) == (422, "IDEMPOTENCY_MISMATCH")


def test_elasticity_quote_fits_daily_sales_against_daily_prices(
    staff: InProcessClient, clock: ManualClock
) -> None:
    # q = 1e9 * p^-3 exactly: 1 unit a day at 1000 cents, 8 at 500; optimal margin price with
    # cost 500 and elasticity -3 is c b / (1 + b) = 750.
    s = seed(staff, n_skus=1, stock=100, price_cents=1000)
    sku = s.skus[0]
    for d in range(1, 7):
        price = 1000 if d % 2 else 500
        staff.set_prices(
            [
                PriceSet(
                    sku=sku,
                    channel=Channel.STORE,
                    price_cents=price,
                    valid_from=T0 + d * DAY,
                    valid_to=T0 + (d + 1) * DAY,
                )
            ]
        )
    for d in range(1, 7):
        _sell(staff, clock, s.location, d, {sku: 1 if d % 2 else 8})
    clock.set(T0 + 7 * DAY + timedelta(hours=1))
    quote = staff.quote_prices(
        PriceQuoteRequest(
            skus=[sku],
            channel=Channel.STORE,
            location=s.location,
            history_days=6,
            policy=PolicySpec(name="elasticity", params={"history_days": 6, "min_observations": 3}),
        )
    )
    (line,) = quote.lines
    assert (line.current_price_cents, line.on_hand, line.quoted_price_cents) == (
        1000,
        100 - 27,
        750,
    )


def test_daily_price_history_follows_windows_and_the_latest_row(
    staff: InProcessClient, env: ServiceContext, clock: ManualClock
) -> None:
    from api.services.policy_data import Window, daily_prices

    s = seed(staff, n_skus=2, stock=1)
    sku = s.skus[0]
    day0 = T0 + 20 * DAY

    def price(cents: int, start: int, end: int | None = None) -> PriceSet:
        return PriceSet(
            sku=sku,
            channel=Channel.WEB,
            price_cents=cents,
            valid_from=day0 + start * DAY,
            valid_to=None if end is None else day0 + end * DAY,
        )

    staff.set_prices(
        [
            price(900, -10),
            price(800, -5),
            price(500, 2, 4),
            price(700, 5),
            PriceSet(sku=sku, channel=Channel.APP, price_cents=1, valid_from=day0),
        ]
    )
    clock.set(day0 + 7 * DAY + timedelta(hours=3))
    window = Window.before(clock.now(), 7)
    with env.engine.connect() as conn:
        ids = env.sku_ids(conn, s.skus)
        got = daily_prices(conn, [ids[sku], ids[s.skus[1]]], np.array([1000, 1001]), "web", window)
        conn.rollback()
    assert got.tolist() == [[800, 800, 500, 500, 800, 700, 700], [1001] * 7]


# ---- access and errors -----------------------------------------------------------------------
def test_customers_are_refused_and_anonymous_callers_unauthenticated(
    staff: InProcessClient, server: ServerThread
) -> None:
    s = seed(staff, n_skus=1, stock=1)
    customer = server.client("customer", "c-pol")
    with pytest.raises(CommerceError) as err:
        customer.plan_replenishment(ReplenishmentPlanRequest(location=s.location))
    assert (err.value.status, err.value.code) == (403, "FORBIDDEN")
    with pytest.raises(CommerceError) as err:
        customer.quote_prices(PriceQuoteRequest(skus=s.skus, channel=Channel.WEB))
    assert (err.value.status, err.value.code) == (403, "FORBIDDEN")
    r = httpx.post(f"{server.url}/v1/replenishment/plan", json={"location": s.location})
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("path", "policy", "field", "value"),
    [
        ("/v1/replenishment/plan", {"name": "base_stok"}, "policy.name", "base_stok"),
        (
            "/v1/replenishment/plan",
            {"name": "base_stock", "params": {"base_stock": -3}},
            "policy.params.base_stock",
            -3,
        ),
        (
            "/v1/replenishment/plan",
            {"name": "base_stock", "params": {"level": 3}},
            "policy.params.level",
            3,
        ),
        (
            "/v1/replenishment/plan",
            {"name": "capped_base_stock", "params": {"base_stock": 3}},
            "policy.params.cap",
            None,
        ),
        (
            "/v1/pricing/quote",
            {"name": "static", "params": {"multiplier": -1}},
            "policy.params.multiplier",
            -1,
        ),
        (
            "/v1/pricing/quote",
            {"name": "rl_artifact", "params": {"artifact": "x", "registry_dir": "/etc"}},
            "policy.params.registry_dir",
            "/etc",
        ),
    ],
)
def test_bad_policy_names_and_params_are_422_naming_field_and_value(
    staff: InProcessClient,
    server: ServerThread,
    path: str,
    policy: dict[str, Any],
    field: str,
    value: object,
) -> None:
    s = seed(staff, n_skus=1, stock=1)
    token = server.client("staff")._http.headers["X-API-Key"]
    body: dict[str, Any] = {"policy": policy, "skus": s.skus}
    body.update({"location": s.location} if "plan" in path else {"channel": "web"})
    r = httpx.post(server.url + path, json=body, headers={"X-API-Key": token})
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["code"] == "VALIDATION_ERROR" and err["details"]["field"] == field
    assert err["details"]["value"] == value and field in err["message"]


def test_unknown_location_skus_and_pipeline_lines_are_named(staff: InProcessClient) -> None:
    s = seed(staff, n_skus=1, stock=1)
    with pytest.raises(CommerceError) as err:
        staff.plan_replenishment(ReplenishmentPlanRequest(location="nowhere"))
    assert (err.value.status, err.value.details) == (404, {"location": "nowhere"})
    with pytest.raises(CommerceError) as err:
        staff.quote_prices(PriceQuoteRequest(skus=[s.skus[0], "ghost"], channel=Channel.APP))
    assert (err.value.status, err.value.details) == (404, {"skus": ["ghost"]})
    with pytest.raises(CommerceError) as err:
        staff.plan_replenishment(
            ReplenishmentPlanRequest(
                location=s.location,
                skus=s.skus,
                pipeline=[PipelineLine(sku="other", quantity=1, arrives_in_days=0)],
            )
        )
    assert (err.value.status, err.value.details) == (
        422,
        {"field": "pipeline[0].sku", "value": "other"},
    )


def test_bad_configuration_stops_the_app_naming_the_setting() -> None:
    with pytest.raises(PolicyConfigError, match="SHOPSPHERE_REPLENISHMENT_POLICY='nope'"):
        PolicyServing.from_settings(_settings(replenishment_policy="nope"))
    with pytest.raises(PolicyConfigError, match=r"SHOPSPHERE_PRICING_POLICY='markdown'.*depths"):
        PolicyServing.from_settings(
            _settings(pricing_policy="markdown", pricing_params={"depths": [0.5]})
        )
    with pytest.raises(PolicyConfigError, match="needs SHOPSPHERE_POLICY_REGISTRY_DIR"):
        PolicyServing.from_settings(_settings(pricing_artifact="p"))


# ---- RL artifacts ------------------------------------------------------------------------------
def _order_up_to_artifact(level: int, lead_time: int = 1) -> FrameworkFreePolicy:
    """A Replenishment-v0 artifact that always picks order-up-to level ``level``."""
    n_actions, obs_dim = 16, max(lead_time, 1) + 1
    bias = np.zeros(n_actions)
    bias[level] = 1.0
    return FrameworkFreePolicy(
        weights=(np.zeros((n_actions, obs_dim)),),
        biases=(bias,),
        activation="tanh",
        normalization=ObsNormalization.identity(obs_dim),
        mapping=ActionMapping(
            kind="discrete",
            decision_names=("order_units",),
            decision_low=np.zeros(1),
            decision_high=np.array([12.0]),
            table=np.arange(n_actions, dtype=float)[:, None],
            integer=True,
            relative_obs_index=obs_dim - 1,
        ),
        manifest=Manifest(
            name="repl-test",
            env_id="ShopSphere/Replenishment-v0",
            algo="PPO",
            obs_names=("available_units", "inventory_position_units"),
            env_kwargs={"lead_time": lead_time, "demand_mean": 5.0},
        ),
    )


def _registry(tmp_path: Path, *, promote: bool) -> Path:
    root = tmp_path / "registry"
    reg = Registry(root)
    policy = _order_up_to_artifact(level=9)
    entry = reg.register(policy)
    if promote:
        obs = np.array([[a, a + p] for a in range(12) for p in range(4)], dtype=float)
        report = ValidationReport(
            artifact_sha256=entry.artifact_sha256,
            env_id=entry.env_id,
            simulator="kernel",
            baseline="capped_base_stock",
            objective="cost",
            seeds=(0, 1, 2, 3, 4),
            policy_values=(4.0, 4.1, 3.9, 4.0, 4.05),
            baseline_values=(4.5, 4.6, 4.4, 4.5, 4.55),
            p_value=0.001,
            alpha=0.05,
            safety=safety_checks(policy, obs),
            periods=1000,
        )
        # promotion computes its evidence through a procedure; this fake returns `report`
        reg.promote(entry.name, entry.version, lambda *_a, **_k: report)
    return root


def test_validated_artifact_serves_plans_and_tampered_or_unvalidated_ones_stop_start_up(
    env: ServiceContext, staff: InProcessClient, clock: ManualClock, tmp_path: Path
) -> None:
    candidate = _registry(tmp_path / "cand", promote=False)
    with pytest.raises(
        PolicyConfigError, match=r"REPLENISHMENT_ARTIFACT='repl-test' refused.*no validated version"
    ):
        create_app(
            _settings(policy_registry_dir=str(candidate), replenishment_artifact="repl-test"),
            ctx=env,
        )
    with pytest.raises(PolicyConfigError, match=r"refused.*candidate, not validated"):
        create_app(
            _settings(policy_registry_dir=str(candidate), replenishment_artifact="repl-test@v0001"),
            ctx=env,
        )

    root = _registry(tmp_path / "ok", promote=True)
    settings = _settings(
        policy_registry_dir=str(root),
        replenishment_artifact="repl-test",
        replenishment_lead_time_days=1,
    )
    s = seed(staff, n_skus=3, stock=18)
    for day in (1, 2):  # demand 8/day, none, 5/day (the artifact was trained on 5/day)
        _sell(staff, clock, s.location, day, {s.skus[0]: 8, s.skus[2]: 5})
    clock.set(T0 + 3 * DAY + timedelta(hours=8))
    with _test_client(env, settings) as http:
        r = http.post(
            "/v1/replenishment/plan",
            json={
                "location": s.location,
                "skus": s.skus,
                "history_days": 2,
                "pipeline": [{"sku": s.skus[1], "quantity": 3, "arrives_in_days": 0}],
            },
        )
        assert r.status_code == 200, r.text
        plan = r.json()
        assert (plan["policy"], plan["params"]) == ("rl_artifact", {"artifact": "repl-test"})
        # the artifact orders up to 9 in units of 5/day, scaled per SKU: 9 * 8/5 = 14.4 - 2,
        # nothing for a SKU without demand, 9 - 8 at the training scale
        assert [
            (ln["inventory_position"], ln["order_quantity"], ln["target"]) for ln in plan["lines"]
        ] == [(2, 12, 14.4), (21, 0, 0.0), (8, 1, 9.0)]
        assert all(ln["error"] is None for ln in plan["lines"])
        # one SKU with units arriving beyond the artifact's lead time is refused alone
        r = http.post(
            "/v1/replenishment/plan",
            json={
                "location": s.location,
                "skus": s.skus,
                "history_days": 2,
                "pipeline": [{"sku": s.skus[2], "quantity": 3, "arrives_in_days": 1}],
            },
        )
        assert r.status_code == 200, r.text
        lines = r.json()["lines"]
        assert [ln["order_quantity"] for ln in lines] == [12, 0, 0]
        assert lines[0]["error"] is None and lines[1]["error"] is None
        assert (lines[2]["error"]["field"], lines[2]["error"]["value"]) == ("pipeline", 3)
        r = http.post(
            "/v1/replenishment/plan",
            json={"location": s.location, "skus": s.skus, "lead_time_days": 3},
        )
        assert r.status_code == 422 and "lead_time" in r.json()["message"]
        r = http.post(
            "/v1/replenishment/plan",
            json={
                "location": s.location,
                "skus": s.skus,
                "lead_time_days": 1,
                "history_days": 2,
                "policy": {"name": "rl_artifact", "params": {"artifact": "repl-test@v0001"}},
            },
        )
        assert r.status_code == 200 and r.json()["lines"][0]["order_quantity"] == 12

    weights = root / "repl-test" / "v0001" / "weights.npz"
    weights.write_bytes(weights.read_bytes() + b"\0")
    with pytest.raises(PolicyConfigError, match=r"refused.*modified after registration"):
        create_app(settings, ctx=env)


def test_validated_pricing_artifact_quotes_prices_in_cents_within_bounds(
    env: ServiceContext, staff: InProcessClient, tmp_path: Path
) -> None:
    grid = np.linspace(0.0, 20.0, 41)  # DynamicPricing-v0 price grid, currency units
    bias = np.zeros(41)
    bias[17] = 1.0  # always 8.5 -> 850 cents
    policy = FrameworkFreePolicy(
        weights=(np.zeros((41, 2)),),
        biases=(bias,),
        activation="tanh",
        normalization=ObsNormalization.identity(2),
        mapping=ActionMapping(
            kind="discrete",
            decision_names=("price",),
            decision_low=np.zeros(1),
            decision_high=np.array([20.0]),
            table=grid[:, None],
        ),
        manifest=Manifest(
            name="price-test",
            env_id="ShopSphere/DynamicPricing-v0",
            algo="PPO",
            obs_names=("stock_left_fraction", "periods_left_fraction"),
            env_kwargs={"stock": 20, "horizon": 20, "list_price": 10.0},
        ),
    )
    reg = Registry(tmp_path / "registry")
    entry = reg.register(policy)
    obs = np.array([[x / 20, t / 20] for x in range(21) for t in range(21)])
    report = ValidationReport(
        artifact_sha256=entry.artifact_sha256,
        env_id=entry.env_id,
        simulator="kernel",
        baseline="fixed_price",
        objective="revenue",
        seeds=(0, 1, 2, 3, 4),
        policy_values=(10.0, 10.2, 9.9, 10.1, 10.0),
        baseline_values=(9.0, 9.1, 8.9, 9.0, 9.2),
        p_value=0.001,
        alpha=0.05,
        safety=safety_checks(policy, obs),
        periods=20,
    )
    reg.promote(entry.name, entry.version, lambda *_a, **_k: report)
    s = seed(staff, n_skus=2, stock=4)  # list 1000, 1001; cost 500
    settings = _settings(
        policy_registry_dir=str(tmp_path / "registry"), pricing_artifact="price-test"
    )
    with _test_client(env, settings) as http:
        r = http.post(
            "/v1/pricing/quote",
            json={"skus": s.skus, "channel": "app", "days_left": 10, "min_price_ratio": 0.85},
        )
        assert r.status_code == 200, r.text
        # 8.5 of a list price of 10 in training units -> 85% of each SKU's own list price:
        # 850 for list 1000; 850.85 -> 851 for list 1001 (also its floor ceil(0.85 * 1001))
        assert [ln["quoted_price_cents"] for ln in r.json()["lines"]] == [850, 851]
        r = http.post("/v1/pricing/quote", json={"skus": s.skus, "channel": "app"})  # 90 days left
        assert r.status_code == 422 and "days_left" in r.json()["message"]


def test_cli_lists_policies_with_parameters_and_checks_the_served_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from shopsphere_cli.main import app

    runner = CliRunner()
    out = runner.invoke(app, ["policies", "list", "--kind", "replenishment", "--json"])
    assert out.exit_code == 0, out.output
    rows = {r["name"]: r for r in json.loads(out.output)["replenishment"]}
    assert {"base_stock", "capped_base_stock", "rl_artifact"} <= rows.keys()
    assert rows["capped_base_stock"]["params"] == [
        {"name": "base_stock", "required": True, "default": None},
        {"name": "cap", "required": True, "default": None},
    ]
    monkeypatch.setenv("SHOPSPHERE_PRICING_POLICY", "elasticity")
    monkeypatch.setenv("SHOPSPHERE_PRICING_PARAMS", '{"min_observations": 1}')
    out = runner.invoke(app, ["policies", "check"])
    assert out.exit_code == 2
    assert (
        "SHOPSPHERE_PRICING_POLICY='elasticity'" in out.output and "min_observations" in out.output
    )


# ---- production imports ----------------------------------------------------------------------
FORBIDDEN = ("torch", "stable_baselines3", "gymnasium", "streamlit", "simpy", "mesa", "twin")


@pytest.mark.slow
def test_serving_plans_and_quotes_imports_no_training_or_twin_code() -> None:
    script = textwrap.dedent(f"""
        import json, sys
        import api.app
        from fastapi.testclient import TestClient
        from api.client.inprocess import InProcessClient
        from api.schemas import LocationCreate, ReceiptCreate, SkuImportRow, StockLine
        from api.services.auth import create_api_key
        from api.settings import Settings
        staff = InProcessClient.for_sqlite(":memory:")
        staff.import_skus([SkuImportRow(sku="A", product="P", name="A", category="C",
                                        cost_cents=5, list_price_cents=10)])
        staff.create_location(LocationCreate(code="W", kind="warehouse", name="W", lat=0, lon=0))
        staff.receive(ReceiptCreate(location="W", lines=[StockLine(sku="A", quantity=3)]))
        settings = Settings(api_key_pepper="p" * 20, bootstrap_api_keys="",
                            sweep_interval_seconds=0)
        app = api.app.create_app(settings, ctx=staff.ctx)
        token = create_api_key(staff.ctx.engine, staff.ctx.clock, settings.api_key_pepper,
                               "service")
        http = TestClient(app, headers={{"X-API-Key": token}})
        plan = http.post("/v1/replenishment/plan", json={{"location": "W"}})
        quote = http.post("/v1/pricing/quote", json={{"skus": ["A"], "channel": "web",
                                                      "policy": {{"name": "markdown"}}}})
        loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({FORBIDDEN!r}))
        print(json.dumps([plan.status_code, quote.status_code, loaded]))
    """)
    out = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [200, 200, []]


def test_inprocess_default_serving_reads_the_environment(
    monkeypatch: pytest.MonkeyPatch, staff: InProcessClient
) -> None:
    from api.services import policy_serving

    monkeypatch.setenv("SHOPSPHERE_REPLENISHMENT_POLICY", "base_stock")
    monkeypatch.setenv("SHOPSPHERE_REPLENISHMENT_PARAMS", '{"base_stock": 11}')
    policy_serving.default_serving.cache_clear()
    try:
        s = seed(staff, n_skus=1, stock=4)
        plan = staff.plan_replenishment(ReplenishmentPlanRequest(location=s.location))
        assert (plan.policy, plan.lines[0].order_quantity) == ("base_stock", 7)
    finally:
        policy_serving.default_serving.cache_clear()
