"""Train a policy with stable-baselines3 from a YAML config (``shopsphere train CONFIG.yaml``).

A config (see ``configs/rl/*.yaml``) names the env id and its arguments, the algorithm and its
hyper-parameters, the seed and the budget. Training writes into ``output_dir``: CSV and
TensorBoard logs, checkpoints, the best model by exact evaluation (where the instance has an
exact evaluator: the replenishment DP, the pricing recursion), and the exported
framework-free artifact (``artifact/``).
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from policies.artifacts import FrameworkFreePolicy, save_artifact
from policies.registry import PolicyError

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv

__all__ = [
    "BEST_INFO_FILE",
    "BEST_MODEL_FILE",
    "BEST_VECNORM_FILE",
    "TrainConfig",
    "TrainConfigError",
    "TrainResult",
    "load_config",
    "make_training_env",
    "train",
]


# The best checkpoint by exact evaluation, beside the final model.zip / vecnormalize.pkl.
BEST_MODEL_FILE = "best_model.zip"
BEST_VECNORM_FILE = "best_vecnormalize.pkl"
BEST_INFO_FILE = "best.json"


class TrainConfigError(PolicyError, ValueError):
    """A training config field is missing, unknown or invalid (named in the message)."""


_ALGOS = ("PPO", "A2C", "DQN")


@dataclass(frozen=True)
class TrainConfig:
    """A training run (every field but ``name`` and ``env_id`` has a working default).

    Attributes:
        name: policy name (``[A-Za-z0-9][A-Za-z0-9_.-]*``), used for the artifact and folder.
        env_id: Gymnasium id (``ShopSphere/...-v0``); env_kwargs: its constructor arguments.
        algo: ``PPO`` (default), ``A2C`` or ``DQN``; algo_kwargs: passed to its constructor.
        seed, total_timesteps, n_envs, episode_length: run size (episode length in periods).
        vec_normalize: normalise observations with ``VecNormalize`` (stats are exported).
        net_arch, activation: the MLP; learning_rate (linearly decayed if linear_lr_decay).
        warm_start: start the discrete policy near the env's heuristic action.
        eval_every: env steps between exact evaluations (best one is kept); 0: only at the end.
        checkpoint_every: env steps between checkpoints (0: none).
        output_dir: where logs/checkpoints/artifact go (``{name}`` is substituted).
        progress_bar: show stable-baselines3's progress bar.
        torch_threads: threads torch may use.
        time_budget_s: stop training after this many wall-clock seconds (``None``: no limit).
    """

    name: str
    env_id: str
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    algo: str = "PPO"
    seed: int = 0
    total_timesteps: int = 200_000
    n_envs: int = 32
    episode_length: int = 200
    vec_normalize: bool = True
    net_arch: tuple[int, ...] = (64, 64)
    activation: str = "tanh"
    learning_rate: float = 3e-4
    linear_lr_decay: bool = True
    algo_kwargs: dict[str, Any] = field(default_factory=dict)
    warm_start: bool = True
    eval_every: int = 25_000
    checkpoint_every: int = 0
    output_dir: str = "runs/rl/{name}"
    progress_bar: bool = False
    torch_threads: int = 1
    time_budget_s: float | None = None

    def __post_init__(self) -> None:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", str(self.name)):
            raise TrainConfigError(f"name: {self.name!r} must match [A-Za-z0-9][A-Za-z0-9_.-]*")
        if self.algo not in _ALGOS:
            raise TrainConfigError(f"algo: {self.algo!r} is not one of {', '.join(_ALGOS)}")
        if self.activation not in ("tanh", "relu"):
            raise TrainConfigError(f"activation: {self.activation!r} is not 'tanh' or 'relu'")
        for fname in ("total_timesteps", "n_envs", "episode_length", "torch_threads"):
            if int(getattr(self, fname)) < 1:
                raise TrainConfigError(f"{fname}: {getattr(self, fname)!r} must be >= 1")
        for fname in ("eval_every", "checkpoint_every"):
            if int(getattr(self, fname)) < 0:
                raise TrainConfigError(f"{fname}: {getattr(self, fname)!r} must be >= 0")
        if not float(self.learning_rate) > 0:
            raise TrainConfigError(f"learning_rate: {self.learning_rate!r} must be > 0")
        if self.time_budget_s is not None and not float(self.time_budget_s) > 0:
            raise TrainConfigError(f"time_budget_s: {self.time_budget_s!r} must be > 0 seconds")
        if not self.net_arch or any(int(w) < 1 for w in self.net_arch):
            raise TrainConfigError(f"net_arch: {list(self.net_arch)!r} must be positive widths")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TrainConfig:
        """Build from a dict (e.g. parsed YAML), naming unknown or missing fields."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise TrainConfigError(
                f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(sorted(known))}"
            )
        for required in ("name", "env_id"):
            if required not in data:
                raise TrainConfigError(f"{required}: missing (required)")
        values = dict(data)
        if "net_arch" in values:
            values["net_arch"] = tuple(int(w) for w in values["net_arch"])
        for fname in ("env_kwargs", "algo_kwargs"):
            if fname in values and not isinstance(values[fname], Mapping):
                raise TrainConfigError(f"{fname}: {values[fname]!r} must be a mapping")
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """JSON/YAML-ready dict."""
        out = asdict(self)
        out["net_arch"] = list(self.net_arch)
        return out


