"""Key performance indicators of a twin run, per day and location, and in total.

Units: money in integer cents, quantities in units, time in days (cycle times in hours).

Definitions (over the run's simulated days after ``warmup`` days; ``daily.parquet`` keeps
every day):

* ``demand_units``: units customers asked for (the wanted SKU, before substitution).
* ``units_sold``: units handed to customers (store POS and online orders), substitutes included.
* ``substituted_units``: units sold in place of an out-of-stock SKU of the same category.
* ``lost_units``: demand not served at all (out of stock and no substitute taken).
* ``fill_rate``: share of demanded units served from the wanted SKU itself,
  ``(units_sold - substituted_units) / demand_units``.
* ``service_level``: share of demanded units served at all, ``1 - lost_units / demand_units``.
* ``availability``: share of store SKU-location-days with stock on hand at the close of the day
  (the platform's goal is 0.999); ``stockout_sku_days`` counts the others.
* ``holding_cost_cents``: ``annual holding rate / 365`` x on-hand value at cost, per day,
  summed over days and locations (stores and warehouses).
* ``avg_on_hand_units``: mean over days of the units on hand at close, all locations.
* ``inventory_turns``: annualised ``COGS / average inventory value at cost``.
* ``online_cycle_time_hours``: order placed -> delivered, mean and p95 (0 when nothing was
  delivered: read it with ``online_undelivered``, the orders not delivered by the end).
* per-km and per-order delivery costs, van km and utilisation: ``fleet_*`` (from
  :meth:`twin.fleet.Fleet.kpis`); ``van_km`` (the fleet's road km) and
  ``delivery_cost_cents`` (those km at the fleet's mean ``cost_per_km_cents``).
* ``purchase_orders``, ``order_cost_cents``: supplier orders placed and their fixed costs.
* ``refused_units``: delivered units that did not fit a location's ``capacity_units`` (sent
  back to the warehouse, or to the supplier).
* ``api``: calls, errors and latency per client method (from the recording client).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

DAILY_FIELDS = (
    "revenue_cents",
    "cogs_cents",
    "demand_units",
    "units_sold",
    "substituted_units",
    "lost_units",
    "sessions",
    "online_orders",
    "received_units",
    "write_off_units",
    "on_hand_units",
    "on_hand_value_cents",
    "stockout_skus",
    "carried_skus",
    "holding_cost_cents",
    "purchase_orders",
    "order_cost_cents",
    "refused_units",
)


@dataclass(slots=True)
class KpiBook:
    """Daily KPIs per location: ``self.data[name]`` has shape ``(days, n_locations)``."""

    days: int
    locations: list[str]
    is_store: np.ndarray
    annual_holding_rate: float = 0.25
    warmup: int = 0
    data: dict[str, np.ndarray] = field(default_factory=dict)
    cycle_times_hours: list[tuple[int, float]] = field(default_factory=list)  # (order day, hours)
    cost_per_km_cents: float = 0.0  # the fleet's mean per-km cost (weighted by vehicle count)

    def __post_init__(self) -> None:
        shape = (self.days, len(self.locations))
        self.data = {
            name: np.zeros(shape, dtype=np.float64 if name == "holding_cost_cents" else np.int64)
            for name in DAILY_FIELDS
        }

    def add(self, name: str, day: int, loc: int, value: float) -> None:
        """Add ``value`` to ``name`` for one day and location (ignored past the horizon)."""
        if 0 <= day < self.days:
            self.data[name][day, loc] += value

    def close_day(
        self, day: int, on_hand: np.ndarray, unit_cost_cents: np.ndarray, carried: np.ndarray
    ) -> None:
        """Record the stock at the close of ``day``.

        Args:
            on_hand: units on hand, shape ``(n_locations, n_skus)``.
            unit_cost_cents: unit cost per SKU, shape ``(n_skus,)``.
            carried: which SKU-locations are stocked at all, boolean ``(n_locations, n_skus)``.
        """
        if not 0 <= day < self.days:
            return
        value = on_hand @ unit_cost_cents.astype(np.float64)
        d = self.data
        d["on_hand_units"][day] = on_hand.sum(axis=1)
        d["on_hand_value_cents"][day] = np.rint(value).astype(np.int64)
        d["stockout_skus"][day] = ((on_hand <= 0) & carried).sum(axis=1)
        d["carried_skus"][day] = carried.sum(axis=1)
        d["holding_cost_cents"][day] = value * self.annual_holding_rate / 365.0

    # ---- summaries -----------------------------------------------------------------------
    def network_daily(self) -> dict[str, np.ndarray]:
        """Per-day totals over all locations, plus daily availability and fill rate."""
        out = {name: arr.sum(axis=1) for name, arr in self.data.items()}
        stores = self.is_store
        carried = self.data["carried_skus"][:, stores].sum(axis=1)
        out_skus = self.data["stockout_skus"][:, stores].sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            out["availability"] = np.where(
                carried > 0, 1.0 - out_skus / np.maximum(carried, 1), 1.0
            )
            dem = out["demand_units"]
            direct = out["units_sold"] - out["substituted_units"]
            out["fill_rate"] = np.where(dem > 0, direct / np.maximum(dem, 1), 1.0)
        return out

    def totals(self) -> dict[str, float]:
        """The run's headline KPIs over the days after the warm-up (module docstring)."""
        w = self.warmup
        data = {name: arr[w:] for name, arr in self.data.items()}
        days = self.days - w
        d = {name: arr.sum() for name, arr in data.items()}
        revenue = int(d["revenue_cents"])
        cogs = int(d["cogs_cents"])
        demand = int(d["demand_units"])
        sold = int(d["units_sold"])
        subst = int(d["substituted_units"])
        lost = int(d["lost_units"])
        stores = self.is_store
        carried = int(data["carried_skus"][:, stores].sum())
        stockouts = int(data["stockout_skus"][:, stores].sum())
        avg_value = float(data["on_hand_value_cents"].sum(axis=1).mean()) if days else 0.0
        avg_units = float(data["on_hand_units"].sum(axis=1).mean()) if days else 0.0
        cycle = np.asarray([h for d, h in self.cycle_times_hours if d >= w], dtype=float)
        return {
            "days": days,
            "warmup_days": w,
            "revenue_cents": revenue,
            "gross_margin_cents": revenue - cogs,
            "gross_margin_pct": (revenue - cogs) / revenue if revenue else 0.0,
            "units_sold": sold,
            "demand_units": demand,
            "substituted_units": subst,
            "lost_units": lost,
            "fill_rate": (sold - subst) / demand if demand else 1.0,
            "service_level": 1.0 - lost / demand if demand else 1.0,
            "availability": 1.0 - stockouts / carried if carried else 1.0,
            "stockout_sku_days": stockouts,
            "holding_cost_cents": round(float(d["holding_cost_cents"])),
            "avg_on_hand_units": avg_units,
            "avg_inventory_value_cents": avg_value,
            "inventory_turns": (cogs / avg_value) * (365.0 / days) if avg_value and days else 0.0,
            "sessions": int(d["sessions"]),
            "online_orders": int(d["online_orders"]),
            "online_delivered": int(cycle.size),
            # orders placed in the KPI window and not delivered by the end of the run: a fleet
            # that delivers nothing shows here, not as a 0 h cycle time
            "online_undelivered": max(0, int(d["online_orders"]) - int(cycle.size)),
            "online_cycle_time_hours_mean": float(cycle.mean()) if cycle.size else 0.0,
            "online_cycle_time_hours_p95": float(np.percentile(cycle, 95)) if cycle.size else 0.0,
            "received_units": int(d["received_units"]),
            "write_off_units": int(d["write_off_units"]),
            "purchase_orders": int(d["purchase_orders"]),
            "order_cost_cents": int(d["order_cost_cents"]),
            "refused_units": int(d["refused_units"]),
        }

    def daily_rows(self) -> dict[str, np.ndarray]:
        """Long-format columns (one row per day and location) for ``daily.parquet``."""
        days, n_loc = self.days, len(self.locations)
        cols: dict[str, np.ndarray] = {
            "day": np.repeat(np.arange(days), n_loc),
            "location": np.tile(np.asarray(self.locations, dtype=object), days),
        }
        for name, arr in self.data.items():
            cols[name] = arr.reshape(-1)
        return cols
