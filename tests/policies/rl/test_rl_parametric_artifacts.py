"""Parametric artifacts: the learned projected-inventory, continuous-pricing and SKU-conditioned
policies are exported as signed JSON parameters of an allow-listed class, promoted on freshly
computed evidence, served at each SKU's scale, and every tampering attempt is refused."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from policies.artifact_adapters import ArtifactSkuPolicy, load_served_artifact
from policies.artifacts import (
    ArtifactFormatError,
    ArtifactTamperedError,
    Manifest,
    ParametricPolicy,
    PromotionRefusedError,
    Registry,
    ValidationReport,
    load_policy,
    parametric_policy,
    safety_checks,
    save_policy,
    sha256_file,
)
from policies.artifacts.registry import REQUIRED_SAFETY_CHECKS
from policies.replenishment.types import ReplenishmentObservation
from policies.rl.export_params import export_pricing, export_projected, export_sku_rule
from policies.rl.pricing_search import FluidPricePolicy
from policies.rl.projected import ProjectedQuantilePolicy
from policies.rl.sku_policy import sku_projected
from shopsphere_cli.main import app

KEY = b"parametric-test-key-0123456789abcdef"


def _projected(fractile: float = 0.86, cap: int | None = 12) -> ParametricPolicy:
    inner = ProjectedQuantilePolicy(fractile, cap, 5.0, 2)
    return export_projected(inner, name="proj", holding=1.0, penalty=9.0)


def _passing_evidence(policy, artifact_sha256, *, seeds, periods, alpha):  # type: ignore[no-untyped-def]
    """A fake procedure whose report passes (to reach the validated state quickly)."""
    obs = np.array([[a, p, a + p] for a in range(12) for p in range(4)], dtype=float)
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


def _validated(root: Path) -> tuple[Registry, Path]:
    reg = Registry(root, key=KEY)
    entry = reg.register(_projected())
    reg.promote(entry.name, entry.version, _passing_evidence)
    return reg, entry.path


def _recompute_checksums(path: Path, *, status: str | None = None) -> None:
    """What an attacker without the key can do: recompute every SHA-256 and the digest."""
    checks = json.loads((path / "checksums.json").read_text())
    for fname in list(checks["files"]) + (["validation.json"] if status else []):
        if (path / fname).exists():
            checks["files"][fname] = sha256_file(path / fname)
    digest = hashlib.sha256()
    for name in ("params.json", "manifest.json"):
        digest.update(f"{name}:{checks['files'][name]}\n".encode())
    checks["artifact_sha256"] = digest.hexdigest()
    if status:
        checks["status"] = status
    (path / "checksums.json").write_text(json.dumps(checks))


# ---- the format ---------------------------------------------------------------------------


def test_projected_artifact_orders_as_the_learned_policy_on_the_kernel_state() -> None:
    art = _projected()
    inner = ProjectedQuantilePolicy(0.86, 12, 5.0, 2)
    # obs = [available (on hand incl. this period's arrival), pipeline_1, inventory position]
    obs = np.array([[3.0, 2.0, 5.0], [0.0, 0.0, 0.0], [20.0, 4.0, 24.0]])
    expected = inner.orders(np.array([3, 0, 20]), np.array([[0, 2], [0, 0], [0, 4]]))
    np.testing.assert_array_equal(art.decide(obs)[:, 0], expected)
    assert art.decide(obs[0]).shape == (1,)


def test_pricing_artifact_prices_as_the_learned_policy() -> None:
    inner = FluidPricePolicy((1.02, 0.07, 1.07, 0.22), 3.0, 0.5)
    art = export_pricing(inner, name="price", stock=20, horizon=20)
    obs = np.array([[1.0, 1.0], [0.25, 0.5]])
    expected = inner.price(np.array([20.0, 10.0]), np.array([20.0, 5.0]))
    np.testing.assert_allclose(art.decide(obs)[:, 0], expected)


@pytest.mark.parametrize("kind", ["projected", "pricing", "sku"])
def test_saved_and_loaded_artifact_decides_identically(tmp_path: Path, kind: str) -> None:
    if kind == "projected":
        art, obs = _projected(), np.array([[1.0, 3.0, 4.0], [9.0, 0.0, 9.0]])
    elif kind == "pricing":
        inner = FluidPricePolicy((1.0, 0.0, 1.0, 0.0), 3.0, 0.5)
        art, obs = export_pricing(inner, name="p", stock=20, horizon=20), np.array([[0.5, 0.5]])
    else:
        art = export_sku_rule(name="s", demand_mean=5.0, lead_time=2, holding=1.0, penalty=9.0)
        obs = np.array([[1.0, 3.0, 4.0]])
    save_policy(art, tmp_path)
    assert (tmp_path / "params.json").exists() and not (tmp_path / "weights.npz").exists()
    loaded = load_policy(tmp_path)
    assert isinstance(loaded, ParametricPolicy)
    assert loaded.policy_class == art.policy_class
    np.testing.assert_array_equal(loaded.decide(obs), art.decide(obs))


@pytest.mark.parametrize(
    "kwargs", [{}, {"demand_mean": 7.5}, {"max_order": 9}, {"demand_rates": [2.0, 11.0]}]
)
def test_replenishment_order_bound_matches_the_environment(kwargs: dict[str, object]) -> None:
    from policies.envs.replenishment import ReplenishmentConfig

    manifest = Manifest("x", "ShopSphere/Replenishment-v0", "CEM", ("a", "b", "c"), kwargs)
    art = parametric_policy("projected_quantile", {"fractile": 0.8, "cap": 4}, manifest)
    assert art.mapping.decision_high[0] == ReplenishmentConfig(**kwargs).order_cap  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "kwargs", [{}, {"a": 0.5, "b": 2.0}, {"price_low": 1.0, "price_high": 9.0}]
)
def test_pricing_bounds_match_the_environment(kwargs: dict[str, float]) -> None:
    from policies.envs.pricing import PricingConfig

    manifest = Manifest("x", "ShopSphere/DynamicPricing-v0", "CEM", ("a", "b"), kwargs)
    art = parametric_policy("fluid_price", {"theta": [1.0, 0.0, 1.0, 0.0]}, manifest)
    cfg = PricingConfig(**kwargs)  # type: ignore[arg-type]
    assert art.mapping.decision_low[0] == cfg.price_low
    assert art.mapping.decision_high[0] == pytest.approx(cfg.high)


def test_loading_a_parametric_artifact_does_not_import_gymnasium(tmp_path: Path) -> None:
    import subprocess
    import sys

    save_policy(_projected(), tmp_path)
    code = (
        "import sys; from policies.artifacts import load_policy; "
        f"p = load_policy({str(tmp_path)!r}); p.decide([[1.0, 2.0, 3.0]]); "
        "print('gymnasium' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_class_outside_the_allow_list_is_refused() -> None:
    manifest = Manifest("x", "ShopSphere/Replenishment-v0", "CEM", ("a", "b", "c"))
    with pytest.raises(ArtifactFormatError, match="not allowed"):
        parametric_policy("os.system", {"fractile": 0.5, "cap": 3}, manifest)


def test_a_class_on_the_wrong_environment_is_refused() -> None:
    manifest = Manifest("x", "ShopSphere/DynamicPricing-v0", "CEM", ("a", "b"))
    with pytest.raises(ArtifactFormatError, match="serves ShopSphere/Replenishment-v0"):
        parametric_policy("projected_quantile", {"fractile": 0.5, "cap": 3}, manifest)


@pytest.mark.parametrize(
    "params", [{"fractile": "0.5", "cap": 3}, {"fractile": float("nan"), "cap": 3}, {"cap": 3}]
)
def test_non_numeric_or_missing_parameters_are_refused(params: dict[str, object]) -> None:
    manifest = Manifest("x", "ShopSphere/Replenishment-v0", "CEM", ("a", "b", "c"))
    with pytest.raises(ArtifactFormatError, match="fractile"):
        parametric_policy("projected_quantile", params, manifest)


def test_params_naming_another_class_than_the_manifest_is_refused(tmp_path: Path) -> None:
    save_policy(_projected(), tmp_path)
    body = json.loads((tmp_path / "params.json").read_text())
    body["policy_class"] = "sku_projected"
    (tmp_path / "params.json").write_text(json.dumps(body))
    with pytest.raises(ArtifactFormatError, match="policy_class"):
        load_policy(tmp_path)


# ---- tampering ----------------------------------------------------------------------------


def test_validated_parametric_entry_loads_and_decides(tmp_path: Path) -> None:
    reg, _ = _validated(tmp_path)
    policy = reg.load_validated("proj")
    assert isinstance(policy, ParametricPolicy)
    assert policy.params == {"fractile": 0.86, "cap": 12}


def test_an_altered_parameter_is_refused(tmp_path: Path) -> None:
    reg, path = _validated(tmp_path)
    body = json.loads((path / "params.json").read_text())
    body["params"]["cap"] = 40
    (path / "params.json").write_text(json.dumps(body))
    with pytest.raises(ArtifactTamperedError, match=r"params\.json has SHA-256"):
        reg.load_validated("proj")


def test_an_altered_parameter_with_recomputed_checksums_is_refused(tmp_path: Path) -> None:
    reg, path = _validated(tmp_path)
    body = json.loads((path / "params.json").read_text())
    body["params"]["fractile"] = 0.999
    (path / "params.json").write_text(json.dumps(body))
    _recompute_checksums(path)
    with pytest.raises(ArtifactTamperedError, match="signature does not verify"):
        reg.load_validated("proj")


def test_a_forged_report_on_a_candidate_with_recomputed_checksums_is_refused(
    tmp_path: Path,
) -> None:
    reg = Registry(tmp_path, key=KEY)
    entry = reg.register(_projected(fractile=0.05, cap=0))
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
        "periods": 3000,
    }
    (entry.path / "validation.json").write_text(json.dumps(forged))
    _recompute_checksums(entry.path, status="validated")
    with pytest.raises(ArtifactTamperedError, match="signature does not verify"):
        reg.load_validated("proj")


def test_promotion_does_not_accept_a_shipped_report(tmp_path: Path) -> None:
    reg = Registry(tmp_path, key=KEY)
    entry = reg.register(_projected())
    report = _passing_evidence(_projected(), entry.artifact_sha256, seeds=5, periods=10, alpha=0.05)
    with pytest.raises(PromotionRefusedError, match="does not accept a validation report"):
        reg.promote(entry.name, entry.version, report)  # type: ignore[arg-type]


def test_an_entry_signed_with_another_key_is_refused(tmp_path: Path) -> None:
    _validated(tmp_path)
    with pytest.raises(ArtifactTamperedError, match="another key"):
        Registry(tmp_path, key=b"some-other-key-0123456789abcdef!").load_validated("proj")


def test_switching_the_manifest_to_another_class_is_refused(tmp_path: Path) -> None:
    reg, path = _validated(tmp_path)
    meta = json.loads((path / "manifest.json").read_text())
    meta["policy_class"] = "sku_projected"
    (path / "manifest.json").write_text(json.dumps(meta))
    _recompute_checksums(path)
    with pytest.raises(ArtifactTamperedError):
        reg.load_validated("proj")


# ---- promotion on recomputed evidence -----------------------------------------------------


def test_promotion_recomputes_evidence_and_refuses_a_policy_that_never_orders(
    tmp_path: Path,
) -> None:
    reg = Registry(tmp_path, key=KEY)
    entry = reg.register(_projected(fractile=0.05, cap=0))
    with pytest.raises(PromotionRefusedError, match="does not beat the baseline"):
        reg.promote(entry.name, entry.version, seeds=5, periods=300)


def test_a_learned_pricing_policy_is_promoted_on_its_own_crn_evidence(tmp_path: Path) -> None:
    inner = FluidPricePolicy((1.02, 0.07, 1.07, 0.22), 3.0, 0.5)
    reg = Registry(tmp_path, key=KEY)
    entry = reg.register(export_pricing(inner, name="price", stock=20, horizon=20))
    reg.promote(entry.name, entry.version, seeds=5)
    report = reg.report("price", entry.version)
    assert report is not None and report.passed and len(report.seeds) == 5
    assert report.baseline.startswith("best_fixed_price")
    assert report.mean_improvement > 0


# ---- serving ------------------------------------------------------------------------------


@pytest.fixture
def served_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serving reads the signing key from settings: give it the test key."""
    monkeypatch.setenv("SHOPSPHERE_ARTIFACT_SIGNING_KEY", KEY.decode())


