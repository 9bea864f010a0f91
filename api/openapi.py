"""The OpenAPI document: every component present, typed 4xx answers, request examples.

FastAPI generates the document from the routes; :func:`install_openapi` completes it once, on
first request of ``/openapi.json``:
- components a route reads by hand (the SKU import reads its body itself) are added;
- every operation declares the typed error answers (:class:`api.schemas.ErrorBody`) it can give
  (401, 403, 404, 409, 413, 422, 503; 402 for checkout) instead of FastAPI's default 422 shape;
- every JSON request body carries an example.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

from api.schemas import ErrorBody, SkuImportRow

ERRORS: dict[str, str] = {
    "400": "Malformed request (e.g. a body that is not JSON).",
    "401": "Missing, unknown or revoked API key.",
    "403": "The key's role may not do this.",
    "404": "A resource named in the request does not exist.",
    "409": "Conflict: insufficient stock, invalid transition, idempotency key in progress, ...",
    "413": "Request body over the size limit.",
    "422": "Invalid input: the field and the bad value are named.",
    "503": "Database unavailable or overloaded; retry after ``Retry-After`` seconds.",
}
EXTRA_COMPONENTS: tuple[type[BaseModel], ...] = (SkuImportRow, ErrorBody)

_SKU = "SKU-001"
_LOC = "WH-1"
EXAMPLES: dict[str, object] = {
    "CategoryCreate": {"code": "snacks", "name": "Snacks", "parent_code": None},
    "SkuImportRow": {
        "sku": _SKU,
        "product": "P-001",
        "name": "Sea salt crisps 150 g",
        "category": "snacks",
        "description": "Kettle-cooked",
        "attributes": {"brand": "Acme"},
        "cost_cents": 80,
        "list_price_cents": 199,
    },
    "LocationCreate": {
        "code": _LOC,
        "kind": "warehouse",
        "name": "Berlin DC",
        "lat": 52.5,
        "lon": 13.4,
    },
    "StockQuery": {"skus": [_SKU], "locations": [_LOC]},
    "ReceiptCreate": {
        "location": _LOC,
        "lines": [{"sku": _SKU, "quantity": 24}],
        "reference": "PO-1",
    },
    "TransferCreate": {
        "from_location": _LOC,
        "to_location": "ST-1",
        "lines": [{"sku": _SKU, "quantity": 6}],
        "reference": "TR-1",
    },
    "AdjustmentCreate": {"location": _LOC, "sku": _SKU, "delta": -2, "reason": "damaged"},
    "PosSaleBatch": {
        "location": "ST-1",
        "sales": [{"sku": _SKU, "quantity": 1, "unit_price_cents": 199}],
        "reference": "till-3",
    },
    "PriceSet": {
        "sku": _SKU,
        "channel": "web",
        "price_cents": 179,
        "valid_from": "2026-12-01T00:00:00Z",
        "valid_to": None,
    },
    "CartCreate": {"channel": "web", "location": _LOC, "customer_id": None},
    "CartLineSet": {"sku": _SKU, "quantity": 2},
    "CheckoutRequest": {
        "lines": [{"sku": _SKU, "quantity": 2}],
        "location": _LOC,
        "channel": "web",
        "payment_token": "tok_ok",
    },
    "OrderTransition": {"to": "allocated"},
    "ReturnCreate": {"lines": [{"sku": _SKU, "quantity": 1}], "restock": True},
    "ReplenishmentPlanRequest": {"location": _LOC, "skus": [_SKU], "lead_time_days": 2},
    "PriceQuoteRequest": {"skus": [_SKU], "channel": "web", "apply": False},
}


def _component(schema: dict[str, Any], model: type[BaseModel]) -> None:
    comps = schema.setdefault("components", {}).setdefault("schemas", {})
    js = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, sub in js.pop("$defs", {}).items():
        comps.setdefault(name, sub)
    comps.setdefault(model.__name__, js)


def _example_for(body_schema: dict[str, Any]) -> object | None:
    ref = body_schema.get("$ref")
    if isinstance(ref, str):
        return EXAMPLES.get(ref.rsplit("/", 1)[-1])
    items = body_schema.get("items")
    if body_schema.get("type") == "array" and isinstance(items, dict):
        one = _example_for(items)
        return None if one is None else [one]
    return None


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the missing components, typed error answers and request examples (in place)."""
    for model in EXTRA_COMPONENTS:
        _component(schema, model)
    err_ref = {"$ref": "#/components/schemas/ErrorBody"}
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            if not isinstance(op, dict) or "responses" not in op:
                continue
            responses = op["responses"]
            codes = dict(ERRORS)
            if path.endswith("/checkout"):
                codes["402"] = (
                    "Payment declined or timed out (``details.order_id`` names the order)."
                )
            if method == "get":
                codes.pop("413", None)
            for code, text in codes.items():
                responses[code] = {
                    "description": text,
                    "content": {"application/json": {"schema": err_ref}},
                }
            body = op.get("requestBody", {}).get("content", {})
            for media, spec in body.items():
                if "json" not in media or not isinstance(spec, dict):
                    continue
                example = _example_for(spec.get("schema", {}))
                if example is not None:
                    spec.setdefault("example", example)
    comps = schema.get("components", {}).get("schemas", {})
    text = str(schema.get("paths"))
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in comps and f"schemas/{unused}'" not in text:
            del comps[unused]
    return schema


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at ``/openapi.json``."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(
                get_openapi(
                    title=app.title,
                    version=app.version,
                    openapi_version=app.openapi_version,
                    description=app.description,
                    routes=app.routes,
                )
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
