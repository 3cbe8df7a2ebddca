"""One planner config: the planner group's files, its validation, and the solver and budget that
`wm-control plan`, `eval` and `landscape` build from the same settings."""

import dataclasses
import json

import pytest
from omegaconf import OmegaConf

from wm_control.cli.main import config_dir, main
from wm_control.planning import SOLVERS, ICEMPlanner
from wm_control.planning.config import PlannerConfig
from wm_control.planning.mpc import MPCController

SETTINGS = {
    "solver": "icem",
    "samples": 12,
    "iterations": 2,
    "elites": 4,
    "seed": 3,
    "noise_beta": 1.0,
}
OVERRIDES = [f"planner.{key}={value}" for key, value in SETTINGS.items()]


def test_every_planner_file_sets_every_field_and_loads():
    fields = {f.name for f in dataclasses.fields(PlannerConfig)}
    files = sorted((config_dir() / "planner").glob("*.yaml"))
    assert {f.stem for f in files} >= {"paper", "notebook"}
    for path in files:
        values = OmegaConf.to_container(OmegaConf.load(path))
        assert set(values) == fields, path.name  # every key can be overridden as planner.<key>
        assert PlannerConfig.from_dict(values).solver in SOLVERS
    for solver in SOLVERS.values():  # every solver reads its settings from the one config
        assert {f.name for f in dataclasses.fields(solver.config_type)} <= fields, solver.name


def test_the_chosen_solver_validates_its_fields_under_their_keys():
    with pytest.raises(
        ValueError, match=r"planner.solver: expected one of \['cem', 'gd', 'icem', 'mppi'\]"
    ):
        PlannerConfig(solver="adam")
    with pytest.raises(ValueError, match=r"planner.elites: expected 2 <= elites <= samples \(4\)"):
        PlannerConfig(solver="cem", samples=4)
    assert PlannerConfig(solver="gd", samples=4).planner().config.samples == 4  # gd keeps no elites
    for solver, key, value in [
        ("mppi", "temperature", 0.0),
        ("gd", "lr", -1.0),
        ("icem", "noise_beta", 9.0),
        ("icem", "keep_elites", 1.5),
        ("icem", "sample_decay", 0.5),
    ]:
        with pytest.raises(ValueError, match=rf"planner.{key}: expected"):
            PlannerConfig(solver=solver, **{key: value})
    config = PlannerConfig(**SETTINGS)
    assert isinstance(config.planner(), ICEMPlanner) and config.planner().config.noise_beta == 1.0
    assert config.describe().startswith("icem 12 samples x 2 iterations, horizon 1")


@pytest.fixture
def built(monkeypatch):
    """(solver name, solver config) of every controller built while a test runs."""
    seen = []
    original = MPCController.__init__

    def spy(self, model, planner, *args, **kwargs):
        seen.append((planner.name, planner.config))
        original(self, model, planner, *args, **kwargs)

    monkeypatch.setattr(MPCController, "__init__", spy)
    return seen


def test_plan_eval_and_landscape_plan_with_the_configured_solver_and_budget(tmp_path, built):
    expected = ("icem", PlannerConfig(**SETTINGS).solver_config())
    main(
        [
            "plan",
            "~env",
            "model=reference_tiny",
            "replans=1",
            *OVERRIDES,
            f"hydra.run.dir={tmp_path / 'plan'}",
        ]
    )
    summary = json.loads((tmp_path / "plan" / "plan.json").read_text())
    assert summary["solver"] == "icem" and len(summary["energies_per_iteration"]) == 2
    main(
        [
            "landscape",
            "~env",
            "model=reference_tiny",
            "resolution=3",
            *OVERRIDES,
            f"hydra.run.dir={tmp_path / 'landscape'}",
        ]
    )
    marked = json.loads((tmp_path / "landscape" / "landscape.json").read_text())["planner"]
    assert marked["solver"] == "icem" and marked["config"]["samples"] == 12
    main(
        [
            "eval",
            "model=reference_tiny",
            "tasks=[reach]",
            "agents=[planner]",
            "episodes=1",
            "env_overrides.image_size=64",
            "env_overrides.max_episode_steps=1",
            "progress=false",
            *OVERRIDES,
            f"hydra.run.dir={tmp_path / 'eval'}",
        ]
    )
    assert built == [expected] * 3


def test_eval_resume_takes_runs_recorded_before_the_solver_setting_as_cem():
    from wm_control.cli.eval import _compared_settings

    recorded = {
        k: v
        for k, v in PlannerConfig().to_dict().items()
        if k not in ("solver", "noise_beta", "keep_elites", "sample_decay", "temperature", "lr")
    }
    settings = _compared_settings(OmegaConf.create({"planner": recorded}))
    assert settings["planner"] == PlannerConfig().to_dict()
    assert (
        _compared_settings(OmegaConf.create({"planner": {**recorded, "solver": "mppi"}}))["planner"]
        != settings["planner"]
    )
