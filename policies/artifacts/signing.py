"""Keyed signatures (HMAC-SHA256) of registry entries; the key comes from settings.

A registry entry's ``checksums.json`` records the SHA-256 of each file, the artifact digest and
the entry's status, and an HMAC-SHA256 of those fields under a secret key. Anyone can recompute
SHA-256 checksums after altering weights; only the key holder can produce a matching HMAC, so
:meth:`policies.artifacts.Registry.load_validated` refuses an entry whose signature does not
verify.

The key is read from the environment (pydantic-settings, ``SHOPSPHERE_`` prefix), never from the
registry folder:

- ``SHOPSPHERE_ARTIFACT_SIGNING_KEY``: the secret (at least 16 characters);
- ``SHOPSPHERE_MODE``: ``development`` (default) or ``production``. In development a missing
  key falls back to a fixed development key (so local runs and tests work); in production a
  missing, short or development key is refused (:class:`ArtifactKeyError`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Literal

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from policies.artifacts.errors import ArtifactKeyError

__all__ = ["DEV_SIGNING_KEY", "SigningSettings", "sign", "signature_matches", "signing_key"]

DEV_SIGNING_KEY = "shopsphere-development-artifact-signing-key"
MIN_KEY_CHARS = 16


class SigningSettings(BaseSettings):
    """The artifact signing key and the deployment mode (``SHOPSPHERE_`` environment)."""

    model_config = SettingsConfigDict(env_prefix="SHOPSPHERE_", extra="ignore")

    mode: Literal["development", "production"] = "development"
    artifact_signing_key: SecretStr | None = None


def signing_key(settings: SigningSettings | None = None) -> bytes:
    """The HMAC key (bytes) from ``settings`` (default: read from the environment).

    Raises:
        ArtifactKeyError: outside development mode, when the key is missing, shorter than
            16 characters or the development key.
    """
    s = settings if settings is not None else SigningSettings()
    key = s.artifact_signing_key.get_secret_value() if s.artifact_signing_key else None
    if s.mode == "development":
        return (key or DEV_SIGNING_KEY).encode()
    if not key or key == DEV_SIGNING_KEY or len(key) < MIN_KEY_CHARS:
        raise ArtifactKeyError(
            "SHOPSPHERE_ARTIFACT_SIGNING_KEY must be set to a secret of at least "
            f"{MIN_KEY_CHARS} characters outside development mode"
        )
    return key.encode()


def _canonical(payload: Mapping[str, object]) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


def sign(key: bytes, payload: Mapping[str, object]) -> str:
    """Hex HMAC-SHA256 of the canonical JSON of ``payload`` (sorted keys, no spaces)."""
    return hmac.new(key, _canonical(payload), hashlib.sha256).hexdigest()


def signature_matches(key: bytes, payload: Mapping[str, object], signature: object) -> bool:
    """Whether ``signature`` is the HMAC of ``payload`` under ``key`` (constant-time compare)."""
    return isinstance(signature, str) and hmac.compare_digest(sign(key, payload), signature)