def load_config(path: Path | str, **overrides: Any) -> TrainConfig:
    """Read a YAML config; ``overrides`` replace top-level keys (``None`` values ignored).

    Raises:
        FileNotFoundError: the file does not exist.
        TrainConfigError: a field is missing, unknown or invalid (the message names it).
    """
    data = yaml.safe_load(Path(path).read_text()) or {}
    if not isinstance(data, dict):
        raise TrainConfigError(
            f"{path}: the top level must be a mapping, got {type(data).__name__}"
        )
    data.update({k: v for k, v in overrides.items() if v is not None})
    return TrainConfig.from_mapping(data)


@dataclass
class TrainResult:
    """What :func:`train` produced."""

    config: TrainConfig
    model: Any
    vec_normalize: Any
    policy: FrameworkFreePolicy
    output_dir: Path
    best_metric: float | None
    history: list[tuple[int, float]]


def _env_parts(config: TrainConfig) -> tuple[Any, Any, Any]:
    """(single env instance, action mapping, obs names)."""
    import gymnasium as gym

    import policies.envs  # noqa: F401  (registers the ids)

    env: Any = gym.make(config.env_id, **config.env_kwargs).unwrapped
    source = env.config if hasattr(env, "config") else env
    return env, source.action_mapping(), source.obs_names


def make_training_env(config: TrainConfig) -> VecEnv:
    """A stable-baselines3 ``VecEnv`` for the config (batched NumPy where available)."""
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    kw = dict(config.env_kwargs)
    if config.env_id == "ShopSphere/Replenishment-v0":
        from policies.envs.vec import make_replenishment_vec_env

        venv: Any = make_replenishment_vec_env(
            config.n_envs, seed=config.seed, episode_length=config.episode_length, **kw
        )
    elif config.env_id == "ShopSphere/DynamicPricing-v0":
        from policies.envs.vec import make_pricing_vec_env

        venv = make_pricing_vec_env(config.n_envs, seed=config.seed, **kw)
    else:
        import gymnasium as gym

        import policies.envs  # noqa: F401

        venv = make_vec_env(
            lambda: gym.make(config.env_id, max_episode_steps=config.episode_length, **kw),
            n_envs=config.n_envs,
            seed=config.seed,
        )
    if config.vec_normalize:
        gamma = float(config.algo_kwargs.get("gamma", 0.99))
        venv = VecNormalize(venv, norm_obs=True, norm_reward=False, gamma=gamma)
    out: VecEnv = venv
    return out


def _exact_metric(config: TrainConfig) -> tuple[Any, str] | None:
    """An exact evaluator ``policy -> value`` and its direction, where one exists."""
    kw = config.env_kwargs
    if (
        config.env_id == "ShopSphere/Replenishment-v0"
        and not kw.get("demand_rates")
        and kw.get("lead_time", 2) >= 1
    ):
        from policies.rl.evaluate import from_artifact
        from policies.rl.exact_eval import exact_replenishment_cost

        inst = {
            k: kw[k]
            for k in ("demand_mean", "lead_time", "holding_cost", "penalty_cost", "lost_sales")
            if k in kw
        }
        return (lambda pol: exact_replenishment_cost(from_artifact(pol), **inst)), "min"
    if config.env_id == "ShopSphere/DynamicPricing-v0":
        from policies.envs.pricing import PricingConfig
        from policies.rl.exact_eval import exact_pricing_revenue

        c = PricingConfig(**kw)
        return (
            lambda pol: exact_pricing_revenue(
                lambda o: pol.decide(o)[:, 0], c.stock, c.horizon, c.a, c.b
            )
        ), "max"
    return None


def _log_formats() -> list[str]:
    """CSV always; TensorBoard when its writer can be imported."""
    try:
        from torch.utils.tensorboard import SummaryWriter  # noqa: F401
    except ImportError:
        return ["csv"]
    return ["csv", "tensorboard"]


def _warm_start(model: Any, config: TrainConfig, env: Any) -> None:
    """Bias the initial discrete policy towards a sensible action (the critical-fractile
    base-stock level; the revenue-maximising static price), so exploration starts near a
    good heuristic instead of uniformly over all actions."""
    import torch

    source: Any = getattr(env, "config", None)
    centre = source.warm_start_action() if hasattr(source, "warm_start_action") else None
    if centre is None or config.algo == "DQN" or not hasattr(env.action_space, "n"):
        return
    n = int(env.action_space.n)
    k = torch.arange(n, dtype=torch.float32)
    width = max(1.0, math.sqrt(n) / 2.0)
    with torch.no_grad():
        model.policy.action_net.bias.copy_(-((k - float(centre)) ** 2) / (2.0 * width**2))


