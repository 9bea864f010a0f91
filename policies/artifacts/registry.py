"""The policy registry: artifacts, manifests, validation reports, checksums and keyed signatures.

Layout on disk (one folder per name and version)::

    REGISTRY/<name>/<version>/weights.npz       # a network (policies.artifacts.policy),
                             /params.json       # or parameters (policies.artifacts.parametric)
                             /manifest.json
                             /validation.json   # after promotion only
                             /checksums.json    # {"files": {file: sha256}, "artifact_sha256",
                                                #  "status", "hmac"}
                             /status.json       # {"status": ..., timestamps} (informational)

``artifact_sha256`` is the SHA-256 of the policy file (weights or parameters) and the manifest
together; a validation report
names it, so a report cannot be moved onto other weights. ``hmac`` is an HMAC-SHA256 of the
checksums and the status under the signing key from settings
(:mod:`policies.artifacts.signing`; the key never sits beside the artifact), so recomputing the
SHA-256 checksums of altered files, or editing the status, does not make an entry loadable.
Production calls :func:`load_validated`, which recomputes every checksum, verifies the signature
and refuses an artifact that was altered (:class:`ArtifactTamperedError`) or never promoted
(:class:`ArtifactNotValidatedError`).

Promotion (:meth:`Registry.promote`) computes its own evidence: it runs the validation procedure
(by default :func:`policies.rl.compare.validation_report`: common random numbers over at least
``MIN_SEEDS`` seeds, a one-sided paired t-test against the incumbent baseline, safety checks on
the decisions as served, i.e. after clamping) on the verified candidate, and promotes only if
that fresh report names this artifact, covers at least ``MIN_SEEDS`` seeds, beats the baseline
with p below ``alpha`` and passes the required safety checks. It never accepts a report from the
caller or from the artifact folder.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from policies.artifacts.errors import (
    ArtifactError,
    ArtifactFormatError,
    ArtifactNotFoundError,
    ArtifactNotValidatedError,
    ArtifactTamperedError,
    PromotionRefusedError,
)
from policies.artifacts.parametric import (
    PARAMS_FILE,
    ParametricPolicy,
    is_parametric,
    load_parametric,
    save_parametric,
)
from policies.artifacts.policy import (
    MANIFEST_FILE,
    WEIGHTS_FILE,
    FrameworkFreePolicy,
    load_artifact,
    save_artifact,
)
from policies.artifacts.signing import sign, signature_matches, signing_key

__all__ = [
    "MIN_SEEDS",
    "REQUIRED_SAFETY_CHECKS",
    "ArtifactPolicy",
    "EvidenceFn",
    "Registry",
    "RegistryEntry",
    "ValidationReport",
    "load_validated",
    "safety_checks",
    "sha256_file",
]

MIN_SEEDS = 5
# Safety checks every promotion report must contain (and pass).
REQUIRED_SAFETY_CHECKS = ("finite_outputs", "deterministic", "decisions_within_bounds")
VALIDATION_FILE = "validation.json"
CHECKSUM_FILE = "checksums.json"
STATUS_FILE = "status.json"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")

#: What the registry stores: a network (``weights.npz``) or a parametric policy
#: (``params.json``, :mod:`policies.artifacts.parametric`), each with ``manifest.json``.
ArtifactPolicy = FrameworkFreePolicy | ParametricPolicy


def _policy_file(files: dict[str, str]) -> str:
    """The recorded policy file of an entry (``weights.npz`` or ``params.json``)."""
    return WEIGHTS_FILE if WEIGHTS_FILE in files else PARAMS_FILE


def save_policy(policy: ArtifactPolicy, directory: Path) -> Path:
    """Write either kind of artifact into ``directory``; returns it."""
    if isinstance(policy, ParametricPolicy):
        return save_parametric(policy, directory)
    return save_artifact(policy, directory)


def load_policy(directory: Path) -> ArtifactPolicy:
    """Read either kind of artifact (the manifest's ``artifact_kind`` decides; no signature
    checks).

    Raises:
        ArtifactFormatError: a file is missing or malformed.
    """
    return load_parametric(directory) if is_parametric(directory) else load_artifact(directory)


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _artifact_digest(files: dict[str, str]) -> str:
    h = hashlib.sha256()
    for name in (_policy_file(files), MANIFEST_FILE):
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
        missing = [k for k in REQUIRED_SAFETY_CHECKS if k not in self.safety]
        if missing:
            reasons.append(f"safety checks not run: {', '.join(missing)}")
        if self.periods < 1:
            reasons.append(f"periods must be >= 1, got {self.periods}")
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


def safety_checks(
    policy: ArtifactPolicy, observations: NDArray[np.floating[Any]]
) -> dict[str, bool]:
    """Run the safety checks on a sample of observations ``(n, obs_dim)``, on the decisions as
    served (after the mapping's clamp to the declared bounds, as :meth:`decide` returns them).

    Checks: network outputs and decisions are finite; the policy is deterministic; every
    served decision lies within its declared bounds (``decisions_within_bounds``, and per
    component ``orders_nonnegative``, ``<name>_within_bounds``, ``prices_within_bounds``).
    An order-up-to network whose raw order exceeds the order cap is safe when served (the clamp
    caps it), so it passes; a NaN output or a clamp that fails does not.
    """
    obs = np.asarray(observations, dtype=np.float64)
    actions = policy.act(obs)
    raw = policy.mapping.to_decision(actions, obs, clamp=True)
    low, high = policy.mapping.decision_low, policy.mapping.decision_high
    checks = {
        "finite_outputs": bool(np.isfinite(policy.forward(obs)).all() and np.isfinite(raw).all()),
        "deterministic": bool(np.array_equal(policy.act(obs), actions)),
        "decisions_within_bounds": bool(((raw >= low) & (raw <= high)).all()),
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


class EvidenceFn(Protocol):
    """A validation procedure: computes a fresh report for a candidate (common random numbers,
    paired test, safety checks as served). :func:`policies.rl.compare.validation_report` is
    the production one; tests may pass a fake."""

    def __call__(
        self,
        policy: ArtifactPolicy,
        artifact_sha256: str,
        *,
        seeds: int,
        periods: int,
        alpha: float,
    ) -> ValidationReport: ...


def _default_evidence(
    policy: ArtifactPolicy, artifact_sha256: str, *, seeds: int, periods: int, alpha: float
) -> ValidationReport:
    from policies.rl.compare import validation_report

    return validation_report(policy, artifact_sha256, seeds=seeds, periods=periods, alpha=alpha)


class Registry:
    """A registry rooted at a directory (created on first write).

    Args:
        root: the registry folder.
        key: HMAC signing key; default :func:`policies.artifacts.signing.signing_key` (from
            settings). Read lazily, so listing entries needs no key.
    """

    def __init__(self, root: Path | str, key: bytes | None = None) -> None:
        self.root = Path(root)
        self._key = key

    @property
    def key(self) -> bytes:
        """The signing key (from settings unless given).

        Raises:
            ArtifactKeyError: outside development mode without a configured key.
        """
        if self._key is None:
            self._key = signing_key()
        return self._key

    # ---- writing -------------------------------------------------------------------------
    def register(self, policy: ArtifactPolicy, name: str | None = None) -> RegistryEntry:
        """Store ``policy`` as a new, signed ``candidate`` version of ``name`` (default: the
        manifest's name).

        Raises:
            ArtifactFormatError: the name is not ``[A-Za-z0-9][A-Za-z0-9_.-]*``.
            ArtifactKeyError: no signing key (see :mod:`policies.artifacts.signing`).
        """
        name = name or policy.manifest.name
        if not _NAME.match(name):
            raise ArtifactFormatError(f"artifact name {name!r} must match {_NAME.pattern}")
        key = self.key
        versions = self._versions(name)
        version = f"v{(int(versions[-1][1:]) + 1) if versions else 1:04d}"
        path = self.root / name / version
        tmp = self.root / name / f".{version}.tmp"
        if tmp.exists():
            shutil.rmtree(tmp)
        save_policy(policy, tmp)
        policy_file = PARAMS_FILE if isinstance(policy, ParametricPolicy) else WEIGHTS_FILE
        files = {f: sha256_file(tmp / f) for f in (policy_file, MANIFEST_FILE)}
        now = datetime.now(UTC).isoformat()
        self._write_checks(tmp, key, files, "candidate")
        (tmp / STATUS_FILE).write_text(
            json.dumps({"status": "candidate", "registered_at": now}, indent=2)
        )
        tmp.rename(path)
        return self.entry(name, version)

    def promote(
        self,
        name: str,
        version: str,
        evidence: EvidenceFn | None = None,
        *,
        seeds: int = 8,
        periods: int = 3000,
        alpha: float = 0.05,
    ) -> RegistryEntry:
        """Validate the candidate afresh and, if it passes, mark it ``validated`` (re-signed).

        The evidence is computed here, on the verified stored artifact, by ``evidence``
        (default :func:`policies.rl.compare.validation_report`) with ``seeds`` common-random-
        number seeds (at least ``MIN_SEEDS``), ``periods`` periods each and level ``alpha``; no
        report is accepted from the caller or the artifact folder. The report is stored as
        ``validation.json`` and covered by the signature.

        Raises:
            ArtifactTamperedError: the stored files no longer match their signed checksums.
            PromotionRefusedError: a report was passed instead of a procedure, fewer than
                ``MIN_SEEDS`` seeds, or the fresh report fails the rules (reasons listed).
            ArtifactKeyError: no signing key.
        """
        if isinstance(evidence, ValidationReport):
            raise PromotionRefusedError(
                f"{name}/{version}: promotion computes its own evidence and does not accept a "
                "validation report; pass a validation procedure (or none for the default)"
            )
        if seeds < MIN_SEEDS:
            raise PromotionRefusedError(
                f"{name}/{version}: seeds={seeds}, at least {MIN_SEEDS} required"
            )
        key = self.key
        path = self._path(name, version)
        checks = self._verify(path, require_report=False)
        policy = load_policy(path)
        procedure: EvidenceFn = evidence if evidence is not None else _default_evidence
        try:
            report = procedure(
                policy, checks["artifact_sha256"], seeds=seeds, periods=periods, alpha=alpha
            )
        except ArtifactError:
            raise
        except (ValueError, TypeError) as exc:
            raise PromotionRefusedError(f"{name}/{version}: validation failed: {exc}") from exc
        if report.artifact_sha256 != checks["artifact_sha256"]:
            raise PromotionRefusedError(
                f"report is for artifact {report.artifact_sha256[:12]}..., but {name}/{version} "
                f"is {checks['artifact_sha256'][:12]}..."
            )
        reasons = report.refusal_reasons()
        if reasons:
            raise PromotionRefusedError(f"{name}/{version} not promoted: " + "; ".join(reasons))
        (path / VALIDATION_FILE).write_text(json.dumps(report.to_json(), indent=2))
        files = dict(checks["files"])
        files[VALIDATION_FILE] = sha256_file(path / VALIDATION_FILE)
        self._write_checks(path, key, files, "validated")
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
        """Describe one version (no checksum or signature verification)."""
        path = self._path(name, version)
        try:
            checks = json.loads((path / CHECKSUM_FILE).read_text())
            manifest = json.loads((path / MANIFEST_FILE).read_text())
            status = json.loads((path / STATUS_FILE).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ArtifactFormatError(f"{name}/{version} is unreadable: {exc}") from exc
        return RegistryEntry(
            name=name,
            version=version,
            status="validated" if checks.get("status") == "validated" else "candidate",
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

    def load_candidate(self, name: str, version: str) -> ArtifactPolicy:
        """Load any version after verifying its checksums and signature (for validation, not
        production)."""
        path = self._path(name, version)
        self._verify(path, require_report=False)
        return load_policy(path)

    def load_validated(self, name: str, version: str | None = None) -> ArtifactPolicy:
        """Load the newest validated version of ``name`` (or exactly ``version``).

        Raises:
            ArtifactNotFoundError: no such name/version, or no validated version.
            ArtifactNotValidatedError: the version was never promoted.
            ArtifactTamperedError: a file differs from its recorded SHA-256, the signature does
                not verify under the configured key, or the report does not validate this
                artifact.
            ArtifactKeyError: no signing key.
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
        return load_policy(path)

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

    @staticmethod
    def _signed_fields(files: dict[str, str], digest: object, status: object) -> dict[str, object]:
        return {"files": files, "artifact_sha256": digest, "status": status}

    def _write_checks(self, path: Path, key: bytes, files: dict[str, str], status: str) -> None:
        digest = _artifact_digest(files)
        payload = self._signed_fields(files, digest, status)
        record = {**payload, "hmac": sign(key, payload)}
        (path / CHECKSUM_FILE).write_text(json.dumps(record, indent=2))

    def _verify(self, path: Path, *, require_report: bool) -> dict[str, Any]:
        label = f"{path.parent.name}/{path.name}"
        try:
            checks: dict[str, Any] = json.loads((path / CHECKSUM_FILE).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ArtifactTamperedError(f"{label}: checksums.json missing or unreadable") from exc
        files: dict[str, str] = checks.get("files", {})
        needed = [_policy_file(files), MANIFEST_FILE] + (
            [VALIDATION_FILE] if require_report else []
        )
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
        payload = self._signed_fields(files, checks.get("artifact_sha256"), checks.get("status"))
        if not signature_matches(self.key, payload, checks.get("hmac")):
            raise ArtifactTamperedError(
                f"{label}: signature does not verify: the files, checksums or status were "
                "altered after signing, or the entry was signed with another key"
            )
        if require_report:
            if checks.get("status") != "validated":
                raise ArtifactTamperedError(f"{label}: the signed status is not 'validated'")
            report = ValidationReport.from_json(json.loads((path / VALIDATION_FILE).read_text()))
            if report.artifact_sha256 != checks["artifact_sha256"] or not report.passed:
                raise ArtifactTamperedError(
                    f"{label}: validation report does not validate this artifact"
                )
        return checks


def load_validated(
    registry_dir: Path | str, name: str, version: str | None = None
) -> ArtifactPolicy:
    """Production entry point: the newest validated, untampered version of ``name``.

    See :meth:`Registry.load_validated` for the errors raised.
    """
    return Registry(registry_dir).load_validated(name, version)
