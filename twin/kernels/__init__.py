"""Shared vectorised dynamics kernels of the twin (DESIGN.md, principle 2).

- :mod:`twin.kernels.inventory`: one review period of inventory dynamics for many
  SKU-locations (lost sales or backorders, pipelines, perishability).
- :mod:`twin.kernels.demand`: demand generation (owned separately).

Import the submodules directly (``from twin.kernels.inventory import inventory_step``); this
package imports nothing heavy.
"""
