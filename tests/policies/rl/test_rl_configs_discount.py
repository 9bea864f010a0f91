"""The shipped PPO configs are legacy baselines and discount as average-cost problems need."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

CONFIGS = sorted((Path(__file__).resolve().parents[3] / "configs" / "rl").glob("*.yaml"))


def test_there_are_shipped_rl_configs() -> None:
    assert len(CONFIGS) >= 4


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_ppo_config_discounts_at_least_0_999_and_is_marked_legacy(path: Path) -> None:
    text = path.read_text()
    cfg = yaml.safe_load(text)
    gamma = float(cfg.get("algo_kwargs", {}).get("gamma", 0.99))
    assert gamma >= 0.999, f"{path.name}: gamma {gamma}"
    assert text.startswith("# LEGACY BASELINE"), f"{path.name} must say it is a legacy baseline"
