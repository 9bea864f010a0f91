"""Framework-free RL policy artifacts and the validated-policy registry.

Production imports only this package (NumPy and the standard library; no torch,
stable-baselines3 or gymnasium)::

    from policies.artifacts import load_validated
    policy = load_validated("registry", "replenishment-p9-L2")
    orders = policy.decide(obs)          # (n, obs_dim) -> (n, 1) order units

Training-side export lives in :mod:`policies.rl.export`.
"""

from policies.artifacts.errors import (
    ArtifactError,
    ArtifactFormatError,
    ArtifactKeyError,
    ArtifactNotFoundError,
    ArtifactNotValidatedError,
    ArtifactTamperedError,
    PromotionRefusedError,
)
from policies.artifacts.policy import (
    FORMAT_VERSION,
    ActionMapping,
    FrameworkFreePolicy,
    Manifest,
    ObsNormalization,
    load_artifact,
    save_artifact,
)
from policies.artifacts.registry import (
    MIN_SEEDS,
    REQUIRED_SAFETY_CHECKS,
    EvidenceFn,
    Registry,
    RegistryEntry,
    ValidationReport,
    load_validated,
    safety_checks,
    sha256_file,
)
from policies.artifacts.signing import sign, signing_key

__all__ = [
    "FORMAT_VERSION",
    "MIN_SEEDS",
    "REQUIRED_SAFETY_CHECKS",
    "ActionMapping",
    "ArtifactError",
    "ArtifactFormatError",
    "ArtifactKeyError",
    "ArtifactNotFoundError",
    "ArtifactNotValidatedError",
    "ArtifactTamperedError",
    "EvidenceFn",
    "FrameworkFreePolicy",
    "Manifest",
    "ObsNormalization",
    "PromotionRefusedError",
    "Registry",
    "RegistryEntry",
    "ValidationReport",
    "load_artifact",
    "load_validated",
    "safety_checks",
    "save_artifact",
    "sha256_file",
    "sign",
    "signing_key",
]