@pytest.mark.usefixtures("served_key")
def test_served_projected_artifact_scales_per_sku_and_a_sku_without_demand_orders_zero(
    tmp_path: Path,
) -> None:
    _validated(tmp_path)
    served = load_served_artifact("replenishment", tmp_path, "proj")
    obs = ReplenishmentObservation.create(
        on_hand=[0, 0, 0], pipeline=[[0, 0]] * 3, lead_time=2, demand_mean=[5.0, 10.0, 0.0]
    )
    orders = served.decide(obs).orders
    base = _projected().decide(np.zeros((1, 3)))[0, 0]
    assert orders[0] == base
    assert orders[1] == pytest.approx(2 * base, abs=1)
    assert orders[2] == 0


@pytest.mark.usefixtures("served_key")
def test_served_sku_rule_decides_any_sku_as_the_named_policy(tmp_path: Path) -> None:
    reg = Registry(tmp_path, key=KEY)
    art = export_sku_rule(name="sku", demand_mean=5.0, lead_time=2, holding=1.0, penalty=9.0)
    entry = reg.register(art)
    reg.promote(entry.name, entry.version, _passing_evidence)
    served = load_served_artifact("replenishment", tmp_path, "sku")
    assert isinstance(served, ArtifactSkuPolicy)
    obs = ReplenishmentObservation.create(
        on_hand=[0, 3, 10],
        pipeline=[[0, 0, 0], [1, 0, 0], [2, 2, 2]],
        lead_time=[3, 1, 2],
        demand_mean=[2.0, 8.0, 40.0],
    )
    np.testing.assert_array_equal(served.decide(obs).orders, sku_projected().decide(obs).orders)
    bad = ReplenishmentObservation.create(
        on_hand=[0, 0], pipeline=[[0], [0]], lead_time=1, demand_mean=[float("nan"), 4.0]
    )
    decision, refused = served.decide_each(bad)
    assert [(r.row, r.field) for r in refused] == [(0, "demand_mean")]
    assert decision.orders[0] == 0 and decision.orders[1] > 0


# ---- CLI ----------------------------------------------------------------------------------


def test_cli_export_learned_writes_and_registers_a_parametric_artifact(tmp_path: Path) -> None:
    runner = CliRunner()
    out, reg = tmp_path / "art", tmp_path / "reg"
    args = ["export-learned", "pricing-search", "--name", "price", "--generations", "1"]
    result = runner.invoke(app, [*args, "--out", str(out), "--register", str(reg)])
    assert result.exit_code == 0, result.output
    assert json.loads((out / "params.json").read_text())["policy_class"] == "fluid_price"
    assert "registered price/v0001 (candidate)" in result.output
    shown = runner.invoke(app, ["registry", "show", "price", "--registry", str(reg)])
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert (data["artifact_kind"], data["policy_class"]) == ("parametric", "fluid_price")


def test_cli_export_learned_with_an_unknown_method_exits_2_naming_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["export-learned", "ppo", "--name", "x", "--out", "o"])
    assert result.exit_code == 2
    assert "'ppo'" in result.output
