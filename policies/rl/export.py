"""Export a stable-baselines3 model to a framework-free artifact (:mod:`policies.artifacts`).

Supported: ``MlpPolicy`` of PPO and A2C (discrete or box actions; the actor network plus the
action head; ``deterministic=True`` semantics) and DQN (the online Q-network, argmax), with a
flattened Box observation, and optional ``VecNormalize`` observation statistics.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from policies.artifacts import (
    ActionMapping,
    FrameworkFreePolicy,
    Manifest,
    ObsNormalization,
)

__all__ = ["export_sb3", "git_commit"]


def git_commit(cwd: Path | None = None) -> str:
    """Current git commit hash, or ``"unknown"`` outside a repository."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd or Path(__file__).resolve().parents[2],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def _linear_chain(
    modules: list[Any],
) -> tuple[list[NDArray[np.float64]], list[NDArray[np.float64]], str]:
    import torch.nn as nn

    weights: list[NDArray[np.float64]] = []
    biases: list[NDArray[np.float64]] = []
    activations: set[str] = set()
    for m in modules:
        if isinstance(m, nn.Linear):
            weights.append(m.weight.detach().cpu().double().numpy().copy())
            bias = m.bias if m.bias is not None else None
            biases.append(
                bias.detach().cpu().double().numpy().copy()
                if bias is not None
                else np.zeros(m.out_features)
            )
        elif isinstance(m, nn.Tanh):
            activations.add("tanh")
        elif isinstance(m, nn.ReLU):
            activations.add("relu")
        elif isinstance(m, nn.Sequential | nn.Identity | nn.Flatten):
            continue
        else:
            raise TypeError(f"cannot export layer {type(m).__name__}: only Linear/Tanh/ReLU MLPs")
    if len(activations) > 1:
        raise TypeError(f"mixed activations {sorted(activations)} are not supported")
    return weights, biases, activations.pop() if activations else "tanh"


def _normalization(vec_normalize: Any, obs_dim: int) -> ObsNormalization:
    if vec_normalize is None or not getattr(vec_normalize, "norm_obs", False):
        return ObsNormalization.identity(obs_dim)
    rms = vec_normalize.obs_rms
    return ObsNormalization(
        mean=np.asarray(rms.mean, dtype=np.float64).copy(),
        std=np.sqrt(np.asarray(rms.var, dtype=np.float64) + float(vec_normalize.epsilon)),
        clip=float(vec_normalize.clip_obs),
    )


def export_sb3(
    model: Any,
    *,
    mapping: ActionMapping,
    name: str,
    env_id: str,
    obs_names: tuple[str, ...],
    vec_normalize: Any = None,
    env_kwargs: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    seed: int = 0,
) -> FrameworkFreePolicy:
    """Build a :class:`FrameworkFreePolicy` from a trained PPO, A2C or DQN model.

    Args:
        model: the stable-baselines3 model (``MlpPolicy``).
        mapping: how actions become decisions (each env's ``action_mapping()`` gives it).
        name, env_id, obs_names, env_kwargs, config, seed: manifest fields.
        vec_normalize: the ``VecNormalize`` wrapper used in training, if any.

    Raises:
        TypeError: unsupported algorithm or network layers.
    """
    from stable_baselines3 import A2C, DQN, PPO

    policy = model.policy
    if isinstance(model, PPO | A2C):
        if (
            not policy.share_features_extractor
            and type(policy.pi_features_extractor).__name__ != "FlattenExtractor"
        ):
            raise TypeError("only the default FlattenExtractor is supported")
        hidden = list(policy.mlp_extractor.policy_net.modules())[1:]
        weights, biases, activation = _linear_chain(hidden)
        w_out, b_out, _ = _linear_chain([policy.action_net])
        weights += w_out
        biases += b_out
        algo = type(model).__name__
    elif isinstance(model, DQN):
        weights, biases, activation = _linear_chain(list(policy.q_net.q_net.modules())[1:])
        algo = "DQN"
    else:
        raise TypeError(f"cannot export {type(model).__name__}: PPO, A2C or DQN only")
    if len(weights) == 1:
        activation = "tanh"
    obs_dim = weights[0].shape[1]
    manifest = Manifest(
        name=name,
        env_id=env_id,
        algo=algo,
        obs_names=obs_names,
        env_kwargs=dict(env_kwargs or {}),
        config=dict(config or {}),
        seed=seed,
        training_steps=int(model.num_timesteps),
        git_commit=git_commit(),
        created_at=datetime.now(UTC).isoformat(),
    )
    return FrameworkFreePolicy(
        weights=tuple(weights),
        biases=tuple(biases),
        activation=activation,  # type: ignore[arg-type]
        normalization=_normalization(vec_normalize, obs_dim),
        mapping=mapping,
        manifest=manifest,
    )
