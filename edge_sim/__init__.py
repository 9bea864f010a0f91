"""Edge simulation and shelf vision (see ``docs/vision.md``).

Modules: ``planogram`` (bays, slots, stock state), ``camera`` (mounting and lens), ``render``
(frames with exact ground truth), ``vision`` (ShelfVision), ``uncalibrated`` (shelf edges and
voids without planogram), ``feeds`` (FrameSource: rendered, OpenCV capture, folders),
``pipeline`` (feed -> vision -> API payload), ``node`` (edge-node model), ``restock`` (camera
restocking and phantom inventory, the twin's hook), ``sensors`` (weight, RFID, BLE, fusion),
``metrics``, ``scenes``, ``train``, ``realcheck``. Errors derive from
:class:`edge_sim.errors.EdgeSimError`.
"""
