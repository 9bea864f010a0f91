"""``shopsphere serve`` with an artifact the registry refuses: one message, exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_serve_with_a_refused_artifact_prints_one_message_and_exits_2(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SHOPSPHERE_REPLENISHMENT_ARTIFACT": "no-such-policy",
        "SHOPSPHERE_POLICY_REGISTRY_DIR": str(tmp_path / "registry"),
    }
    out = subprocess.run(
        [sys.executable, "-m", "shopsphere_cli.main", "serve", "--db",
         f"sqlite:///{tmp_path / 'api.db'}", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("error: ")]
    assert errors == [
        f"error: SHOPSPHERE_REPLENISHMENT_ARTIFACT='no-such-policy' refused: no policy named "
        f"'no-such-policy' in {tmp_path / 'registry'}"
    ]
    assert "Traceback" not in out.stderr
