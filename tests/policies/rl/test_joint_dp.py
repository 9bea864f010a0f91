"""Exact joint pricing-replenishment DP (``policies.exact.joint_dp``) and the joint env's
simple learned policy."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from policies.envs.joint import (
    JointConfig,
    JointPricingReplenishmentEnv,
    PositionPricePolicy,
    simulate_joint_policies,
    train_joint_policy,
)
from policies.exact.demand import ExactSolverError
from policies.exact.joint_dp import JointMDP, evaluate_joint_policy, solve_joint
from policies.stats import batch_means_ci


def _brute_force(mdp: JointMDP) -> float:
    """Best long-run profit from the empty state over every deterministic stationary policy."""
    P = len(mdp.prices)
    states = list(np.ndindex(*mdp.state_shape))
    choices = []
    for s in states:
        pos = sum(s)
        feasible = [q for q in range(mdp.max_order + 1) if pos + q <= mdp.max_position or q == 0]
        choices.append([(p, q) for p in range(P) for q in feasible])
    best = -math.inf
    for combo in itertools.product(*choices):
        p_idx = np.zeros(mdp.state_shape, dtype=np.int64)
        order = np.zeros(mdp.state_shape, dtype=np.int64)
        for s, (p, q) in zip(states, combo, strict=True):
            p_idx[s], order[s] = p, q
        best = max(best, evaluate_joint_policy(mdp, p_idx, order))
    return best


@pytest.mark.parametrize(
    "mdp",
    [
        JointMDP(3.0, 0.5, (1.0, 3.0), 0.5, 0.2, lead_time=1, max_order=2, max_position=3),
        JointMDP(2.0, 0.3, (1.0, 2.5), 0.4, 0.1, lead_time=2, max_order=1, max_position=2),
    ],
    ids=["L1", "L2"],
)
def test_joint_dp_optimum_equals_brute_force_over_all_policies(mdp: JointMDP) -> None:
    sol = solve_joint(mdp, tolerance=1e-10)
    assert sol.gain == pytest.approx(_brute_force(mdp), abs=1e-8)
    assert evaluate_joint_policy(mdp, sol.price_index, sol.order) == pytest.approx(
        sol.gain, abs=1e-8
    )


def test_joint_transitions_are_distributions_and_revenue_is_the_direct_expectation() -> None:
    mdp = JointMDP(10.0, 0.4, (2.0, 6.0, 10.0), 2.0, 0.1, max_position=30)
    T, rev = mdp.transitions()
    assert np.allclose(T.sum(axis=-1), 1.0, atol=1e-12)
    # y = 7 at price 6: sum over d of p(d) (6 min(7, d) - 0.1 (7 - d)^+), by the Poisson pmf
    lam = 10.0 * math.exp(-0.4 * 6.0)
    direct = sum(
        math.exp(-lam) * lam**d / math.factorial(d) * (6.0 * min(7, d) - 0.1 * max(7 - d, 0))
        for d in range(80)
    )
    assert rev[1, 7] == pytest.approx(direct, rel=1e-12)


def test_joint_dp_gain_does_not_move_when_the_storage_limit_widens() -> None:
    cfg = JointConfig()
    narrow = solve_joint(JointMDP.from_env_config(cfg, max_position=40))
    wide = solve_joint(JointMDP.from_env_config(cfg, max_position=70))
    assert not narrow.position_binds
    assert wide.gain == pytest.approx(narrow.gain, abs=1e-6)
    with pytest.raises(ExactSolverError, match="shelf_life"):
        JointMDP.from_env_config(JointConfig(shelf_life=3))
    with pytest.raises(ExactSolverError, match="lead_time"):
        JointMDP.from_env_config(JointConfig(lead_time=3))


def test_dp_policy_played_in_the_gym_env_earns_the_dp_gain() -> None:
    cfg = JointConfig()
    mdp = JointMDP.from_env_config(cfg, max_position=48)
    sol = solve_joint(mdp)
    env = JointPricingReplenishmentEnv()
    obs, _ = env.reset(seed=0)
    profits = []
    for _ in range(8_000):
        y = int(obs[0] + obs[1])  # on-hand + the order arriving this period
        k = int(sol.price_index[y]) * (cfg.max_order + 1) + int(sol.order[y])
        obs, _, _, _, info = env.step(k)
        profits.append(info["profit"])
    ci = batch_means_ci(profits[200:], batches=20)
    # a 95 % batch-means interval, doubled: fails by chance far less than once in 1000 runs
    assert abs(ci.mean - sol.gain) < 2 * ci.half_width


def test_position_price_policy_tables_match_its_simulation() -> None:
    cfg = JointConfig()
    mdp = JointMDP.from_env_config(cfg, max_position=48)
    pol = PositionPricePolicy(level=6.0, base=3.0, slope=0.2)
    exact = evaluate_joint_policy(mdp, *pol.tables(cfg, 48))
    sim = simulate_joint_policies(cfg, np.array([[6.0, 3.0, 0.2]]), seed=1, periods=5_000)
    # the 5,000-period mean has sd 0.027 (8 seeds at 10,000 periods: 0.019); 0.15 is > 5 sd
    assert abs(sim[0] - exact) < 0.15


@pytest.mark.slow
def test_cem_joint_policy_comes_within_two_percent_of_the_dp_optimum() -> None:
    cfg = JointConfig()
    mdp = JointMDP.from_env_config(cfg, max_position=48)
    opt = solve_joint(mdp).gain
    pol = train_joint_policy(cfg, np.random.default_rng(0), generations=12, periods=1000)
    got = evaluate_joint_policy(mdp, *pol.tables(cfg, 48))
    assert got <= opt + 1e-9
    assert got >= 0.98 * opt
