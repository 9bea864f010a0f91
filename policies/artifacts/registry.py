"""The policy registry: artifacts, manifests, validation reports and SHA-256 checksums.

Layout on disk (one folder per name and version)::

    REGISTRY/<name>/<version>/weights.npz       # framework-free policy (policies.artifacts.policy)
                             /manifest.json
                             /validation.json   # after promotion only
                             /checksums.json    # {"files": {file: sha256}, "artifact_sha256": ...}
                             /status.json       # {"status": "candidate" | "validated", ...}

``artifact_sha256`` is the SHA-256 of the weights and the manifest together; a validation report
names it, so a report cannot be moved onto other weights. Production calls
:func:`load_validated`, which recomputes every checksum and refuses an artifact that was altered
(:class:`ArtifactTamperedError`) or never promoted (:class:`ArtifactNotValidatedError`).

Promotion rules (:meth:`Registry.promote`): the report is for this artifact, covers at least
``MIN_SEEDS`` seeds with common random numbers, the policy beats the incumbent baseline (lower
cost or higher revenue, as the report's ``objective`` says) with a paired test p-value below
``alpha``, and every safety check passed.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np

from policies.artifacts.errors import (
    ArtifactFormatError,
    ArtifactNotFoundError,
    ArtifactNotValidatedError,
    ArtifactTamperedError,
    PromotionRefusedError,
)
from policies.artifacts.policy import (
    MANIFEST_FILE,
    WEIGHTS_FILE,
    FrameworkFreePolicy,
    load_artifact,
    save_artifact,
)

__all__ = [
    "MIN_SEEDS",
    "Registry",
    "RegistryEntry",
    "ValidationReport",
    "load_validated",
    "safety_checks",
    "sha256_file",
]

MIN_SEEDS = 5
VALIDATION_FILE = "validation.json"
CHECKSUM_FILE = "checksums.json"
STATUS_FILE = "status.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _artifact_digest(files: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in (WEIGHTS_FILE, MANIFEST_FILE):
        h.update(f"{name}:{files[name]}\n".encode())
    return h.hexdigest()


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """Outcome of validating a candidate against the incumbent baseline.

    Attributes:
        artifact_sha256: the artifact this report is about.
        env_id: environment/instance validated on.
        simulator: what produced the figures (``"kernel"`` = the shared inventory/demand kernels
            with common random numbers; ``"twin"`` = the full SimPy twin).
        baseline: name of the incumbent policy (e.g. ``"capped_base_stock"``).
        objective: ``"cost"`` (lower is better) or ``"revenue"`` (higher is better).
        seeds: the common-random-number seeds, one replication each.
        policy_values, baseline_values: per-seed average cost (or revenue) per period.
        p_value: one-sided paired t-test p-value that the policy is better.
        alpha: significance level the decision used.
        safety: named safety checks and whether each passed.
        periods: periods simulated per seed.
        created_at: ISO-8601 UTC timestamp.
    """

    artifact_sha256: str
    env_id: str
    simulator: str
    baseline: str
    objective: Literal["cost", "revenue"]
    seeds: tuple[int, ...]
    policy_values: tuple[float, ...]
    baseline_values: tuple[float, ...]
    p_value: float
    alpha: float
    safety: dict[str, bool]
    periods: int
    created_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    @property
    def mean_improvement(self) -> float:
        """Mean per-seed improvement over the baseline (positive = policy better)."""
        diff = np.asarray(self.baseline_values) - np.asarray(self.policy_values)
        return float(diff.mean() if self.objective == "cost" else -diff.mean())

    def refusal_reasons(self) -> list[str]:
        """Why promotion would be refused; empty when the report passes."""
        reasons: list[str] = []
        if len(self.seeds) < MIN_SEEDS:
            reasons.append(f"only {len(self.seeds)} seeds, at least {MIN_SEEDS} required")
        if len(self.policy_values) != len(self.seeds) or len(self.baseline_values) != len(
            self.seeds
        ):
            reasons.append("one policy and one baseline value per seed required")
        if not self.mean_improvement > 0:
            reasons.append(
                f"does not beat the baseline {self.baseline!r} (mean improvement "
                f"{self.mean_improvement:.4g} {self.objective}/period)"
            )
        if not self.p_value < self.alpha:
            reasons.append(f"not significant: p = {self.p_value:.3g} >= alpha = {self.alpha}")
        failed = [k for k, ok in self.safety.items() if not ok]
        if failed:
            reasons.append(f"failed safety checks: {', '.join(sorted(failed))}")
        if not self.safety:
            reasons.append("no safety checks were run")
        return reasons

    @property
    def passed(self) -> bool:
        """True when :meth:`refusal_reasons` is empty."""
        return not self.refusal_reasons()

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        data = asdict(self)
        data["mean_improvement"] = self.mean_improvement
        data["passed"] = self.passed
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ValidationReport:
        """Inverse of :meth:`to_json`."""
        try:
            return cls(
                artifact_sha256=str(data["artifact_sha256"]),
                env_id=str(data["env_id"]),
                simulator=str(data["simulator"]),
                baseline=str(data["baseline"]),
                objective=data["objective"],
                seeds=tuple(int(s) for s in data["seeds"]),
                policy_values=tuple(float(v) for v in data["policy_values"]),
                baseline_values=tuple(float(v) for v in data["baseline_values"]),
                p_value=float(data["p_value"]),
                alpha=float(data["alpha"]),
                safety={str(k): bool(v) for k, v in data["safety"].items()},
                periods=int(data["periods"]),
                created_at=str(data.get("created_at", "")),
            )
        except KeyError as exc:
            raise ArtifactFormatError(f"validation report lacks the key {exc.args[0]!r}") from exc


def safety_checks(policy: FrameworkFreePolicy, observations: np.ndarray) -> dict[str, bool]:
    """Run the safety checks on a sample of observations ``(n, obs_dim)``.

    Checks: outputs are finite; the *unclamped* decisions lie within the declared bounds (so
    ``orders_nonnegative`` and ``prices_within_bounds`` hold without relying on the clamp);
    the policy is deterministic.
    """
    obs = np.asarray(observations, dtype=np.float64)
    actions = policy.act(obs)
    raw = policy.mapping.to_decision(actions, obs, clamp=False)
    low, high = policy.mapping.decision_low, policy.mapping.decision_high
    checks = {
        "finite_outputs": bool(np.isfinite(policy.forward(obs)).all() and np.isfinite(raw).all()),
        "deterministic": bool(np.array_equal(policy.act(obs), actions)),
    }
    for j, name in enumerate(policy.mapping.decision_names):
        col = raw[:, j]
        if "price" in name:
            checks["prices_within_bounds"] = checks.get("prices_within_bounds", True) and bool(
                (col >= low[j]).all() and (col <= high[j]).all()
            )
        else:
            checks["orders_nonnegative"] = checks.get("orders_nonnegative", True) and bool(
                (col >= 0).all()
            )
            checks[f"{name}_within_bounds"] = bool((col >= low[j]).all() and (col <= high[j]).all())
    return checks


@dataclass(frozen=True, slots=True)
class RegistryEntry:
    """One registered artifact version."""

    name: str
    version: str
    status: Literal["candidate", "validated"]
    artifact_sha256: str
    env_id: str
    algo: str
    registered_at: str
    path: Path


class Registry:
    """A registry rooted at a directory (created on first write)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # ---- writing -------------------------------------------------------------------------
    def register(self, policy: FrameworkFreePolicy, name: str | None = None) -> RegistryEntry:
        """Store ``policy`` as a new ``candidate`` version of ``name`` (default: manifest name).

        Raises:
            ArtifactFormatError: the name is not ``[A-Za-z0-9][A-Za-z0-9_.-]*``.
        """
        name = name or policy.manifest.name
        if not _NAME.match(name):
            raise ArtifactFormatError(f"artifact name {name!r} must match {_NAME.pattern}")
        versions = self._versions(name)
        version = f"v{(int(versions[-1][1:]) + 1) if versions else 1:04d}"
        path = self.root / name / version
        tmp = self.root / name / f".{version}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        save_artifact(policy, tmp)
        files = {f: sha256_file(tmp / f) for f in (WEIGHTS_FILE, MANIFEST_FILE)}
        now = datetime.now(UTC).isoformat()
        digest = _artifact_digest(files)
        (tmp / CHECKSUM_FILE).write_text(
            json.dumps({"files": files, "artifact_sha256": digest}, indent=2)
        )
        (tmp / STATUS_FILE).write_text(
            json.dumps({"status": "candidate", "registered_at": now}, indent=2)
        )
        tmp.rename(path)
        return self.entry(name, version)

    def promote(self, name: str, version: str, report: ValidationReport) -> RegistryEntry:
        """Attach ``report`` and mark the version ``validated``.

        Raises:
            ArtifactTamperedError: the stored files no longer match their checksums.
            PromotionRefusedError: the report is for another artifact or fails the rules.
        """
        path = self._path(name, version)
        checks = self._verify(path, require_report=False)
        if report.artifact_sha256 != checks["artifact_sha256"]:
            raise PromotionRefusedError(
                f"report is for artifact {report.artifact_sha256[:12]}..., but {name}/{version} "
                f"is {checks['artifact_sha256'][:12]}..."
            )
        reasons = report.refusal_reasons()
        if reasons:
            raise PromotionRefusedError(f"{name}/{version} not promoted: " + "; ".join(reasons))
        (path / VALIDATION_FILE).write_text(json.dumps(report.to_json(), indent=2))
        checks["files"][VALIDATION_FILE] = sha256_file(path / VALIDATION_FILE)
        (path / CHECKSUM_FILE).write_text(json.dumps(checks, indent=2))
        status = json.loads((path / STATUS_FILE).read_text())
        status.update(status="validated", validated_at=datetime.now(UTC).isoformat())
        (path / STATUS_FILE).write_text(json.dumps(status, indent=2))
        return self.entry(name, version)

    # ---- reading -------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Registered policy names, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and _NAME.match(p.name))

    def entries(self, name: str | None = None) -> list[RegistryEntry]:
        """All versions (of one name, or of all), oldest first."""
        names = [name] if name else self.names()
        return [self.entry(n, v) for n in names for v in self._versions(n)]

    def entry(self, name: str, version: str) -> RegistryEntry:
        """Describe one version (no checksum verification)."""
        path = self._path(name, version)
        try:
            status = json.loads((path / STATUS_FILE).read_text())
            checks = json.loads((path / CHECKSUM_FILE).read_text())
            manifest = json.loads((path / MANIFEST_FILE).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ArtifactFormatError(f"{name}/{version} is unreadable: {exc}") from exc
        return RegistryEntry(
            name=name,
            version=version,
            status=status.get("status", "candidate"),
            artifact_sha256=str(checks.get("artifact_sha256", "")),
            env_id=str(manifest.get("env_id", "")),
            algo=str(manifest.get("algo", "")),
            registered_at=str(status.get("registered_at", "")),
            path=path,
        )

    def report(self, name: str, version: str) -> ValidationReport | None:
        """The validation report of a version, or ``None`` if it was never promoted."""
        file = self._path(name, version) / VALIDATION_FILE
        return ValidationReport.from_json(json.loads(file.read_text())) if file.exists() else None

    def load_candidate(self, name: str, version: str) -> FrameworkFreePolicy:
        """Load any version after verifying its checksums (for validation, not production)."""
        path = self._path(name, version)
        self._verify(path, require_report=False)
        return load_artifact(path)

    def load_validated(self, name: str, version: str | None = None) -> FrameworkFreePolicy:
        """Load the newest validated version of ``name`` (or exactly ``version``).

        Raises:
            ArtifactNotFoundError: no such name/version, or no validated version.
            ArtifactNotValidatedError: the version was never promoted.
            ArtifactTamperedError: a file differs from its recorded SHA-256, or the report
                does not name this artifact or no longer passes the rules.
        """
        if version is None:
            validated = [e for e in self.entries(name) if e.status == "validated"]
            if not validated:
                known = self._versions(name)
                if known:
                    raise ArtifactNotValidatedError(
                        f"policy {name!r} has no validated version (versions: {', '.join(known)}); "
                        "promote one with `shopsphere registry promote`"
                    )
                raise ArtifactNotFoundError(f"no policy named {name!r} in {self.root}")
            version = validated[-1].version
        path = self._path(name, version)
        if self.entry(name, version).status != "validated":
            raise ArtifactNotValidatedError(
                f"policy {name}/{version} is a candidate, not validated: production refuses it"
            )
        self._verify(path, require_report=True)
        return load_artifact(path)

    # ---- internals -----------------------------------------------------------------------
    def _versions(self, name: str) -> list[str]:
        folder = self.root / name
        if not folder.is_dir():
            return []
        return sorted(
            p.name for p in folder.iterdir() if p.is_dir() and re.match(r"^v\d{4}$", p.name)
        )

    def _path(self, name: str, version: str) -> Path:
        path = self.root / name / version
        if not _NAME.match(name) or not re.match(r"^v\d{4}$", version) or not path.is_dir():
            raise ArtifactNotFoundError(f"no policy {name!r} version {version!r} in {self.root}")
        return path

    def _verify(self, path: Path, *, require_report: bool) -> dict[str, Any]:
        label = f"{path.parent.name}/{path.name}"
        try:
            checks: dict[str, Any] = json.loads((path / CHECKSUM_FILE).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ArtifactTamperedError(f"{label}: checksums.json missing or unreadable") from exc
        files: dict[str, str] = checks.get("files", {})
        needed = [WEIGHTS_FILE, MANIFEST_FILE] + ([VALIDATION_FILE] if require_report else [])
        for fname in needed:
            if fname not in files:
                raise ArtifactTamperedError(f"{label}: no recorded checksum for {fname}")
        for fname, expected in files.items():
            file = path / fname
            if not file.exists():
                raise ArtifactTamperedError(f"{label}: {fname} is missing")
            actual = sha256_file(file)
            if actual != expected:
                raise ArtifactTamperedError(
                    f"{label}: {fname} has SHA-256 {actual[:12]}..., registered as "
                    f"{expected[:12]}...; the artifact was modified after registration"
                )
        if checks.get("artifact_sha256") != _artifact_digest(files):
            raise ArtifactTamperedError(f"{label}: artifact_sha256 does not match its files")
        if require_report:
            report = ValidationReport.from_json(json.loads((path / VALIDATION_FILE).read_text()))
            if report.artifact_sha256 != checks["artifact_sha256"] or not report.passed:
                raise ArtifactTamperedError(
                    f"{label}: validation report does not validate this artifact"
                )
        return checks


def load_validated(
    registry_dir: Path | str, name: str, version: str | None = None
) -> FrameworkFreePolicy:
    """Production entry point: the newest validated, untampered version of ``name``.

    See :meth:`Registry.load_validated` for the errors raised.
    """
    return Registry(registry_dir).load_validated(name, version)
