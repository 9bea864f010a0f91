"""`evaluate` compares policies with paired intervals over common random numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies.artifacts import load_artifact
from policies.rl.compare import compare_policy

TRAINED = Path(__file__).parent / "data" / "replenishment-p9-L1"


@pytest.mark.slow
def test_baselines_carry_a_paired_interval_narrower_than_the_separate_ones() -> None:
    rows = compare_policy(load_artifact(TRAINED), seeds=4, periods=800)
    by_name = {r["policy"]: r for r in rows if "diff_vs_learned" in r}
    learned = next(r for name, r in by_name.items() if name.startswith("learned"))
    assert learned["diff_vs_learned"] == 0.0 and learned["diff_half_width"] == 0.0
    capped = by_name["capped base-stock"]
    assert abs(capped["diff_vs_learned"] - (capped["mean"] - learned["mean"])) < 1e-12
    # common random numbers: the paired interval is much narrower than either separate one
    assert 0.0 < capped["diff_half_width"] < min(capped["half_width"], learned["half_width"])
