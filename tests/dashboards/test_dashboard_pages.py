"""Every dashboard page under Streamlit's AppTest: it renders, and its numbers are the run's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from shopsphere_cli.validate_cmd import validate_files
from twin.report import format_kpi
from twin.runner import run_scenario

PAGES = Path(__file__).resolve().parents[2] / "dashboards" / "views"
BASELINE = Path(__file__).resolve().parents[2] / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    run_scenario(BASELINE, seed=3, days=2, out=root / "baseline-seed3")
    return root


@pytest.fixture
def env(runs_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("SHOPSPHERE_RUNS_DIR", str(runs_root))
    monkeypatch.setenv("SHOPSPHERE_POLICY_REGISTRY_DIR", str(tmp_path / "registry"))
    yield runs_root


def page(name: str) -> AppTest:
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.slow
def test_results_page_cards_show_the_numbers_in_kpis_json(env: Path) -> None:
    at = page("run_results")
    kpis = json.loads((env / "baseline-seed3" / "kpis.json").read_text())
    shown = {m.label: m.value for m in at.metric}
    assert shown["revenue"] == format_kpi("revenue_cents", kpis["revenue_cents"])
    assert shown["fill_rate"] == f"{100 * kpis['fill_rate']:.2f}%"
    assert shown["units_sold"] == f"{kpis['units_sold']:,}"
    assert shown["lost_units"] == f"{kpis['lost_units']:,}"


@pytest.mark.slow
def test_results_page_offers_every_series_and_the_delivery_times(env: Path) -> None:
    at = page("run_results")
    box = at.selectbox(key="series")
    for option in box.options:
        box.set_value(option).run()
        assert not at.exception, (option, [e.value for e in at.exception])


def test_scenario_editor_shows_the_validator_message_next_to_the_field(env: Path) -> None:
    at = page("scenario_editor")
    at.selectbox(key="scenario_file").set_value(BASELINE).run()
    at.text_input(key=f"f:{BASELINE}:duration_days").set_value("-3").run()
    # The CLI's own message for the same edit:
    data = yaml.safe_load(BASELINE.read_text())
    data["duration_days"] = -3
    edited = env.parent / "edited_scenario.yaml"
    edited.write_text(yaml.safe_dump(data, sort_keys=False))
    _, err = validate_files([str(edited)])
    expected = [ln.split(": ", 1)[1] for ln in err[0].splitlines()[1:]]
    errors = " ".join(e.value for e in at.error)
    assert "duration (days)" in errors
    for message in expected:
        assert message.split(" (")[0] in errors
    assert at.button(key="save").disabled


def test_scenario_editor_saves_a_valid_edit_and_shows_its_diff(env: Path) -> None:
    at = page("scenario_editor")
    at.selectbox(key="scenario_file").set_value(BASELINE).run()
    at.text_input(key=f"f:{BASELINE}:name").set_value("baseline_short").run()
    at.text_input(key=f"f:{BASELINE}:duration_days").set_value("5").run()
    assert "warmup_days: 7 is not shorter than duration_days 5" in " ".join(
        e.value for e in at.error
    )
    at.text_input(key=f"f:{BASELINE}:warmup_days").set_value("2").run()
    assert not at.error
    diff = at.code[0].value
    assert "-duration_days: 21" in diff and "+duration_days: 5" in diff
    at.button(key="save").click().run()
    saved = env / "scenarios" / "baseline_short.yaml"
    assert yaml.safe_load(saved.read_text())["duration_days"] == 5
    assert validate_files([str(saved)])[1] == []


@pytest.mark.slow
def test_runs_page_lists_past_runs_and_runs_a_new_one_to_completion(env: Path) -> None:
    at = page("run_list")
    assert "baseline-seed3" in at.dataframe[0].value["run"].tolist()
    at.selectbox(key="run_scenario").set_value(BASELINE)
    at.number_input(key="run_days").set_value(1)
    at.button[0].click().run()
    job = at.session_state["run_job"]
    assert job.wait(120) and job.status == "done", job.error
    out = Path(at.session_state["run_job_out"])
    assert (out / "kpis.json").is_file()
    at.run()
    assert any("finished" in s.value for s in at.success)


def test_a_cancelled_run_stops_and_is_reported(env: Path) -> None:
    from dashboards.jobs import start_run
    from scenarios.schema import load_scenario

    job = start_run(load_scenario(BASELINE), seed=1, days=200, out=env.parent / "cancelled")
    job.cancel()
    assert job.wait(60)
    assert job.status == "cancelled"
    assert job.steps_done < 200


@pytest.mark.slow
def test_compare_page_gives_paired_verdicts_and_exports(env: Path) -> None:
    at = page("compare_variants")
    at.selectbox(key="cmp_scenario").set_value(BASELINE)
    at.text_area(key="cmp_policies").set_value("base_stock\ncapped_base_stock")
    at.number_input(key="cmp_seeds").set_value(2)
    at.number_input(key="cmp_days").set_value(1)
    at.button[0].click().run()
    job = at.session_state["cmp_job"]
    assert job.wait(300) and job.status == "done", job.error
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert "capped_base_stock" in text and "base_stock" in text
    table = at.dataframe[0].value
    assert set(table["variant"]) == {"base_stock", "capped_base_stock"}
    base_rows = table[table["variant"] == "base_stock"]
    assert np.allclose(base_rows["diff_vs_baseline"], 0.0)


def test_compare_page_names_an_unknown_policy(env: Path) -> None:
    at = page("compare_variants")
    at.text_area(key="cmp_policies").set_value("base_stock\nno_such_policy")
    at.button[0].click().run()
    assert any("no_such_policy" in e.value for e in at.error)


def test_policies_page_lists_artifacts_and_refuses_promotion_without_staff(
    env: Path, tmp_path: Path
) -> None:
    from policies.artifacts import Registry
    from policies.artifacts.policy import (
        ActionMapping,
        FrameworkFreePolicy,
        Manifest,
        ObsNormalization,
    )

    policy = FrameworkFreePolicy(
        weights=(np.ones((3, 2)),),
        biases=(np.zeros(3),),
        activation="tanh",
        normalization=ObsNormalization.identity(2),
        mapping=ActionMapping(
            kind="discrete",
            decision_names=("order_units",),
            decision_low=np.zeros(1),
            decision_high=np.full(1, 2.0),
            table=np.arange(3.0).reshape(3, 1),
            integer=True,
        ),
        manifest=Manifest(
            name="dash-test", env_id="ShopSphere/Replenishment-v0", algo="PPO", obs_names=("a", "b")
        ),
    )
    Registry(tmp_path / "registry").register(policy, "dash-test")
    at = page("policy_registry")
    assert at.dataframe[0].value["name"].tolist() == ["dash-test"]
    assert at.button(key="promote").disabled
    assert any("viewer" in m.value for m in at.sidebar.markdown)


def test_cameras_page_draws_shelf_vision_detections_on_a_rendered_frame(env: Path) -> None:
    at = page("shelf_cameras")
    shown = {m.label: int(m.value) for m in at.metric}
    assert shown["gaps (truth)"] > 0
    # the vision module finds roughly the true gaps on a typical frame (F1 >= 0.95 is measured
    # by benchmarks/vision.py; here only that detections reach the page)
    assert abs(shown["gaps found"] - shown["gaps (truth)"]) <= max(2, shown["gaps (truth)"] // 3)
    assert not at.dataframe[0].value.empty
