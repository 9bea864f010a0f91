"""Errors of the artifact registry. One root, :class:`ArtifactError`, so callers (the API's
error mapping, the CLI) can catch the whole family; each message names the artifact, the file or
field, and the bad value."""

from __future__ import annotations

from policies.registry import PolicyError


class ArtifactError(PolicyError):
    """Root of every error raised by :mod:`policies.artifacts` (a :class:`PolicyError`)."""


class ArtifactFormatError(ArtifactError, ValueError):
    """An artifact file is missing, malformed, or has arrays of the wrong shape."""


class ArtifactNotFoundError(ArtifactError, LookupError):
    """No artifact (or no validated version) with this name/version in the registry."""


class ArtifactTamperedError(ArtifactError):
    """A stored file's SHA-256 does not match the checksum recorded when it was registered."""


class ArtifactNotValidatedError(ArtifactError):
    """The artifact exists but was never promoted to ``validated`` (production refuses it)."""


class PromotionRefusedError(ArtifactError):
    """A validation report does not meet the promotion rules (reason in the message)."""


class ArtifactKeyError(ArtifactError):
    """No usable signing key: outside development mode the key must be set in settings
    (``SHOPSPHERE_ARTIFACT_SIGNING_KEY``)."""
