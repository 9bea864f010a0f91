"""Parametric artifacts: learned policies that are a few numbers, not a network.

The learned policies of :mod:`policies.rl` that met the optimality targets are not neural:
the projected-inventory quantile policy (``projected_quantile``), the continuous-price search
policy (``fluid_price``) and the SKU-conditioned rule (``sku_projected``). They are saved as
``params.json`` (the parameters as JSON numbers) beside the same ``manifest.json`` as a network
artifact, whose ``artifact_kind`` is ``"parametric"`` and whose ``policy_class`` names the class.
Only the classes of :data:`PARAMETRIC_CLASSES` can be loaded (an allow-list, no pickle and no
import by name), so an artifact can choose parameters but never code.

A :class:`ParametricPolicy` has the interface of
:class:`~policies.artifacts.policy.FrameworkFreePolicy` (``obs_dim``, ``forward``, ``act``,
``decide``, ``mapping``, ``manifest``) on the same environment observation vectors, so the
registry's signing, promotion (evidence recomputed with common random numbers), safety checks
and the serving adapters treat both kinds alike. Its mapping is an identity ``box`` mapping:
the action is the decision, clamped to the declared safety bounds.

Observation vectors (as the environments define them):

* ``ShopSphere/Replenishment-v0``: ``[available, pipeline_1 .. pipeline_{L-1},
  inventory_position]`` in units (``[net, net]`` for ``L = 0``);
* ``ShopSphere/DynamicPricing-v0``: ``[on_hand / stock, days_left / horizon]``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from policies.artifacts.errors import ArtifactFormatError
from policies.artifacts.policy import MANIFEST_FILE, ActionMapping, Manifest

__all__ = [
    "PARAMETRIC_CLASSES",
    "PARAMS_FILE",
    "ParametricPolicy",
    "load_parametric",
    "parametric_policy",
    "save_parametric",
]

PARAMS_FILE = "params.json"
ARTIFACT_KIND = "parametric"
REPLENISHMENT_ENV = "ShopSphere/Replenishment-v0"
PRICING_ENV = "ShopSphere/DynamicPricing-v0"

DecisionFn = Callable[[NDArray[np.float64]], NDArray[np.float64]]

#: Allowed policy classes: name -> (environment id, required parameter names).
PARAMETRIC_CLASSES: dict[str, tuple[str, tuple[str, ...]]] = {
    "projected_quantile": (REPLENISHMENT_ENV, ("fractile", "cap")),
    "sku_projected": (REPLENISHMENT_ENV, ("w0", "w1", "w2", "cap_k")),
    "fluid_price": (PRICING_ENV, ("theta",)),
}


def _number(params: dict[str, Any], name: str) -> float:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ArtifactFormatError(f"parameter {name!r} must be a finite number, got {value!r}")
    return float(value)


def _kw(kw: dict[str, Any], name: str, default: float) -> float:
    """An instance parameter of the manifest, with the environment's default."""
    return _number(kw, name) if kw.get(name) is not None else default


