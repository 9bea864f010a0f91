"""Schemathesis against the served OpenAPI document on PostgreSQL: every generated request
(examples, coverage, fuzzing and the stateful phase over the inferred links) is answered
without a server error and with a body that matches the declared schema."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from api_helpers import REPO, ServerProcess, free_port

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

STAFF = "staff-schemathesis-token-0123456789"
MIN_REQUESTS = 2000


def _seed(url: str) -> None:
    """A little catalog so that generated requests also reach the paths past the lookups."""
    staff = httpx.Client(base_url=url, headers={"X-API-Key": STAFF}, timeout=30)
    rows = [
        {
            "sku": f"SKU-00{i}",
            "product": f"P-00{i}",
            "name": f"item {i}",
            "category": "snacks",
            "cost_cents": 80,
            "list_price_cents": 199,
        }
        for i in range(1, 4)
    ]
    assert staff.post("/v1/skus/import", json=rows).status_code == 200
    loc = {"code": "WH-1", "kind": "warehouse", "name": "W", "lat": 0, "lon": 0}
    assert staff.post("/v1/locations", json=loc).status_code == 201
    receipt = {"location": "WH-1", "lines": [{"sku": r["sku"], "quantity": 1000} for r in rows]}
    assert staff.post("/v1/stock/receipts", json=receipt).status_code == 201


def test_generated_requests_get_no_server_error_and_match_the_schema(
    pg_schema_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "SHOPSPHERE_DATABASE_URL": pg_schema_url,
        "SHOPSPHERE_MODE": "development",
        "SHOPSPHERE_BOOTSTRAP_API_KEYS": f"staff:{STAFF}",
        "SHOPSPHERE_SWEEP_INTERVAL_SECONDS": "0",
        "SHOPSPHERE_IDEMPOTENCY_WAIT_SECONDS": "0.2",
    }
    server = ServerProcess(env, free_port(), tmp_path / "server.log")
    server.start()
    try:
        _seed(server.url)
        st = Path(sys.executable).with_name("schemathesis")
        out = subprocess.run(
            [
                str(st),
                "run",
                f"{server.url}/openapi.json",
                "-H",
                f"X-API-Key: {STAFF}",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-examples",
                "20",
                "--seed",
                "20261201",
                "--request-timeout",
                "30",
                "--no-color",
                "--warnings",
                "off",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    finally:
        server.stop()
    report = out.stdout + out.stderr
    assert out.returncode == 0, report[-6000:]
    assert "No issues found" in report, report[-6000:]
    m = re.search(r"(\d+) generated, (\d+) passed", report)
    assert m is not None, report[-3000:]
    generated, passed = int(m.group(1)), int(m.group(2))
    assert generated >= MIN_REQUESTS and passed == generated, report[-3000:]
    assert re.search(r"Stateful.*\n\s*\n\s*Scenarios:\s+[1-9]", report), report[-3000:]
