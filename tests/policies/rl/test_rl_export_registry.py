"""Export to the framework-free artifact, the registry, promotion rules and safe loading."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from policies.artifacts import (
    ArtifactNotFoundError,
    ArtifactNotValidatedError,
    ArtifactTamperedError,
    PromotionRefusedError,
    Registry,
    ValidationReport,
    load_artifact,
    load_validated,
    save_artifact,
)
from policies.envs.replenishment import ReplenishmentConfig
from policies.replenishment.base_stock import capped_base_stock_orders
from policies.rl.evaluate import validate_replenishment
from policies.rl.export import export_sb3

ROOT = Path(__file__).resolve().parents[3]


def _export(trained):  # type: ignore[no-untyped-def]
    cfg = ReplenishmentConfig(**trained.env_kwargs)
    return export_sb3(
        trained.model,
        mapping=cfg.action_mapping(),
        name="rep-test",
        env_id="ShopSphere/Replenishment-v0",
        obs_names=cfg.obs_names,
        vec_normalize=trained.venv,
        env_kwargs=trained.env_kwargs,
        seed=0,
    )


def _report(sha: str, *, better: bool = True, n: int = 6, safe: bool = True) -> ValidationReport:
    base = [6.2, 6.3, 6.1, 6.25, 6.15, 6.3, 6.2, 6.22][:n]
    pol = [b - (0.1 + 0.01 * i if better else -0.1) for i, b in enumerate(base)]
    return ValidationReport(
        artifact_sha256=sha,
        env_id="ShopSphere/Replenishment-v0",
        simulator="kernel",
        baseline="capped_base_stock",
        objective="cost",
        seeds=tuple(range(n)),
        policy_values=tuple(pol),
        baseline_values=tuple(base),
        p_value=0.001 if better else 0.9,
        alpha=0.05,
        safety={
            "orders_nonnegative": safe,
            "finite_outputs": True,
            "deterministic": True,
            "decisions_within_bounds": True,
        },
        periods=1000,
    )


def _evidence(*, better: bool = True, n: int = 6, safe: bool = True, sha: str | None = None):  # type: ignore[no-untyped-def]
    """A fake validation procedure (promotion computes evidence through it)."""

    def procedure(policy, artifact_sha256, *, seeds, periods, alpha):  # type: ignore[no-untyped-def]
        return _report(sha or artifact_sha256, better=better, n=n, safe=safe)

    return procedure


@pytest.mark.slow
def test_exported_actions_equal_sb3_actions_on_10000_observations(tiny_ppo, observations) -> None:  # type: ignore[no-untyped-def]
    import torch

    policy = _export(tiny_ppo)
    normed = tiny_ppo.venv.normalize_obs(observations)
    sb3, _ = tiny_ppo.model.predict(normed, deterministic=True)
    ours = policy.act(observations)
    logits = policy.forward(observations)
    with torch.no_grad():
        dist = tiny_ppo.model.policy.get_distribution(torch.as_tensor(normed))
        sb3_logp = dist.distribution.logits.numpy()
    ours_logp = (
        logits
        - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True))
        - logits.max(1, keepdims=True)
    )
    assert observations.shape[0] == 10_000
    np.testing.assert_allclose(ours_logp, sb3_logp, atol=1e-4)
    top2 = np.sort(logits, axis=1)[:, -2:]
    ties = (top2[:, 1] - top2[:, 0]) < 1e-5  # float32 rounding can only break near-exact ties
    assert np.array_equal(ours[~ties], sb3[~ties])
    assert np.mean(ours == sb3) >= 0.999


def test_exported_box_policy_matches_sb3_means() -> None:
    import gymnasium as gym
    from stable_baselines3 import PPO

    import policies.envs  # noqa: F401

    env = gym.make("ShopSphere/MultiEchelonReplenishment-v0", max_skus=5)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=64,
        batch_size=32,
        n_epochs=1,
        seed=0,
        policy_kwargs={"net_arch": [16]},
        verbose=0,
    )
    model.learn(64)
    unwrapped: Any = env.unwrapped
    policy = export_sb3(
        model,
        mapping=unwrapped.action_mapping(),
        name="me",
        env_id="x",
        obs_names=unwrapped.obs_names,
    )
    obs = (
        np.random.default_rng(0)
        .random((500, unwrapped.observation_space.shape[0]))
        .astype(np.float32)
        * 3
    )
    sb3, _ = model.predict(obs, deterministic=True)
    np.testing.assert_allclose(policy.act(obs), sb3, atol=1e-5)
    assert np.all(policy.decide(obs) >= 0)


def test_dqn_export_matches_sb3(observations) -> None:  # type: ignore[no-untyped-def]
    from stable_baselines3 import DQN

    from policies.envs.vec import make_replenishment_vec_env

    venv = make_replenishment_vec_env(4, seed=0, penalty_cost=9.0, lead_time=2)
    model = DQN(
        "MlpPolicy",
        venv,
        learning_starts=32,
        buffer_size=500,
        seed=0,
        policy_kwargs={"net_arch": [16]},
        verbose=0,
    )
    model.learn(128)
    cfg = ReplenishmentConfig(penalty_cost=9.0, lead_time=2)
    policy = export_sb3(
        model, mapping=cfg.action_mapping(), name="dqn", env_id="x", obs_names=cfg.obs_names
    )
    assert policy.activation == "relu"
    sb3, _ = model.predict(observations[:2000], deterministic=True)
    assert np.mean(policy.act(observations[:2000]) == sb3) > 0.999


def test_artifact_round_trip_and_order_up_to_mapping(
    tiny_ppo, tmp_path: Path, observations
) -> None:  # type: ignore[no-untyped-def]
    policy = _export(tiny_ppo)
    loaded = load_artifact(save_artifact(policy, tmp_path / "a"))
    np.testing.assert_array_equal(loaded.act(observations), policy.act(observations))
    orders = loaded.decide(observations)[:, 0]
    levels = loaded.act(observations)
    expected = np.clip(
        levels - observations[:, -1], 0, ReplenishmentConfig(**tiny_ppo.env_kwargs).order_cap
    )
    np.testing.assert_array_equal(orders, expected)
    assert loaded.manifest.env_id == "ShopSphere/Replenishment-v0"
    assert loaded.manifest.training_steps == tiny_ppo.model.num_timesteps


def test_validated_policy_loads_and_tampered_one_is_refused(
    tiny_ppo, tmp_path: Path, observations
) -> None:  # type: ignore[no-untyped-def]
    reg = Registry(tmp_path / "registry")
    entry = reg.register(_export(tiny_ppo))
    assert entry.status == "candidate" and entry.version == "v0001"
    with pytest.raises(ArtifactNotValidatedError, match="no validated version"):
        load_validated(reg.root, "rep-test")
    reg.promote("rep-test", "v0001", _evidence())
    policy = load_validated(reg.root, "rep-test")
    assert policy.decide(observations[:3]).shape == (3, 1)
    # flip one byte of the weights: the checksum no longer matches
    weights = entry.path / "weights.npz"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(
        ArtifactTamperedError, match=r"weights.npz has SHA-256 .* modified after registration"
    ):
        load_validated(reg.root, "rep-test")


def test_edited_manifest_or_forged_report_is_refused(tiny_ppo, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    reg = Registry(tmp_path)
    entry = reg.register(_export(tiny_ppo))
    reg.promote("rep-test", entry.version, _evidence())
    manifest = entry.path / "manifest.json"
    meta = json.loads(manifest.read_text())
    meta["env_id"] = "ShopSphere/Other-v0"
    manifest.write_text(json.dumps(meta))
    with pytest.raises(ArtifactTamperedError, match=r"manifest\.json"):
        reg.load_validated("rep-test")
    entry2 = reg.register(_export(tiny_ppo))
    status = entry2.path / "status.json"
    status.write_text(json.dumps({"status": "validated"}))  # forged status, no report
    with pytest.raises(ArtifactNotValidatedError, match="candidate, not validated"):
        reg.load_validated("rep-test", entry2.version)


def test_promotion_requires_significant_improvement_seeds_and_safety(
    tiny_ppo, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    reg = Registry(tmp_path)
    entry = reg.register(_export(tiny_ppo))
    sha = entry.artifact_sha256
    with pytest.raises(PromotionRefusedError, match="does not beat the baseline"):
        reg.promote("rep-test", entry.version, _evidence(better=False))
    with pytest.raises(PromotionRefusedError, match="only 3 seeds"):
        reg.promote("rep-test", entry.version, _evidence(n=3))
    with pytest.raises(PromotionRefusedError, match="failed safety checks: orders_nonnegative"):
        reg.promote("rep-test", entry.version, _evidence(safe=False))
    with pytest.raises(PromotionRefusedError, match="report is for artifact"):
        reg.promote("rep-test", entry.version, _evidence(sha="0" * 64))
    with pytest.raises(PromotionRefusedError, match="at least 5 required"):
        reg.promote("rep-test", entry.version, _evidence(), seeds=3)
    with pytest.raises(PromotionRefusedError, match="does not accept a validation report"):
        reg.promote("rep-test", entry.version, _report(sha))  # type: ignore[arg-type]
    assert reg.entry("rep-test", entry.version).status == "candidate"
    with pytest.raises(ArtifactNotFoundError):
        reg.load_validated("nope")


def test_kernel_validation_with_crn_refuses_an_undertrained_policy(
    tiny_ppo, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    reg = Registry(tmp_path)
    entry = reg.register(_export(tiny_ppo))
    policy = reg.load_candidate("rep-test", entry.version)
    report = validate_replenishment(
        policy,
        capped_base_stock_orders(19, 6),
        baseline_name="capped_base_stock",
        artifact_sha256=entry.artifact_sha256,
        seeds=(1, 2, 3, 4, 5),
        periods=400,
        penalty_cost=9.0,
        lead_time=2,
    )
    assert report.simulator == "kernel" and len(report.policy_values) == 5
    assert report.safety["orders_nonnegative"] and report.safety["finite_outputs"]
    # 512 training steps do not beat the best capped base-stock policy: promotion is refused
    assert not report.passed
    # promotion recomputes the evidence itself (default procedure) and refuses it as well
    with pytest.raises(PromotionRefusedError, match="not promoted"):
        reg.promote("rep-test", entry.version, seeds=5, periods=400)


def test_policies_artifacts_imports_without_torch_sb3_or_gymnasium() -> None:
    code = (
        "import sys; import policies.artifacts as a; "
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'stable_baselines3', 'gymnasium', 'twin', 'pandas')); print(heavy)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


TRAINED = Path(__file__).parent / "data" / "replenishment-p9-L1"


@pytest.mark.slow
def test_a_trained_policy_passes_crn_validation_is_promoted_and_served(tmp_path: Path) -> None:
    """The PPO artifact of benchmarks/rl_replenishment.py (p=9, L=1; exact cost 5.455 vs 5.481
    for the best capped base-stock) wins the paired test, is promoted and loads for serving."""
    from policies.rl.compare import validation_report

    reg = Registry(tmp_path)
    entry = reg.register(load_artifact(TRAINED))
    report = validation_report(
        reg.load_candidate(entry.name, entry.version), entry.artifact_sha256, seeds=8, periods=3000
    )
    assert report.passed, report.refusal_reasons()
    assert report.baseline.startswith("capped_base_stock") and report.simulator == "kernel"
    reg.promote(entry.name, entry.version)  # recomputes the same evidence itself
    stored = reg.report(entry.name, entry.version)
    assert stored is not None and stored.policy_values == report.policy_values
    served = load_validated(tmp_path, "replenishment-p9-L1")
    # L = 1: observation [available, inventory position] (equal: nothing else in the pipeline)
    orders = served.decide(np.array([[0, 0], [10, 10], [30, 30]], dtype=np.float32))[:, 0]
    assert orders[0] >= orders[1] >= orders[2] == 0 and orders[0] > 0
