"""Parse a bulk SKU import from CSV text.

Columns (header row required): ``sku, product, name, category, cost_cents, list_price_cents``
and optionally ``description`` and ``attributes`` (a JSON object of strings), or any number of
``attr_<name>`` columns.
"""

from __future__ import annotations

import csv
import io
import json

from pydantic import ValidationError

from api.errors import InvalidInputError
from api.schemas import SkuImportRow

REQUIRED = ("sku", "product", "name", "category", "cost_cents", "list_price_cents")


def parse_sku_csv(text: str) -> list[SkuImportRow]:
    """Rows of ``text`` as import rows.

    Raises:
        InvalidInputError: naming the line, the column and the bad value.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = reader.fieldnames or []
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise InvalidInputError(f"CSV header lacks columns {missing}", details={"missing": missing})
    rows: list[SkuImportRow] = []
    for line_no, rec in enumerate(reader, start=2):
        attrs: dict[str, str] = {}
        raw_attrs = rec.get("attributes") or ""
        if raw_attrs.strip():
            try:
                parsed = json.loads(raw_attrs)
            except json.JSONDecodeError as exc:
                raise InvalidInputError(
                    f"line {line_no}: attributes is not JSON: {raw_attrs[:60]!r}",
                    details={"line": line_no, "field": "attributes"},
                ) from exc
            if not isinstance(parsed, dict):
                raise InvalidInputError(
                    f"line {line_no}: attributes must be a JSON object",
                    details={"line": line_no, "field": "attributes"},
                )
            attrs.update({str(k): str(v) for k, v in parsed.items()})
        attrs.update({k[5:]: v for k, v in rec.items() if k and k.startswith("attr_") and v})
        try:
            rows.append(
                SkuImportRow(
                    sku=rec["sku"],
                    product=rec["product"],
                    name=rec["name"],
                    category=rec["category"],
                    description=rec.get("description") or "",
                    attributes=attrs,
                    cost_cents=int(rec["cost_cents"]),
                    list_price_cents=int(rec["list_price_cents"]),
                )
            )
        except (ValueError, TypeError, ValidationError) as exc:
            field = "?"
            if isinstance(exc, ValidationError) and exc.errors():
                field = ".".join(str(p) for p in exc.errors()[0]["loc"])
            raise InvalidInputError(
                f"line {line_no}: bad value in column {field}: {exc}".splitlines()[0],
                details={"line": line_no, "field": field},
            ) from exc
    return rows
