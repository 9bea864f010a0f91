"""Upper bounds on scenario magnitudes: what the commerce API, the calendar and memory accept.

A scenario inside these bounds either runs or fails with a clean error; one outside them is
refused by ``validate`` with the path and the value, instead of crashing on an overflow, an
out-of-range date or an allocation hours into a run. The API's own limits (``api.schemas``:
``MAX_QTY`` 1,000,000 units per line, ``MAX_CENTS`` 10**10, lead times 0..365 days) are
restated here because ``scenarios`` must not import ``api``; the twin multiplies several of
these values together, so the scenario limits sit well inside the API's.

Units are those of the fields they bound (cents, units, days, units/day).
"""

from __future__ import annotations

from datetime import date

__all__ = [
    "MAX_BASKET_ITEMS",
    "MAX_CAPACITY_UNITS",
    "MAX_COST_CENTS",
    "MAX_DAILY_UNITS",
    "MAX_DAYS",
    "MAX_DEMAND_PER_SKU",
    "MAX_DISTANCE_KM",
    "MAX_END_DATE",
    "MAX_LEAD_TIME_DAYS",
    "MAX_LIST_ITEMS",
    "MAX_LOCATIONS",
    "MAX_MULTIPLIER",
    "MAX_PARAM_MAGNITUDE",
    "MAX_POPULATION",
    "MAX_PRICE_CENTS",
    "MAX_SEED",
    "MAX_SHELF_LIFE_DAYS",
    "MAX_SKUS",
    "MAX_SKU_LOCATIONS",
    "MAX_STORE_M2",
    "MAX_TEXT",
    "MAX_VEHICLES",
    "MAX_YAML_BYTES",
    "MAX_YAML_DEPTH",
    "MAX_YAML_NODES",
    "MIN_ELASTICITY",
    "MIN_START_DATE",
    "TAIL_QUANTILE",
]

# ---- reading the file ----------------------------------------------------------------------
MAX_YAML_BYTES = 8 * 1024 * 1024
"""A scenario file is a few kilobytes; 8 MiB leaves room for long explicit lists."""
MAX_YAML_DEPTH = 32
"""Nesting depth of mappings and lists (the schema needs 6)."""
MAX_YAML_NODES = 200_000
"""Values in the file once aliases are expanded (refuses alias bombs before construction)."""
MAX_TEXT = 10_000
"""Characters in a free-text field (names, descriptions, URLs)."""
MAX_LIST_ITEMS = 10_000
"""Items in a list such as events, holidays or segments."""

# ---- time ------------------------------------------------------------------------------------
MAX_SEED = 2**63 - 1
"""Seeds are stored as signed 64-bit integers (run.json, Parquet, the API)."""
MIN_START_DATE = date(1900, 1, 1)
MAX_END_DATE = date(2999, 12, 31)
"""The last simulated day; datetimes of the whole run (and its holidays) must exist."""
MAX_DAYS = 3660
"""Duration and warm-up of a run, and event windows: ten years of simulated days."""

# ---- sizes (memory: arrays are SKUs x locations) --------------------------------------------
MAX_SKUS = 200_000
MAX_LOCATIONS = 2_000
MAX_SKU_LOCATIONS = 20_000_000
"""SKUs x (stores + warehouses): one float64 array of this size is 160 MB."""
MAX_POPULATION = 100_000_000
MAX_VEHICLES = 10_000
MAX_STORE_M2 = 100_000.0
MAX_CAPACITY_UNITS = 10**9
MAX_DISTANCE_KM = 20_000.0

# ---- money and quantities ------------------------------------------------------------------
MAX_PRICE_CENTS = 10**8
"""A list price of at most 1,000,000.00 (the API allows 10**10 cents for totals)."""
MAX_COST_CENTS = 10**9
"""Fixed costs per order, per km."""
MAX_DEMAND_PER_SKU = 10_000.0
"""Units/day of one SKU at a reference store."""
MAX_DAILY_UNITS = 10_000_000.0
"""Expected units/day over the whole chain, before events (keeps one simulated day bounded)."""
MAX_BASKET_ITEMS = 1_000.0
MAX_LEAD_TIME_DAYS = 365.0
"""Same bound as the API's ``arrives_in_days``."""
MAX_SHELF_LIFE_DAYS = 3650.0
MAX_MULTIPLIER = 1_000.0
"""A demand, traffic or lead-time multiplier (and their product with price effects)."""
MIN_ELASTICITY = -20.0
MAX_PARAM_MAGNITUDE = 1e9
"""Numbers given as policy parameters (order-up-to levels, costs, multipliers)."""

TAIL_QUANTILE = 1.0 - 1e-9
"""Unbounded distributions are bounded by this quantile: a draw beyond it is a 1e-9 event."""