def _kernel_state(
    obs: NDArray[np.float64], lead_time: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Replenishment observation rows -> kernel ``(on_hand (n,), pipeline (n, L))``.

    ``available`` already includes this period's arrival, so it is the on-hand with an empty
    first pipeline slot; the later slots are the observation's ``pipeline_1..``.
    """
    x = np.maximum(np.rint(obs), 0).astype(np.int64)
    on_hand = x[:, 0]
    if lead_time == 0:
        return on_hand, np.zeros((x.shape[0], 0), dtype=np.int64)
    pipe = np.concatenate([np.zeros((x.shape[0], 1), np.int64), x[:, 1:lead_time]], axis=1)
    return on_hand, pipe


def _replenishment_fn(
    policy_class: str, params: dict[str, Any], kw: dict[str, Any]
) -> tuple[DecisionFn, ActionMapping, int]:
    from policies.rl.projected import ProjectedQuantilePolicy

    mean, lead = _kw(kw, "demand_mean", 5.0), int(_kw(kw, "lead_time", 2))
    holding, penalty = _kw(kw, "holding_cost", 1.0), _kw(kw, "penalty_cost", 9.0)
    if not (mean > 0 and lead >= 0 and holding > 0 and penalty > 0):
        raise ArtifactFormatError(
            f"manifest env_kwargs need demand_mean > 0, lead_time >= 0 and positive costs, got "
            f"{mean}, {lead}, {holding}, {penalty}"
        )
    if policy_class == "projected_quantile":
        fractile = _number(params, "fractile")
        cap_value = params.get("cap")
        cap = None if cap_value is None else int(_number(params, "cap"))
    else:
        from policies.rl.sku_policy import FractileRule

        rule = FractileRule(*(_number(params, k) for k in ("w0", "w1", "w2", "cap_k")))
        fractile = rule.fractile(holding, penalty, lead)
        cap = rule.cap(mean)
    try:
        inner = ProjectedQuantilePolicy(fractile, cap, mean, lead)
    except ValueError as exc:
        raise ArtifactFormatError(f"parameters of {policy_class} are invalid: {exc}") from exc

    def fn(obs: NDArray[np.float64]) -> NDArray[np.float64]:
        on_hand, pipe = _kernel_state(obs, lead)
        return inner.orders(on_hand, pipe).astype(np.float64)[:, None]

    mapping = _box_mapping("order_units", 0.0, float(_order_cap(kw, mean)), integer=True)
    return fn, mapping, max(lead, 1) + 1


def _pricing_fn(params: dict[str, Any], kw: dict[str, Any]) -> tuple[DecisionFn, ActionMapping]:
    from policies.rl.pricing_search import FluidPricePolicy

    stock, horizon = int(_kw(kw, "stock", 20)), int(_kw(kw, "horizon", 20))
    a, b = _kw(kw, "a", 3.0), _kw(kw, "b", 0.5)
    if stock < 1 or horizon < 1 or not (a > 0 and b > 0):
        raise ArtifactFormatError(
            f"manifest env_kwargs need stock, horizon >= 1 and a, b > 0, got {stock}, "
            f"{horizon}, {a}, {b}"
        )
    theta_raw = params.get("theta")
    if not isinstance(theta_raw, list) or len(theta_raw) != 4:
        raise ArtifactFormatError(
            f"parameter 'theta' must be a list of 4 numbers, got {theta_raw!r}"
        )
    theta = tuple(_number({"theta": v}, "theta") for v in theta_raw)
    inner = FluidPricePolicy((theta[0], theta[1], theta[2], theta[3]), a, b)

    def fn(obs: NDArray[np.float64]) -> NDArray[np.float64]:
        x = np.rint(obs[:, 0] * stock)
        n = np.rint(obs[:, 1] * horizon)
        return inner.price(n, x)[:, None]

    low, high = _price_bounds(kw, a, b)
    return fn, _box_mapping("price", low, high, integer=False)


# The bounds below are those of ``ReplenishmentConfig.order_cap`` and ``PricingConfig.high``
# (policies.envs), restated so that loading an artifact never imports gymnasium; a test checks
# that they agree.
def _order_cap(kw: dict[str, Any], mean: float) -> int:
    if kw.get("max_order") is not None:
        return int(_number(kw, "max_order"))
    rates = kw.get("demand_rates")
    peak = max(float(r) for r in rates) if rates else mean
    return math.ceil(peak + 5.0 * math.sqrt(peak))


def _price_bounds(kw: dict[str, Any], a: float, b: float) -> tuple[float, float]:
    low = _kw(kw, "price_low", 0.0)
    if kw.get("price_high") is not None:
        return low, _number(kw, "price_high")
    return low, max(low + 1.0 / b, (1.0 + max(math.log(a), 0.0) + 3.0) / b)


def _box_mapping(name: str, low: float, high: float, *, integer: bool) -> ActionMapping:
    lo, hi = np.array([low]), np.array([high])
    return ActionMapping(
        kind="box",
        decision_names=(name,),
        decision_low=lo,
        decision_high=hi,
        action_low=lo,
        action_high=hi,
        decision_offset=np.zeros(1),
        decision_scale=np.ones(1),
        integer=integer,
    )


@dataclass(frozen=True)
class ParametricPolicy:
    """A learned policy given by ``params`` of an allowed ``policy_class`` (module docstring).

    Build with :func:`parametric_policy` (or :func:`load_parametric`), which checks the class
    against the allow-list, the parameters and the environment.

    Attributes:
        policy_class: a key of :data:`PARAMETRIC_CLASSES`.
        params: JSON parameters of the class.
        manifest: name, environment (``env_id``, ``env_kwargs``: the instance), provenance.
        mapping: identity ``box`` mapping with the decision's safety bounds.
    """

    policy_class: str
    params: dict[str, Any]
    manifest: Manifest
    mapping: ActionMapping
    obs_dim: int
    _fn: DecisionFn = field(repr=False, compare=False)

    def forward(self, obs: NDArray[Any]) -> NDArray[np.float64]:
        """Unclamped decisions ``(n, 1)`` for a batch of observations ``(n, obs_dim)``."""
        return self._fn(np.asarray(obs, dtype=np.float64))

    def act(self, obs: NDArray[Any]) -> NDArray[Any]:
        """Decisions clamped to the action bounds, for one observation or a batch.

        Raises:
            ValueError: the observation does not have ``obs_dim`` components.
        """
        arr = np.asarray(obs, dtype=np.float64)
        single = arr.ndim == 1
        batch = arr[None, :] if single else arr
        if batch.ndim != 2 or batch.shape[1] != self.obs_dim:
            raise ValueError(
                f"obs must have shape ({self.obs_dim},) or (n, {self.obs_dim}), got {arr.shape}"
            )
        assert self.mapping.action_low is not None and self.mapping.action_high is not None
        out = np.clip(self.forward(batch), self.mapping.action_low, self.mapping.action_high)
        return out[0] if single else out

    def decide(self, obs: NDArray[Any]) -> NDArray[np.float64]:
        """Decision(s) within the safety bounds: ``(d,)`` for one observation, else ``(n, d)``."""
        arr = np.asarray(obs, dtype=np.float64)
        single = arr.ndim == 1
        batch = arr[None, :] if single else arr
        out = self.mapping.to_decision(self.act(batch), batch)
        return out[0] if single else out


def parametric_policy(
    policy_class: str, params: dict[str, Any], manifest: Manifest
) -> ParametricPolicy:
    """Build a parametric policy after checking the class, its environment and parameters.

    Raises:
        ArtifactFormatError: the class is not allowed, the manifest's ``env_id`` is not the
            class's environment, a parameter is missing or not a finite number, or the
            manifest's ``env_kwargs`` do not describe a valid instance.
    """
    if policy_class not in PARAMETRIC_CLASSES:
        raise ArtifactFormatError(
            f"policy_class {policy_class!r} is not allowed; allowed: "
            f"{', '.join(sorted(PARAMETRIC_CLASSES))}"
        )
    env_id, names = PARAMETRIC_CLASSES[policy_class]
    if manifest.env_id != env_id:
        raise ArtifactFormatError(
            f"policy_class {policy_class!r} serves {env_id}, manifest says {manifest.env_id!r}"
        )
    missing = [n for n in names if n not in params]
    if missing:
        raise ArtifactFormatError(f"params.json lacks {', '.join(missing)} for {policy_class}")
    clean = {k: params[k] for k in names}
    if env_id == PRICING_ENV:
        fn, mapping = _pricing_fn(clean, manifest.env_kwargs)
        obs_dim = 2
    else:
        fn, mapping, obs_dim = _replenishment_fn(policy_class, clean, manifest.env_kwargs)
    return ParametricPolicy(policy_class, clean, manifest, mapping, obs_dim, fn)


def save_parametric(policy: ParametricPolicy, directory: Path) -> Path:
    """Write ``params.json`` and ``manifest.json`` into ``directory`` (created); returns it."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    body = {"policy_class": policy.policy_class, "params": policy.params}
    (directory / PARAMS_FILE).write_text(json.dumps(body, indent=2, sort_keys=True))
    meta = policy.manifest.to_json()
    meta["artifact_kind"] = ARTIFACT_KIND
    meta["policy_class"] = policy.policy_class
    (directory / MANIFEST_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True))
    return directory


