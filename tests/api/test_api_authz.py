"""Authorization matrix: every role against every endpoint, including cross-customer access.

Roles: anonymous (no key), the owning customer, another customer, staff, service. Customer
resources of another customer answer 404 (their existence is not revealed); staff and service
endpoints answer 403 to customers; no key is 401.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import httpx
from api_helpers import ServerThread, seed

from api.client.inprocess import InProcessClient
from api.schemas import (
    CartCreate,
    CartLineSet,
    Channel,
    CheckoutRequest,
    LocationCreate,
    LocationKind,
    OrderStatus,
)
from api.services.context import Principal, ServiceContext

ROLES = ("anon", "owner", "other", "staff", "service")
Req = tuple[str, str, Any]


def test_every_role_against_every_endpoint(server: ServerThread, env: ServiceContext) -> None:
    staff = InProcessClient(env, Principal(role="staff", key_id=1))
    s = seed(staff, n_skus=2, stock=1000)
    owner = staff.as_principal("customer", "cust-a")
    keys = {
        "owner": server.client("customer", "cust-a")._http.headers["X-API-Key"],
        "other": server.client("customer", "cust-b")._http.headers["X-API-Key"],
        "staff": server.client("staff")._http.headers["X-API-Key"],
        "service": server.client("service")._http.headers["X-API-Key"],
    }

    def cart() -> int:
        c = owner.create_cart(CartCreate(channel=Channel.WEB, location=s.location))
        owner.set_cart_line(c.id, CartLineSet(sku=s.skus[0], quantity=1))
        return c.id

    def order(delivered: bool = False) -> int:
        o = owner.checkout(CheckoutRequest(cart_id=cart()))
        if delivered:
            for to in (OrderStatus.ALLOCATED, OrderStatus.SHIPPED, OrderStatus.DELIVERED):
                staff.transition_order(o.id, to)
        return o.id

    def u() -> str:
        return uuid.uuid4().hex[:10]

    sku_row = {
        "sku": "",
        "product": "authz-p",
        "name": "Authz",
        "category": "authz-c",
        "cost_cents": 1,
        "list_price_cents": 2,
    }
    endpoints: dict[str, Callable[[], Req]] = {
        "get_sku": lambda: ("GET", f"/v1/skus/{s.skus[0]}", None),
        "search": lambda: ("GET", "/v1/search?q=item", None),
        "list_locations": lambda: ("GET", "/v1/locations", None),
        "get_prices": lambda: ("GET", f"/v1/prices?sku={s.skus[0]}&channel=web", None),
        "list_orders": lambda: ("GET", "/v1/orders", None),
        "create_cart": lambda: (
            "POST",
            "/v1/carts",
            {"channel": "web", "location": s.location, "customer_id": "cust-a"},
        ),
        "create_category": lambda: ("POST", "/v1/categories", {"code": u(), "name": "C"}),
        "import_skus": lambda: ("POST", "/v1/skus/import", [{**sku_row, "sku": u()}]),
        "create_location": lambda: (
            "POST",
            "/v1/locations",
            {"code": u(), "kind": "store", "name": "S", "lat": 0, "lon": 0},
        ),
        "stock_levels": lambda: ("POST", "/v1/stock/levels", {"skus": s.skus}),
        "receive": lambda: (
            "POST",
            "/v1/stock/receipts",
            {"location": s.location, "lines": [{"sku": s.skus[1], "quantity": 1}]},
        ),
        "transfer": lambda: (
            "POST",
            "/v1/stock/transfers",
            {
                "from_location": s.location,
                "to_location": staff.create_location(
                    LocationCreate(code=u(), kind=LocationKind.STORE, name="S", lat=0, lon=0)
                ).code,
                "lines": [{"sku": s.skus[1], "quantity": 1}],
            },
        ),
        "adjust": lambda: (
            "POST",
            "/v1/stock/adjustments",
            {"location": s.location, "sku": s.skus[1], "delta": 1, "reason": "count"},
        ),
        "pos_sales": lambda: (
            "POST",
            "/v1/stock/pos-sales",
            {"location": s.location, "sales": [{"sku": s.skus[1], "quantity": 1}]},
        ),
        "movements": lambda: ("GET", "/v1/stock/movements?limit=5", None),
        "set_prices": lambda: (
            "POST",
            "/v1/prices",
            [{"sku": s.skus[1], "channel": "app", "price_cents": 5}],
        ),
        "transition": lambda: ("POST", f"/v1/orders/{order()}/transition", {"to": "allocated"}),
        "expire_reservations": lambda: ("POST", "/v1/admin/expire-reservations", None),
        "expire_unpaid": lambda: ("POST", "/v1/admin/expire-unpaid-orders", None),
        "get_cart": lambda: ("GET", f"/v1/carts/{cart()}", None),
        "set_cart_line": lambda: (
            "PUT",
            f"/v1/carts/{cart()}/lines",
            {"sku": s.skus[0], "quantity": 2},
        ),
        "checkout": lambda: ("POST", "/v1/checkout", {"cart_id": cart()}),
        "get_order": lambda: ("GET", f"/v1/orders/{order()}", None),
        "cancel_order": lambda: ("POST", f"/v1/orders/{order()}/cancel", None),
        "return_order": lambda: (
            "POST",
            f"/v1/orders/{order(delivered=True)}/returns",
            {"lines": [{"sku": s.skus[0], "quantity": 1}]},
        ),
    }
    public = {
        "get_sku": 200,
        "search": 200,
        "list_locations": 200,
        "get_prices": 200,
        "list_orders": 200,
        "create_cart": 201,
    }
    staff_only = {
        "create_category": 201,
        "import_skus": 200,
        "create_location": 201,
        "stock_levels": 200,
        "receive": 201,
        "transfer": 201,
        "adjust": 201,
        "pos_sales": 200,
        "movements": 200,
        "set_prices": 200,
        "transition": 200,
        "expire_reservations": 200,
        "expire_unpaid": 200,
    }
    owned = {
        "get_cart": 200,
        "set_cart_line": 200,
        "checkout": 201,
        "get_order": 200,
        "cancel_order": 200,
        "return_order": 200,
    }
    expected: dict[tuple[str, str], int] = {}
    for name in endpoints:
        for role in ROLES:
            if role == "anon":
                code = 401
            elif name in public:
                code = public[name]
            elif name in staff_only:
                code = staff_only[name] if role in ("staff", "service") else 403
            else:
                code = 404 if role == "other" else owned[name]
            expected[(name, role)] = code

    actual: dict[tuple[str, str], int] = {}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for name, make in endpoints.items():
            for role in ROLES:
                method, path, body = make()
                headers = {"X-API-Key": keys[role]} if role != "anon" else {}
                resp = http.request(method, path, json=body, headers=headers)
                actual[(name, role)] = resp.status_code
                if resp.status_code >= 400:
                    assert set(resp.json()) == {"code", "message", "details"}
        # a customer's listing holds only its own orders
        mine = http.get("/v1/orders?limit=500", headers={"X-API-Key": keys["other"]}).json()[
            "items"
        ]
        assert {o["customer_id"] for o in mine} <= {"cust-b"}
    assert actual == expected
