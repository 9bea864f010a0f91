"""Open-loop replay of commerce traffic against a live ShopSphere API.

``replay`` depends on :mod:`api.client` (and ``httpx``) only: it never imports the twin. See
``docs/replay.md`` for the trace format, the latency accounting and the chaos checks.
"""