def is_parametric(directory: Path) -> bool:
    """Whether the artifact folder holds a parametric policy (its manifest says so)."""
    try:
        meta = json.loads((Path(directory) / MANIFEST_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return False
    return isinstance(meta, dict) and meta.get("artifact_kind") == ARTIFACT_KIND


def load_parametric(directory: Path) -> ParametricPolicy:
    """Read a parametric artifact (no signature checks: production uses
    :func:`policies.artifacts.load_validated`).

    Raises:
        ArtifactFormatError: a file is missing or malformed, the class is not allowed, the
            manifest and ``params.json`` name different classes, or a parameter is invalid.
    """
    directory = Path(directory)
    try:
        meta = json.loads((directory / MANIFEST_FILE).read_text())
        body = json.loads((directory / PARAMS_FILE).read_text())
    except FileNotFoundError as exc:
        raise ArtifactFormatError(f"artifact file missing: {exc.filename}") from exc
    except (json.JSONDecodeError, OSError) as exc:
        raise ArtifactFormatError(f"artifact in {directory} is malformed: {exc}") from exc
    if not isinstance(body, dict) or not isinstance(body.get("params"), dict):
        raise ArtifactFormatError(f"{PARAMS_FILE} in {directory} must hold an object 'params'")
    cls = body.get("policy_class")
    if meta.get("policy_class") != cls:
        raise ArtifactFormatError(
            f"manifest names policy_class {meta.get('policy_class')!r}, {PARAMS_FILE} {cls!r}"
        )
    return parametric_policy(str(cls), body["params"], Manifest.from_json(meta))
