"""The ``policies`` package: cheap to import, and a plain package (``policies.evaluate`` is an
ordinary module whose ``evaluate`` function estimates a policy's cost)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = """
from policies.exact.demand import poisson_demand
from policies.exact.dp import InventoryMDP
from policies.replenishment import BaseStock
mdp = InventoryMDP(poisson_demand(5.0), lead_time=1, holding=1.0, penalty=9.0, lost_sales=False)
"""


def _run(script: str) -> list[object]:
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    result: list[object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.slow
def test_policies_evaluate_is_a_plain_module_with_an_evaluate_function() -> None:
    got = _run(
        "import policies\nfrom policies.evaluate import evaluate\n"
        + RUN
        + """
import json, types
import policies.evaluate as module
a = evaluate(BaseStock(12), mdp, 2000, 3)
print(json.dumps([a.average_cost > 0, module.evaluate is evaluate,
                  type(module) is types.ModuleType, callable(module)]))
"""
    )
    assert got == [True, True, True, False]


def test_importing_policies_loads_no_numpy_twin_or_training_code() -> None:
    got = _run("""
import json, sys
import policies
heavy = {"numpy", "scipy", "twin", "torch", "gymnasium", "stable_baselines3"}
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & heavy)))
""")
    assert got == []