def train(config: TrainConfig) -> TrainResult:
    """Train, keep the best checkpoint by exact evaluation, export the artifact.

    The run folder gets ``model.zip`` (final), ``best_model.zip`` (+ ``best_vecnormalize.pkl``,
    ``best.json``) when an exact evaluator exists, logs (``logs/progress.csv`` with
    ``rollout/ep_rew_mean`` and ``eval/exact``) and ``artifact/`` (the best policy). Training
    stops early after ``config.time_budget_s`` seconds of wall clock.
    """
    import torch
    from stable_baselines3 import A2C, DQN, PPO
    from stable_baselines3.common.callbacks import BaseCallback, CallbackList, CheckpointCallback
    from stable_baselines3.common.logger import configure

    from policies.rl.export import export_sb3

    torch.set_num_threads(config.torch_threads)
    out = Path(config.output_dir.format(name=config.name))
    out.mkdir(parents=True, exist_ok=True)
    (out / "config.yaml").write_text(yaml.safe_dump(config.to_dict(), sort_keys=False))
    env, mapping, obs_names = _env_parts(config)
    venv = make_training_env(config)
    from stable_baselines3.common.vec_env import VecNormalize

    vecnorm = venv if isinstance(venv, VecNormalize) else None
    act_fn = torch.nn.Tanh if config.activation == "tanh" else torch.nn.ReLU
    lr: Any = (
        (lambda f: config.learning_rate * f) if config.linear_lr_decay else config.learning_rate
    )
    algo_cls = {"PPO": PPO, "A2C": A2C, "DQN": DQN}[config.algo]
    model = algo_cls(
        "MlpPolicy",
        venv,
        learning_rate=lr,
        seed=config.seed,
        verbose=0,
        policy_kwargs={"net_arch": list(config.net_arch), "activation_fn": act_fn},
        **config.algo_kwargs,
    )
    if config.warm_start:
        _warm_start(model, config, env)
    model.set_logger(configure(str(out / "logs"), _log_formats()))

    def export() -> FrameworkFreePolicy:
        return export_sb3(
            model,
            mapping=mapping,
            name=config.name,
            env_id=config.env_id,
            obs_names=obs_names,
            vec_normalize=vecnorm,
            env_kwargs=config.env_kwargs,
            config=config.to_dict(),
            seed=config.seed,
        )

    exact = _exact_metric(config)
    history: list[tuple[int, float]] = []
    best: dict[str, Any] = {"value": None, "policy": None}

    def evaluate_now() -> None:
        if exact is None:
            return
        fn, direction = exact
        pol = export()
        value = float(fn(pol))
        history.append((model.num_timesteps, value))
        model.logger.record("eval/exact", value)
        logger.info(
            "%s: %d steps, exact %s %.4f",
            config.name,
            model.num_timesteps,
            "cost" if direction == "min" else "revenue",
            value,
        )
        v = best["value"]
        if v is None or (value < v if direction == "min" else value > v):
            best.update(value=value, policy=pol)
            # keep the best model itself, so `export RUN_DIR` re-exports it, not the final one
            model.save(out / BEST_MODEL_FILE)
            if vecnorm is not None:
                vecnorm.save(str(out / BEST_VECNORM_FILE))
            (out / BEST_INFO_FILE).write_text(
                json.dumps({"timesteps": int(model.num_timesteps), "exact_value": value})
            )

    started = time.monotonic()

    class ExactEval(BaseCallback):
        def _on_step(self) -> bool:
            if (
                config.eval_every
                and self.num_timesteps // config.eval_every
                != (self.num_timesteps - self.training_env.num_envs) // config.eval_every
            ):
                evaluate_now()
            budget = config.time_budget_s
            return budget is None or time.monotonic() - started < budget

    callbacks: list[BaseCallback] = [ExactEval()]
    if config.checkpoint_every:
        callbacks.append(
            CheckpointCallback(
                max(1, config.checkpoint_every // config.n_envs),
                str(out / "checkpoints"),
                name_prefix=config.name,
                save_vecnormalize=config.vec_normalize,
            )
        )
    model.learn(
        config.total_timesteps, callback=CallbackList(callbacks), progress_bar=config.progress_bar
    )
    evaluate_now()
    model.save(out / "model.zip")
    if vecnorm is not None:
        vecnorm.save(str(out / "vecnormalize.pkl"))
    policy = best["policy"] if best["policy"] is not None else export()
    save_artifact(policy, out / "artifact")
    return TrainResult(config, model, vecnorm, policy, out, best["value"], history)
