"""Framework-free RL policy artifacts and the validated-policy registry.

Production imports only this package (NumPy and the standard library; no torch,
stable-baselines3 or gymnasium)::

    from policies.artifacts import load_validated
    policy = load_validated("registry", "replenishment-p9-L2")
    orders = policy.decide(obs)          # (n, obs_dim) -> (n, 1) order units

Learned parametric policies (projected-inventory, continuous pricing, SKU-conditioned) are
artifacts too (``params.json`` instead of ``weights.npz``; :mod:`policies.artifacts.parametric`),
signed, promoted and served the same way.

Training-side export lives in :mod:`policies.rl.export` and :mod:`policies.rl.export_params`.
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
from policies.artifacts.parametric import (
    PARAMETRIC_CLASSES,
    ParametricPolicy,
    load_parametric,
    parametric_policy,
    save_parametric,
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
    ArtifactPolicy,
    EvidenceFn,
    Registry,
    RegistryEntry,
    ValidationReport,
    load_policy,
    load_validated,
    safety_checks,
    save_policy,
    sha256_file,
)
from policies.artifacts.signing import sign, signing_key

__all__ = [
    "FORMAT_VERSION",
    "MIN_SEEDS",
    "PARAMETRIC_CLASSES",
    "REQUIRED_SAFETY_CHECKS",
    "ActionMapping",
    "ArtifactError",
    "ArtifactFormatError",
    "ArtifactKeyError",
    "ArtifactNotFoundError",
    "ArtifactNotValidatedError",
    "ArtifactPolicy",
    "ArtifactTamperedError",
    "EvidenceFn",
    "FrameworkFreePolicy",
    "Manifest",
    "ObsNormalization",
    "ParametricPolicy",
    "PromotionRefusedError",
    "Registry",
    "RegistryEntry",
    "ValidationReport",
    "load_artifact",
    "load_parametric",
    "load_policy",
    "load_validated",
    "parametric_policy",
    "safety_checks",
    "save_artifact",
    "save_parametric",
    "save_policy",
    "sha256_file",
    "sign",
    "signing_key",
]
