"""RL training side: stable-baselines3 training from YAML configs (:mod:`policies.rl.train`),
export to framework-free artifacts (:mod:`policies.rl.export`), evaluation with common random
numbers and exact evaluation (:mod:`policies.rl.evaluate`, :mod:`policies.rl.exact_eval`), and
baseline comparison and validation reports (:mod:`policies.rl.compare`).

Importing this package imports nothing heavy; the submodules that need torch import it
inside their functions. Production code uses :mod:`policies.artifacts` instead.
"""
