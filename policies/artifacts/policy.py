"""The framework-free policy: an MLP forward pass in NumPy, observation normalisation and an
action mapping, saved as ``weights.npz`` plus ``manifest.json``.

This module imports only NumPy and the standard library so production services can load an RL
policy without torch, stable-baselines3 or gymnasium (DESIGN.md, principle 4).

Forward pass (same as stable-baselines3's ``MlpPolicy`` for PPO/A2C actors and DQN Q-nets)::

    x = clip((obs - obs_mean) / obs_std, -obs_clip, obs_clip)      # VecNormalize statistics
    for W, b in hidden layers: x = activation(x @ W.T + b)           # tanh (PPO/A2C) or relu (DQN)
    y = x @ W_out.T + b_out
    action = argmax(y)                 # discrete actions (logits or Q-values)
    action = clip(y, action_low, action_high)   # box actions (the Gaussian mean)

Decision mapping (from the env's action to the business decision, e.g. units or price)::

    discrete: decision = action_table[action]                        # (n_actions, d) table
              (order-up-to: decision = max(action_table[action] - obs[relative_obs_index], 0))
    box:      decision = decision_offset + decision_scale * action
    then clipped to [decision_low, decision_high] (safety bounds: orders >= 0, price bounds)
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from policies.artifacts.errors import ArtifactFormatError

__all__ = [
    "FORMAT_VERSION",
    "ActionMapping",
    "FrameworkFreePolicy",
    "Manifest",
    "ObsNormalization",
    "load_artifact",
    "save_artifact",
]

FORMAT_VERSION = 1
WEIGHTS_FILE = "weights.npz"
MANIFEST_FILE = "manifest.json"

Activation = Literal["tanh", "relu"]


@dataclass(frozen=True, slots=True)
class ObsNormalization:
    """``x = clip((obs - mean) / std, -clip, clip)``; ``std`` already includes VecNormalize's
    epsilon (``sqrt(var + eps)``). ``clip = inf`` disables clipping."""

    mean: NDArray[np.float64]
    std: NDArray[np.float64]
    clip: float = float("inf")

    @classmethod
    def identity(cls, obs_dim: int) -> ObsNormalization:
        """No normalisation for an ``obs_dim``-vector."""
        return cls(np.zeros(obs_dim), np.ones(obs_dim), float("inf"))

    def apply(self, obs: NDArray[np.float64]) -> NDArray[np.float64]:
        """Normalise a batch ``(n, obs_dim)`` of observations."""
        x = (obs - self.mean) / self.std
        if np.isfinite(self.clip):
            x = np.clip(x, -self.clip, self.clip)
        return x


@dataclass(frozen=True, slots=True)
class ActionMapping:
    """How the network's output becomes an env action and a business decision.

    Attributes:
        kind: ``"discrete"`` (argmax over outputs) or ``"box"`` (clipped mean).
        decision_names: names (with units) of the decision components, e.g. ``("order_units",)``.
        decision_low, decision_high: safety bounds of the decision, shape ``(d,)``.
        table: discrete only, ``(n_actions, d)``: decision of each action index.
        action_low, action_high: box only, ``(d,)``: the env's action-space bounds.
        decision_offset, decision_scale: box only, ``(d,)``: affine map action -> decision.
        integer: round decisions to whole numbers (units of stock).
        relative_obs_index: order-up-to actions: the decision is ``max(table[a] - obs[i], 0)``
            with ``obs[i]`` the inventory position (``None``: the table value itself).
    """

    kind: Literal["discrete", "box"]
    decision_names: tuple[str, ...]
    decision_low: NDArray[np.float64]
    decision_high: NDArray[np.float64]
    table: NDArray[np.float64] | None = None
    action_low: NDArray[np.float64] | None = None
    action_high: NDArray[np.float64] | None = None
    decision_offset: NDArray[np.float64] | None = None
    decision_scale: NDArray[np.float64] | None = None
    integer: bool = False
    relative_obs_index: int | None = None

    def __post_init__(self) -> None:
        d = len(self.decision_names)
        if self.kind == "discrete":
            if self.table is None or self.table.ndim != 2 or self.table.shape[1] != d:
                shape = None if self.table is None else self.table.shape
                raise ArtifactFormatError(
                    f"action table must have shape (n_actions, {d}), got {shape}"
                )
        elif self.kind == "box":
            for name in ("action_low", "action_high", "decision_offset", "decision_scale"):
                arr = getattr(self, name)
                if arr is None or arr.shape != (d,):
                    shape = None if arr is None else arr.shape
                    raise ArtifactFormatError(f"{name} must have shape ({d},), got {shape}")
        else:
            raise ArtifactFormatError(f"action kind must be 'discrete' or 'box', got {self.kind!r}")
        if self.decision_low.shape != (d,) or self.decision_high.shape != (d,):
            raise ArtifactFormatError(f"decision bounds must have shape ({d},)")

    def to_decision(
        self, actions: NDArray[Any], obs: NDArray[Any] | None = None, *, clamp: bool = True
    ) -> NDArray[np.float64]:
        """Map a batch of env actions (and their observations ``(n, obs_dim)``, needed for
        order-up-to actions) to decisions ``(n, d)``, clamped to the safety bounds."""
        if self.kind == "discrete":
            assert self.table is not None
            out = self.table[np.asarray(actions, dtype=np.int64)]
            if self.relative_obs_index is not None:
                if obs is None:
                    raise ValueError("order-up-to actions need the observations")
                ref = np.asarray(obs, dtype=np.float64)[:, self.relative_obs_index]
                out = np.maximum(out - ref[:, None], 0.0)
        else:
            assert self.decision_offset is not None and self.decision_scale is not None
            out = self.decision_offset + self.decision_scale * np.asarray(actions, np.float64)
        if self.integer:
            out = np.rint(out)
        if clamp:
            out = np.clip(out, self.decision_low, self.decision_high)
        return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True, slots=True)
class Manifest:
    """Metadata saved beside the weights (``manifest.json``).

    Attributes:
        name: policy name in the registry (e.g. ``"replenishment-p9-L2"``).
        env_id: Gymnasium id the policy was trained on, with version (``ShopSphere/...-v0``).
        algo: training algorithm (``"PPO"``, ``"A2C"``, ``"DQN"``).
        obs_names: names of the observation components, in order, with units.
        env_kwargs: the env's constructor arguments (so evaluators rebuild the same env).
        config: the training configuration (as loaded from YAML).
        seed: training seed.
        training_steps: env steps used in training.
        git_commit: commit of the code that trained it (``"unknown"`` outside git).
        created_at: ISO-8601 UTC timestamp.
        format_version: artifact format version (:data:`FORMAT_VERSION`).
    """

    name: str
    env_id: str
    algo: str
    obs_names: tuple[str, ...]
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    training_steps: int = 0
    git_commit: str = "unknown"
    created_at: str = ""
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "name": self.name,
            "env_id": self.env_id,
            "algo": self.algo,
            "obs_names": list(self.obs_names),
            "env_kwargs": self.env_kwargs,
            "config": self.config,
            "seed": self.seed,
            "training_steps": self.training_steps,
            "git_commit": self.git_commit,
            "created_at": self.created_at,
            "format_version": self.format_version,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Manifest:
        """Inverse of :meth:`to_json`; raises :class:`ArtifactFormatError` on missing keys."""
        try:
            return cls(
                name=str(data["name"]),
                env_id=str(data["env_id"]),
                algo=str(data["algo"]),
                obs_names=tuple(data["obs_names"]),
                env_kwargs=dict(data.get("env_kwargs", {})),
                config=dict(data.get("config", {})),
                seed=int(data.get("seed", 0)),
                training_steps=int(data.get("training_steps", 0)),
                git_commit=str(data.get("git_commit", "unknown")),
                created_at=str(data.get("created_at", "")),
                format_version=int(data.get("format_version", FORMAT_VERSION)),
            )
        except KeyError as exc:
            raise ArtifactFormatError(f"manifest.json lacks the key {exc.args[0]!r}") from exc


@dataclass(frozen=True, slots=True)
class FrameworkFreePolicy:
    """An exported policy: ``act(obs)`` gives the env action, ``decide(obs)`` the decision.

    Both accept one observation ``(obs_dim,)`` or a batch ``(n, obs_dim)`` and return the
    matching shape. Nothing here needs torch.
    """

    weights: tuple[NDArray[np.float64], ...]
    biases: tuple[NDArray[np.float64], ...]
    activation: Activation
    normalization: ObsNormalization
    mapping: ActionMapping
    manifest: Manifest

    def __post_init__(self) -> None:
        if len(self.weights) != len(self.biases) or not self.weights:
            raise ArtifactFormatError(
                f"need as many weight matrices as biases (>= 1), got {len(self.weights)} "
                f"and {len(self.biases)}"
            )
        if self.activation not in ("tanh", "relu"):
            raise ArtifactFormatError(
                f"activation must be 'tanh' or 'relu', got {self.activation!r}"
            )
        width = self.obs_dim
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            if w.ndim != 2 or w.shape[1] != width or b.shape != (w.shape[0],):
                raise ArtifactFormatError(
                    f"layer {i}: weight {w.shape} / bias {b.shape} do not chain from width {width}"
                )
            width = w.shape[0]
        n_out = self.weights[-1].shape[0]
        d = len(self.mapping.decision_names)
        if self.mapping.kind == "discrete":
            assert self.mapping.table is not None
            if n_out != self.mapping.table.shape[0]:
                raise ArtifactFormatError(
                    f"network has {n_out} outputs but the action table "
                    f"{self.mapping.table.shape[0]} rows"
                )
        elif n_out != d:
            raise ArtifactFormatError(f"network has {n_out} outputs but the box action has {d}")
        if self.normalization.mean.shape != (self.obs_dim,):
            raise ArtifactFormatError(
                f"obs_mean has shape {self.normalization.mean.shape}, expected ({self.obs_dim},)"
            )

    @property
    def obs_dim(self) -> int:
        """Length of one observation vector."""
        return int(self.weights[0].shape[1])

    def forward(self, obs: NDArray[Any]) -> NDArray[np.float64]:
        """Raw network outputs (logits, Q-values or Gaussian means) for a batch ``(n, obs_dim)``."""
        x = self.normalization.apply(np.asarray(obs, dtype=np.float64))
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = x @ w.T + b
            if i < last:
                x = np.tanh(x) if self.activation == "tanh" else np.maximum(x, 0.0)
        return x

    def act(self, obs: NDArray[Any]) -> NDArray[Any]:
        """Deterministic env action(s), as stable-baselines3's ``predict(deterministic=True)``.

        Raises:
            ValueError: if the observation does not have ``obs_dim`` components.
        """
        arr = np.asarray(obs, dtype=np.float64)
        single = arr.ndim == 1
        batch = arr[None, :] if single else arr
        if batch.ndim != 2 or batch.shape[1] != self.obs_dim:
            raise ValueError(
                f"obs must have shape ({self.obs_dim},) or (n, {self.obs_dim}), got {arr.shape}"
            )
        y = self.forward(batch)
        if self.mapping.kind == "discrete":
            out: NDArray[Any] = np.argmax(y, axis=1)
        else:
            assert self.mapping.action_low is not None and self.mapping.action_high is not None
            out = np.clip(y, self.mapping.action_low, self.mapping.action_high)
        return out[0] if single else out

    def decide(self, obs: NDArray[Any]) -> NDArray[np.float64]:
        """Decision(s) (e.g. order units, price) for observation(s), within the safety bounds.

        Returns shape ``(d,)`` for one observation or ``(n, d)`` for a batch.
        """
        arr = np.asarray(obs, dtype=np.float64)
        single = arr.ndim == 1
        batch = arr[None, :] if single else arr
        out = self.mapping.to_decision(self.act(batch), batch)
        return out[0] if single else out


def save_artifact(policy: FrameworkFreePolicy, directory: Path) -> Path:
    """Write ``weights.npz`` and ``manifest.json`` into ``directory`` (created); returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    m = policy.mapping
    arrays: dict[str, NDArray[Any]] = {
        "obs_mean": policy.normalization.mean,
        "obs_std": policy.normalization.std,
        "obs_clip": np.array(policy.normalization.clip),
        "decision_low": m.decision_low,
        "decision_high": m.decision_high,
    }
    for i, (w, b) in enumerate(zip(policy.weights, policy.biases, strict=True)):
        arrays[f"W{i}"] = w
        arrays[f"b{i}"] = b
    for name in ("table", "action_low", "action_high", "decision_offset", "decision_scale"):
        value = getattr(m, name)
        if value is not None:
            arrays[name] = value
    with (directory / WEIGHTS_FILE).open("wb") as fh:
        np.savez(fh, **arrays)  # type: ignore[arg-type]
    meta = policy.manifest.to_json()
    meta["network"] = {
        "activation": policy.activation,
        "n_layers": len(policy.weights),
        "action_kind": m.kind,
        "decision_names": list(m.decision_names),
        "integer": m.integer,
        "relative_obs_index": m.relative_obs_index,
    }
    (directory / MANIFEST_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
    return directory


def load_artifact(directory: Path) -> FrameworkFreePolicy:
    """Read an artifact written by :func:`save_artifact` (no checksum or status checks: use
    :func:`policies.artifacts.load_validated` in production).

    Raises:
        ArtifactFormatError: a file is missing or malformed.
    """
    directory = Path(directory)
    try:
        meta = json.loads((directory / MANIFEST_FILE).read_text())
        net = meta["network"]
        with np.load(directory / WEIGHTS_FILE, allow_pickle=False) as npz:
            arrays = {k: np.asarray(npz[k]) for k in npz.files}
    except FileNotFoundError as exc:
        raise ArtifactFormatError(f"artifact file missing: {exc.filename}") from exc
    except (json.JSONDecodeError, KeyError, ValueError, OSError) as exc:
        raise ArtifactFormatError(f"artifact in {directory} is malformed: {exc}") from exc
    n_layers = int(net["n_layers"])
    try:
        weights = tuple(arrays[f"W{i}"].astype(np.float64) for i in range(n_layers))
        biases = tuple(arrays[f"b{i}"].astype(np.float64) for i in range(n_layers))
        mapping = ActionMapping(
            kind=net["action_kind"],
            decision_names=tuple(net["decision_names"]),
            decision_low=arrays["decision_low"].astype(np.float64),
            decision_high=arrays["decision_high"].astype(np.float64),
            table=arrays.get("table"),
            action_low=arrays.get("action_low"),
            action_high=arrays.get("action_high"),
            decision_offset=arrays.get("decision_offset"),
            decision_scale=arrays.get("decision_scale"),
            integer=bool(net.get("integer", False)),
            relative_obs_index=net.get("relative_obs_index"),
        )
        norm = ObsNormalization(
            arrays["obs_mean"].astype(np.float64),
            arrays["obs_std"].astype(np.float64),
            float(arrays["obs_clip"]),
        )
    except KeyError as exc:
        raise ArtifactFormatError(
            f"weights.npz in {directory} lacks the array {exc.args[0]!r}"
        ) from exc
    return FrameworkFreePolicy(
        weights=weights,
        biases=biases,
        activation=net["activation"],
        normalization=norm,
        mapping=mapping,
        manifest=Manifest.from_json(meta),
    )
