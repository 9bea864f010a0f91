"""Gymnasium environments on the twin's dynamics kernels.

Importing this package registers the versioned ids::

    ShopSphere/Replenishment-v0                 policies.envs.replenishment:ReplenishmentEnv
    ShopSphere/MultiEchelonReplenishment-v0     policies.envs.multi_echelon:MultiEchelonEnv
    ShopSphere/MultiEchelonReplenishment-v1     policies.envs.multi_echelon_v1:NetworkEnv
    ShopSphere/DynamicPricing-v0                policies.envs.pricing:DynamicPricingEnv
    ShopSphere/JointPricingReplenishment-v0     policies.envs.joint:JointPricingReplenishmentEnv

so ``gymnasium.make("ShopSphere/Replenishment-v0", penalty_cost=9.0, lead_time=2)`` works.
Env modules are imported lazily by Gymnasium (entry-point strings); stable-baselines3 adapters
for the batched implementations live in :mod:`policies.envs.vec` (imports torch).
"""

from __future__ import annotations

from gymnasium.envs.registration import register, registry

__all__ = ["ENV_IDS"]

ENV_IDS: dict[str, tuple[str, int]] = {
    "ShopSphere/Replenishment-v0": ("policies.envs.replenishment:ReplenishmentEnv", 500),
    "ShopSphere/MultiEchelonReplenishment-v0": ("policies.envs.multi_echelon:MultiEchelonEnv", 365),
    "ShopSphere/MultiEchelonReplenishment-v1": ("policies.envs.multi_echelon_v1:NetworkEnv", 365),
    "ShopSphere/DynamicPricing-v0": ("policies.envs.pricing:DynamicPricingEnv", 10_000),
    "ShopSphere/JointPricingReplenishment-v0": (
        "policies.envs.joint:JointPricingReplenishmentEnv",
        365,
    ),
}

for _id, (_entry, _steps) in ENV_IDS.items():
    if _id not in registry:
        register(id=_id, entry_point=_entry, max_episode_steps=_steps)
