"""Shared vectorised dynamics kernels (DESIGN.md, principle 2), NumPy only.

One implementation used by the twin, the Gymnasium envs and the evaluators:

- :mod:`dynamics.inventory`: one review period of inventory dynamics for many SKU-locations
  (lost sales or backorders, pipelines, perishability).
- :mod:`dynamics.demand`: demand generation (rates, seasonality, events, draws).
- :mod:`dynamics.price`: the price -> demand-rate response ``a * exp(-b * p)``.

This package imports nothing of this project; a test keeps that true.
"""
