"""Bad scenario input gives exact messages naming the path, the bad value and what is allowed."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from scenarios.errors import ScenarioError
from scenarios.schema import load_scenario

BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


def _baseline() -> dict[str, Any]:
    # dates stay text, as the scenario loader reads them
    text = BASELINE.read_text()
    return yaml.load(text, Loader=_TextDates)


class _TextDates(yaml.SafeLoader):
    pass


_TextDates.yaml_implicit_resolvers = {
    k: [(t, r) for t, r in v if t != "tag:yaml.org,2002:timestamp"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    """Set ``a.b[2].c`` in nested data; ``value=DELETE`` removes the key."""
    parts: list[str | int] = []
    for chunk in path.split("."):
        name, *idx = chunk.split("[")
        parts.append(name)
        parts += [int(i.rstrip("]")) for i in idx]
    node: Any = data
    for p in parts[:-1]:
        node = node[p]
    if value is DELETE:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value


DELETE = object()

FLASH = {"kind": "flash_sale", "start_day": 1, "end_day": 2, "discount": 0.2}

# (edits, exact problem lines "path: message")
CASES: list[tuple[str, list[tuple[str, Any]], list[str]]] = [
    (
        "latitude out of range",
        [("world.stores[2].lat", 123.0)],
        ["world.stores[2].lat: 123.0 is not a latitude (-90..90)"],
    ),
    (
        "longitude out of range",
        [("world.stores[0].lon", -200.5)],
        ["world.stores[0].lon: -200.5 is not a longitude (-180..180)"],
    ),
    (
        "text where an integer belongs (strict: no coercion)",
        [("catalog.n_skus", "200")],
        ["catalog.n_skus: '200' is not an integer"],
    ),
    (
        "a float where an integer belongs",
        [("duration_days", 28.5)],
        ["duration_days: 28.5 is not an integer"],
    ),
    (
        "a boolean is not an integer",
        [("seed", True)],
        ["seed: true is not an integer"],
    ),
    (
        "count below its minimum",
        [("catalog.n_skus", 0)],
        ["catalog.n_skus: 0 is out of range (allowed: >= 1)"],
    ),
    (
        "probability above one",
        [("world.suppliers[0].reliability", 1.5)],
        ["world.suppliers[0].reliability: 1.5 is not a probability (0..1)"],
    ),
    (
        "negative lead times are impossible",
        [("world.suppliers[1].lead_time_days", {"kind": "uniform", "low": -1, "high": 3})],
        [
            "world.suppliers[1].lead_time_days: uniform(-1.0..3.0) is not a lead time (allowed: "
            ">= 0 days)"
        ],
    ),
    (
        "unknown distribution kind",
        [("catalog.base_demand", {"kind": "gama", "mean": 3, "cv": 1})],
        [
            "catalog.base_demand.kind: 'gama' is not a known kind "
            "(allowed: fixed, uniform, lognormal, gamma, poisson, pmf)"
        ],
    ),
    (
        "distribution without a kind",
        [("catalog.cost_ratio", {"low": 0.4, "high": 0.6})],
        [
            "catalog.cost_ratio.kind: missing (required; allowed: fixed, uniform, lognormal, "
            "gamma, poisson, pmf)"
        ],
    ),
    (
        "pmf probabilities must sum to one",
        [
            (
                "world.suppliers[0].lead_time_days",
                {"kind": "pmf", "values": [1, 2], "probs": [0.5, 0.6]},
            )
        ],
        [
            "world.suppliers[0].lead_time_days.probs: probabilities sum to 1.1, not 1 (allowed: "
            "sum 1 ± 1e-6)"
        ],
    ),
    (
        "misspelt key gets a did-you-mean and the missing key is reported",
        [("catalog.n_skus", DELETE), ("catalog.n_skuz", 200)],
        [
            "catalog.n_skus: missing (required)",
            "catalog.n_skuz: unknown key 'n_skuz' (did you mean 'n_skus'?) (allowed: n_skus, "
            "n_categories, "
            "category_names, price_cents, cost_ratio, base_demand, weekly_seasonality, "
            "yearly_seasonality, "
            "holidays, elasticity, substitution_probability, perishability, initial_stock_days, "
            "store_affinity_sd, holding_cost_rate_per_year)",
        ],
    ),
    (
        "unknown event kind",
        [("events", [{"kind": "flash", "start_day": 1, "end_day": 2}])],
        [
            "events[0].kind: 'flash' is not a known kind (allowed: flash_sale, "
            "supplier_disruption, weather_shock, holiday)"
        ],
    ),
    (
        "event window backwards",
        [("events", [{**FLASH, "start_day": 5, "end_day": 3}])],
        ["events[0].end_day: 3.0 is not after start_day 5.0 (allowed: > start_day)"],
    ),
    (
        "closing before opening",
        [("world.stores[2].opening_hours", {"open": 10, "close": 9.5})],
        ["world.stores[2].opening_hours.close: 9.5 is not after open 10.0 (allowed: > open)"],
    ),
    (
        "uniform upside down",
        [("catalog.cost_ratio", {"kind": "uniform", "low": 0.7, "high": 0.5})],
        ["catalog.cost_ratio.high: 0.5 is below low 0.7 (allowed: >= low)"],
    ),
    (
        "discount of 100% is not a sale",
        [("events", [{**FLASH, "discount": 1.0}])],
        ["events[0].discount: 1.0 is out of range (allowed: <= 0.95)"],
    ),
    (
        "channel shares must sum to one",
        [("customers.channel_mix", {"web": 0.5, "app": 0.5, "store": 0.5})],
        ["customers.channel_mix: web + app + store = 1.5, not 1 (allowed: sum 1 ± 1e-6)"],
    ),
    (
        "impossible calendar date",
        [("start_date", "2026-02-30")],
        ["start_date: '2026-02-30' is not a date (allowed: YYYY-MM-DD)"],
    ),
    (
        "http mode needs a URL",
        [("commerce", {"mode": "http", "base_url": "localhost:8000"})],
        [
            "commerce.base_url: 'localhost:8000' is not an http(s) URL (allowed: "
            "http://host[:port][/path] or https://...)"
        ],
    ),
    (
        "unknown commerce mode",
        [("commerce", {"mode": "grpc"})],
        ["commerce.mode: 'grpc' is not a known mode (allowed: inprocess, http)"],
    ),
    (
        "weekly seasonality needs seven days",
        [("catalog.weekly_seasonality", [1, 1, 1, 1, 1, 1])],
        ["catalog.weekly_seasonality: 6 items are too few (allowed: at least 7)"],
    ),
    (
        "store refers to a warehouse that does not exist",
        [("world.stores[0].warehouse", "W-1")],
        [
            "world.stores[0].warehouse: 'W-1' is not a known warehouse (did you mean 'W1'?) "
            "(allowed: W1)"
        ],
    ),
    (
        "a far-off name gets no suggestion",
        [("world.fleet.vehicles[0].depot", "Hamburg")],
        ["world.fleet.vehicles[0].depot: 'Hamburg' is not a known warehouse (allowed: W1)"],
    ),
    (
        "duplicate store code",
        [("world.stores[1].code", "S01")],
        [
            "world.stores[1].code: 'S01' is a duplicate location code (already at "
            "world.stores[0].code; allowed: unique codes)"
        ],
    ),
    (
        "warm-up as long as the run",
        [("warmup_days", 21)],
        ["warmup_days: 21 is not shorter than duration_days 21 (allowed: 0..20)"],
    ),
    (
        "weather shock names an unknown category",
        [
            (
                "events",
                [
                    {
                        "kind": "weather_shock",
                        "start_day": 1,
                        "end_day": 3,
                        "category_multipliers": {"beverage": 2.0},
                    }
                ],
            )
        ],
        [
            "events[0].category_multipliers.beverage: 'beverage' is not a known category (did you "
            "mean "
            "'beverages'?) (allowed: dairy, bakery, produce, beverages, snacks, frozen, "
            "household, personal_care)"
        ],
    ),
    (
        "disruption of an unknown supplier, with both a multiplier and an outage",
        [
            (
                "events",
                [
                    {
                        "kind": "supplier_disruption",
                        "supplier": "SUP-C",
                        "start_day": 1,
                        "end_day": 3,
                        "outage": True,
                    },
                    {
                        "kind": "supplier_disruption",
                        "supplier": "SUP-A",
                        "start_day": 1,
                        "end_day": 3,
                        "outage": True,
                        "lead_time_multiplier": 2.0,
                    },
                ],
            )
        ],
        [
            "events[1]: give either lead_time_multiplier or outage: true (allowed: exactly one)",
        ],
    ),
    (
        "unknown supplier in a disruption",
        [
            (
                "events",
                [
                    {
                        "kind": "supplier_disruption",
                        "supplier": "SUP-C",
                        "start_day": 1,
                        "end_day": 3,
                        "outage": True,
                    }
                ],
            )
        ],
        [
            "events[0].supplier: 'SUP-C' is not a known supplier (did you mean 'SUP-B'?) "
            "(allowed: SUP-A, SUP-B)"
        ],
    ),
    (
        "flash sale on a SKU the catalog does not have",
        [("events", [{**FLASH, "skus": ["SKU000001", "SKU000201"]}])],
        [
            "events[0].skus[1]: 'SKU000201' is not a SKU of this catalog (allowed: "
            "SKU000001..SKU000200)"
        ],
    ),
    (
        "category names must match the count",
        [("catalog.n_categories", 9)],
        ["catalog: 8 category_names for n_categories 9 (allowed: equal)"],
    ),
]


@pytest.mark.parametrize(
    ("edits", "expected"), [(e, x) for _, e, x in CASES], ids=[c[0] for c in CASES]
)
def test_bad_scenario_lists_exact_problems(
    tmp_path: Path, edits: list[tuple[str, Any]], expected: list[str]
) -> None:
    data = copy.deepcopy(_baseline())
    for path, value in edits:
        _set(data, path, value)
    file = tmp_path / "bad.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert [str(p) for p in info.value.problems] == expected
    # every problem carries a line in the file, and the text names the file and line
    for p in info.value.problems:
        assert p.line is not None and p.line >= 1
        assert f"{file}:{p.line}: {p}" in str(info.value)


def test_unknown_policy_name_suggests_the_registered_one(tmp_path: Path) -> None:
    from policies import registry

    known = registry.available("replenishment")["replenishment"]
    assert "base_stock" in known
    data = _baseline()
    _set(data, "policies.replenishment.name", "base_stok")
    file = tmp_path / "p.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    assert [str(p) for p in info.value.problems] == [
        "policies.replenishment.name: 'base_stok' is not a replenishment policy (did you mean "
        f"'base_stock'?) (allowed: {', '.join(known)})"
    ]
    # the check can be switched off, e.g. for a policy registered at run time
    assert load_scenario(file, check_policies=False).policies.replenishment.name == "base_stok"


def test_unknown_policy_parameter_is_named(tmp_path: Path) -> None:
    data = _baseline()
    _set(data, "policies.replenishment", {"name": "base_stock", "params": {"base_stok": 3}})
    file = tmp_path / "p.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as info:
        load_scenario(file)
    (problem,) = info.value.problems
    assert problem.path == "policies.replenishment.params.base_stok"
    assert problem.message.startswith(
        "unknown parameter 'base_stok' of replenishment policy 'base_stock' (did you mean "
        "'base_stock'?)"
    )
