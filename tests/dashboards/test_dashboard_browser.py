"""End to end in a real browser: headless Chromium drives the dashboard served by Streamlit.

It starts the app, runs a short scenario from the Runs page, checks that the KPI cards on the
Results page equal ``kpis.json``, compares two policies on the Compare page, and saves a
screenshot of every page to a folder it prints (``SHOPSPHERE_SCREENSHOTS`` to choose it).
Skipped only when Chromium or its driver is not installed (``.ci/run`` installs both).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from twin.report import format_kpi, kpi_label

APP = Path(__file__).resolve().parents[2] / "dashboards" / "app.py"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not (CHROMIUM and DRIVER), reason="needs Debian's chromium and chromium-driver"
    ),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    runs = tmp_path_factory.mktemp("browser_runs")
    port = _free_port()
    env = {**os.environ, "SHOPSPHERE_RUNS_DIR": str(runs)}
    proc = subprocess.Popen(
        [
            sys.executable, "-m", "streamlit", "run", str(APP),
            "--server.port", str(port), "--server.address", "127.0.0.1",
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "minimal",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            pytest.fail("streamlit did not start")
        time.sleep(0.3)
    yield url, runs
    proc.terminate()
    proc.wait(10)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--window-size=1400,1800",
    ):  # fmt: skip
        opts.add_argument(arg)
    drv = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    yield drv
    drv.quit()


@pytest.fixture(scope="module")
def shots() -> Path:
    folder = Path(os.environ.get("SHOPSPHERE_SCREENSHOTS", "runs/dashboard-screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\ndashboard screenshots: {folder.resolve()}")
    return folder


def _wait_text(drv: object, text: str, timeout_s: float = 120) -> None:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout_s
    while text not in drv.find_element(By.TAG_NAME, "body").text:  # type: ignore[attr-defined]
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} never appeared on the page")
        time.sleep(0.5)


def _field(drv: object, label: str, timeout_s: float = 30) -> object:
    from selenium.webdriver.common.by import By

    deadline = time.monotonic() + timeout_s
    while True:
        found = drv.find_elements(By.CSS_SELECTOR, f'[aria-label="{label}"]')  # type: ignore[attr-defined]
        if found:
            return found[0]
        if time.monotonic() > deadline:
            raise AssertionError(f"no field labelled {label!r}")
        time.sleep(0.3)


def _set(drv: object, label: str, value: str) -> None:
    from selenium.webdriver.common.keys import Keys

    el = _field(drv, label)
    el.click()  # type: ignore[attr-defined]
    el.send_keys(Keys.CONTROL, "a")  # type: ignore[attr-defined]
    el.send_keys(Keys.DELETE)  # type: ignore[attr-defined]
    el.send_keys(value)  # type: ignore[attr-defined]


def _click(drv: object, text: str) -> None:
    from selenium.webdriver.common.by import By

    for b in drv.find_elements(By.TAG_NAME, "button"):  # type: ignore[attr-defined]
        if b.text.strip() == text:
            b.click()
            return
    raise AssertionError(f"no button {text!r}")


@pytest.mark.slow
def test_run_compare_and_check_numbers_in_a_real_browser(
    app_url: tuple[str, Path], browser: object, shots: Path
) -> None:
    from selenium.webdriver.common.by import By

    url, runs = app_url
    drv = browser
    # Runs: start a one-day run and wait for it to finish.
    drv.get(f"{url}/run_list")  # type: ignore[attr-defined]
    _wait_text(drv, "Start run")
    _set(drv, "Days", "1")
    _click(drv, "Start run")
    _wait_text(drv, "finished in")
    drv.save_screenshot(str(shots / "runs.png"))  # type: ignore[attr-defined]
    run_dirs = [p for p in runs.iterdir() if (p / "kpis.json").is_file()]
    assert len(run_dirs) == 1
    kpis = json.loads((run_dirs[0] / "kpis.json").read_text())

    # Results: the KPI cards show exactly the numbers in kpis.json.
    drv.get(f"{url}/run_results?run={run_dirs[0].name}")  # type: ignore[attr-defined]
    _wait_text(drv, "Over time")
    time.sleep(1.5)
    labels = [e.text for e in drv.find_elements(By.CSS_SELECTOR, '[data-testid="stMetricLabel"]')]  # type: ignore[attr-defined]
    values = [e.text for e in drv.find_elements(By.CSS_SELECTOR, '[data-testid="stMetricValue"]')]  # type: ignore[attr-defined]
    shown = dict(zip(labels, values, strict=True))
    for name in ("revenue_cents", "units_sold", "lost_units", "fill_rate", "availability"):
        assert shown[kpi_label(name)] == format_kpi(name, kpis[name]), name
    drv.save_screenshot(str(shots / "results.png"))  # type: ignore[attr-defined]

    # Compare: two policies, two seeds, one day each.
    drv.get(f"{url}/compare_variants")  # type: ignore[attr-defined]
    _wait_text(drv, "Policy variants")
    _set(drv, "Seeds", "2")
    _set(drv, "Days", "1")
    _click(drv, "Compare")
    _wait_text(drv, "Verdicts", timeout_s=300)
    body = drv.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
    assert "capped_base_stock" in body and "base_stock" in body
    drv.save_screenshot(str(shots / "compare.png"))  # type: ignore[attr-defined]

    for name in ("scenario_editor", "shelf_cameras", "policy_registry"):
        drv.get(f"{url}/{name}")  # type: ignore[attr-defined]
        _wait_text(
            drv, {"scenario_editor": "Changes", "shelf_cameras": "Cameras"}.get(name, "Policies")
        )
        time.sleep(1.0)
        drv.save_screenshot(str(shots / f"{name}.png"))  # type: ignore[attr-defined]
        assert "Traceback" not in drv.find_element(By.TAG_NAME, "body").text  # type: ignore[attr-defined]
