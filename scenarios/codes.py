"""Generated codes of a scenario's catalog: ``SKU000001`` for the first of ``n_skus`` SKUs."""

from __future__ import annotations

__all__ = ["SKU_PREFIX", "sku_code", "sku_index"]

SKU_PREFIX = "SKU"


def sku_code(index: int, n_skus: int) -> str:
    """The generated code of SKU ``index`` (0-based): ``SKU000001`` for index 0."""
    width = max(6, len(str(n_skus)))
    return f"{SKU_PREFIX}{index + 1:0{width}d}"


def sku_index(code: str, n_skus: int) -> int | None:
    """Inverse of :func:`sku_code`; None if ``code`` is not a SKU of an ``n_skus`` catalog."""
    if not code.startswith(SKU_PREFIX) or not code[len(SKU_PREFIX) :].isdigit():
        return None
    index = int(code[len(SKU_PREFIX) :]) - 1
    return index if 0 <= index < n_skus and sku_code(index, n_skus) == code else None
