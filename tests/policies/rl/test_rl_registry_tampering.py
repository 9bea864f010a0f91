"""A registry that can't be fooled: keyed signatures, evidence recomputed at promotion, and
safety checks on the decisions as served. Every tampering attempt is refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from policies.artifacts import (
    ActionMapping,
    ArtifactKeyError,
    ArtifactTamperedError,
    FrameworkFreePolicy,
    Manifest,
    ObsNormalization,
    PromotionRefusedError,
    Registry,
    ValidationReport,
    load_validated,
    safety_checks,
    sha256_file,
)
from policies.artifacts.registry import REQUIRED_SAFETY_CHECKS
from policies.artifacts.signing import SigningSettings, signing_key

KEY = b"test-signing-key-0123456789abcdef"


def _order_up_to(level: int, lead_time: int = 1, cap: float = 12.0) -> FrameworkFreePolicy:
    """A Replenishment-v0 artifact that always picks order-up-to ``level`` (orders capped)."""
    n_actions, obs_dim = 32, max(lead_time, 1) + 1
    bias = np.zeros(n_actions)
    bias[level] = 1.0
    return FrameworkFreePolicy(
        weights=(np.zeros((n_actions, obs_dim)),),
        biases=(bias,),
        activation="tanh",
        normalization=ObsNormalization.identity(obs_dim),
        mapping=ActionMapping(
            kind="discrete",
            decision_names=("order_units",),
            decision_low=np.zeros(1),
            decision_high=np.array([cap]),
            table=np.arange(n_actions, dtype=float)[:, None],
            integer=True,
            relative_obs_index=obs_dim - 1,
        ),
        manifest=Manifest(
            name="repl",
            env_id="ShopSphere/Replenishment-v0",
            algo="PPO",
            obs_names=tuple(f"o{i}" for i in range(obs_dim)),
            env_kwargs={"lead_time": lead_time, "demand_mean": 5.0, "penalty_cost": 9.0},
        ),
    )


def _passing_evidence(policy, artifact_sha256, *, seeds, periods, alpha):  # type: ignore[no-untyped-def]
    """A fake procedure whose report passes (to reach the validated state quickly)."""
    obs = np.array([[a, a + p] for a in range(12) for p in range(4)], dtype=float)
    return ValidationReport(
        artifact_sha256=artifact_sha256,
        env_id=policy.manifest.env_id,
        simulator="kernel",
        baseline="capped_base_stock",
        objective="cost",
        seeds=tuple(range(seeds)),
        policy_values=tuple(4.0 + 0.01 * i for i in range(seeds)),
        baseline_values=tuple(4.5 + 0.02 * i for i in range(seeds)),
        p_value=0.001,
        alpha=alpha,
        safety=safety_checks(policy, obs),
        periods=periods,
    )


def _validated(root: Path, level: int = 13) -> tuple[Registry, Path]:
    reg = Registry(root, key=KEY)
    entry = reg.register(_order_up_to(level))
    reg.promote(entry.name, entry.version, _passing_evidence)
    return reg, entry.path


def _recompute_checksums(path: Path, *, status: str | None = None) -> None:
    """What an attacker without the key can do: recompute every SHA-256 and the digest."""
    checks = json.loads((path / "checksums.json").read_text())
    for fname in list(checks["files"]) + (["validation.json"] if status else []):
        if (path / fname).exists():
            checks["files"][fname] = sha256_file(path / fname)
    digest = __import__("hashlib").sha256()
    for name in ("weights.npz", "manifest.json"):
        digest.update(f"{name}:{checks['files'][name]}\n".encode())
    checks["artifact_sha256"] = digest.hexdigest()
    if status:
        checks["status"] = status
    (path / "checksums.json").write_text(json.dumps(checks))


def test_zeroed_weights_with_recomputed_checksums_are_refused(tmp_path: Path) -> None:
    reg, path = _validated(tmp_path)
    obs = np.array([[2.0, 2.0]], dtype=np.float32)
    assert reg.load_validated("repl").decide(obs)[0, 0] == 11
    with np.load(path / "weights.npz") as data:
        arrays = {k: np.zeros_like(v) for k, v in data.items()}
    np.savez(path / "weights.npz", **arrays)
    _recompute_checksums(path)
    with pytest.raises(ArtifactTamperedError, match="signature does not verify"):
        reg.load_validated("repl")


def test_forged_report_on_a_candidate_with_recomputed_checksums_is_refused(
    tmp_path: Path,
) -> None:
    reg = Registry(tmp_path, key=KEY)
    entry = reg.register(_order_up_to(9))
    forged = {
        "artifact_sha256": entry.artifact_sha256,
        "env_id": entry.env_id,
        "simulator": "kernel",
        "baseline": "capped_base_stock",
        "objective": "cost",
        "seeds": [0, 1, 2, 3, 4],
        "policy_values": [1.0] * 5,
        "baseline_values": [9.0] * 5,
        "p_value": 1e-9,
        "alpha": 0.05,
        "safety": dict.fromkeys(REQUIRED_SAFETY_CHECKS, True),
        "periods": 1,
    }
    (entry.path / "validation.json").write_text(json.dumps(forged))
    (entry.path / "status.json").write_text(json.dumps({"status": "validated"}))
    _recompute_checksums(entry.path, status="validated")
    with pytest.raises(ArtifactTamperedError, match="signature does not verify"):
        load_validated(tmp_path, "repl")  # the default key (development) differs, too
    with pytest.raises(ArtifactTamperedError, match="signature does not verify"):
        reg.load_validated("repl")


def test_promotion_never_accepts_a_report_and_recomputes_the_evidence(tmp_path: Path) -> None:
    reg = Registry(tmp_path, key=KEY)
    entry = reg.register(_order_up_to(9))  # order up to 9 at L=1: far below the optimum
    fabricated = _passing_evidence(
        _order_up_to(9), entry.artifact_sha256, seeds=1, periods=1, alpha=0.05
    )
    with pytest.raises(PromotionRefusedError, match="does not accept a validation report"):
        reg.promote(entry.name, entry.version, fabricated)  # type: ignore[arg-type]
    # the real procedure (CRN over 5 seeds, paired test, safety as served) finds it worse
    with pytest.raises(PromotionRefusedError, match="does not beat the baseline"):
        reg.promote(entry.name, entry.version, seeds=5, periods=600)
    assert reg.entry(entry.name, entry.version).status == "candidate"
    assert not (entry.path / "validation.json").exists()


def test_another_key_refuses_and_production_needs_a_real_key(tmp_path: Path) -> None:
    _validated(tmp_path)
    with pytest.raises(ArtifactTamperedError, match="another key"):
        Registry(tmp_path, key=b"some-other-key-0123456789").load_validated("repl")
    with pytest.raises(ArtifactKeyError, match="SHOPSPHERE_ARTIFACT_SIGNING_KEY"):
        signing_key(SigningSettings(mode="production"))
    with pytest.raises(ArtifactKeyError):
        signing_key(SigningSettings(mode="production", artifact_signing_key="short"))
    long_key = "k" * 32
    assert signing_key(SigningSettings(mode="production", artifact_signing_key=long_key)) == (
        long_key.encode()
    )


def test_the_key_is_never_written_beside_the_artifact(tmp_path: Path) -> None:
    _, path = _validated(tmp_path)
    for file in path.iterdir():
        assert KEY not in file.read_bytes(), file.name


def test_safety_checks_judge_orders_after_the_clamp_as_served() -> None:
    # order up to 20 with a cap of 6 at L = 2: raw orders reach 20 but 6 is served
    policy = _order_up_to(20, lead_time=2, cap=6.0)
    obs = np.array([[a, p, a + p] for a in range(10) for p in range(6)], dtype=float)
    checks = safety_checks(policy, obs)
    assert all(checks[k] for k in REQUIRED_SAFETY_CHECKS)
    assert checks["orders_nonnegative"] and checks["order_units_within_bounds"]
    assert policy.decide(obs).max() == 6.0
