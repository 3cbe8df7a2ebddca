"""The planner node's planning parameters map onto wm_control's one planner config: the node
builds the solver and budget `wm-control plan`/`eval`/`landscape` build from the same settings."""

import dataclasses

import pytest
import torch
from omegaconf import OmegaConf
from wm_control_ros import params
from wm_control_ros.controller import build_controller
from wm_control_ros.planner_config import PLANNER_PARAMS, PLANNING_FIELDS, PlannerConfig

from wm_control.cli.main import config_dir
from wm_control.planning import SOLVERS
from wm_control.planning.config import PlannerConfig as Planning

NODE = {
    "solver": "mppi",
    "cem_samples": 16,
    "cem_iterations": 2,
    "cem_elites": 4,
    "horizon": 2,
    "seed": 7,
    "max_step": 0.05,
    "gripper_limit": 0.5,
    "search_yaw": True,
    "max_rotation": 0.3,
}


def _config(**changes):
    return params.build_config(
        PlannerConfig, PLANNER_PARAMS, {**params.defaults(PLANNER_PARAMS), **changes}
    )


def test_every_planning_parameter_is_a_planner_config_field():
    fields = {f.name for f in dataclasses.fields(Planning)}
    assert set(PLANNING_FIELDS.values()) <= fields
    assert set(PLANNING_FIELDS) <= {spec.name for spec in PLANNER_PARAMS}


def test_node_defaults_are_the_cli_default_planner():
    """The node plans with the default of `plan`/`eval` (the planner group's default file)."""
    plan_defaults = OmegaConf.to_container(OmegaConf.load(config_dir() / "plan.yaml"))["defaults"]
    default_file = next(
        d["planner"] for d in plan_defaults if isinstance(d, dict) and "planner" in d
    )
    cli = OmegaConf.to_container(OmegaConf.load(config_dir() / "planner" / f"{default_file}.yaml"))
    assert _config().planning() == Planning.from_dict(cli)
    assert _config().planning().solver == "icem"


def test_node_parameters_give_the_config_the_cli_composes():
    paper = OmegaConf.to_container(OmegaConf.load(config_dir() / "planner" / "paper.yaml"))
    cli = Planning.from_dict({**paper, **{PLANNING_FIELDS[k]: v for k, v in NODE.items()}})
    assert _config(**NODE).planning() == cli
    assert _config(**NODE).planning().solver_config() == cli.solver_config()


@pytest.mark.parametrize(
    "changes,match",
    [
        ({"solver": "adam"}, r"^solver: expected one of \['cem', 'gd', 'icem', 'mppi'\]"),
        ({"cem_elites": 500}, r"^cem_elites: expected 2 <= elites <= samples \(80\)"),
        ({"solver": "icem", "cem_elites": 400}, r"^cem_elites:"),
    ],
)
def test_errors_name_the_node_parameters(changes, match):
    with pytest.raises(ValueError, match=match):
        _config(**changes)


def test_gd_keeps_no_elites():
    assert (
        _config(solver="gd", cem_samples=4, cem_elites=10).planning().planner().config.samples == 4
    )


@pytest.mark.parametrize("solver", sorted(SOLVERS))
def test_built_controller_plans_with_the_configured_solver(
    tiny_checkpoint, one_torch_thread, solver
):
    values = {
        **NODE,
        "solver": solver,
        "checkpoint": str(tiny_checkpoint),
        "device": "cpu",
        "torch_threads": 1,
    }
    controller = build_controller(_config(**values))
    assert torch.get_num_threads() == 1
    assert controller.planner.name == solver
    assert controller.planner.config == _config(**values).planning().solver_config()
    assert controller.planner.config.samples == 16 and controller.planner.config.horizon == 2
    assert controller.model.dtype == torch.float32  # CPU: float32 (CUDA: bfloat16, as wm-control)


@pytest.mark.parametrize("compile_model", [False, True])
def test_compile_model_parameter_reaches_the_world_model(
    tiny_checkpoint, one_torch_thread, compile_model
):
    values = {"checkpoint": str(tiny_checkpoint), "device": "cpu", "torch_threads": 1}
    controller = build_controller(_config(**values, compile_model=compile_model))
    assert controller.model.compiled_blocks is compile_model
