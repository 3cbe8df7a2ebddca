"""`wm-control landscape`: the energy over a grid of Δx/Δy (and Δz) actions, as a heat map.

With ``env=<task>`` (the default, Reach) the start is the task's first frame after ``reset(seed)``
and the goal is the frame after executing ``true_action`` there; the displacement the arm achieved
is marked. With images (``observation=...``, or ``~env`` for the reference clip) the given
``true_action`` is marked.
"""

from __future__ import annotations

import json

import numpy as np
from omegaconf import DictConfig, OmegaConf

from ..landscape import energy_landscape, plot_landscape
from ..model_source import ModelSource
from ..planning.config import PlannerConfig
from . import output_dir, task_config
from .image_inputs import REPO_ROOT, check_image_inputs, image_inputs, seven_numbers, uses_images

CONFIG_NAME = "landscape"


def run(cfg: DictConfig) -> None:
    source = ModelSource.from_dict(OmegaConf.to_container(cfg.model, resolve=True))
    planner_cfg = PlannerConfig.from_dict(OmegaConf.to_container(cfg.planner, resolve=True))
    if uses_images(cfg):  # inputs read before the model is loaded: a wrong path fails at once
        frame, goal, state = image_inputs(cfg, reference_goal_frame=1)
        true_action = (
            None if cfg.true_action is None else seven_numbers("true_action", cfg.true_action)
        )
        model = source.load(REPO_ROOT)
        check_image_inputs(frame, goal, model.image_size)
    else:
        model = source.load(REPO_ROOT)
        frame, goal, state, true_action = _task_inputs(cfg)
    result = energy_landscape(
        model,
        frame,
        state,
        goal,
        axes=tuple(cfg.axes),
        extent=cfg.extent,
        resolution=cfg.resolution,
    )
    planned = None
    if cfg.mark_plan:  # where the configured planner goes from the same frame (no workspace box)
        controller = planner_cfg.controller(model)
        controller.set_goal(goal)
        step = controller.act(frame, state)
        planned = (planner_cfg.solver, step.action)
        print(
            f"planner: {planner_cfg.describe()}: first action "
            + " ".join(
                f"{a}={step.action[i] * 100:+.1f} cm" for i, a in enumerate(("dx", "dy", "dz"))
            )
            + f" (energy {step.energy:.5f})"
        )
    folder = output_dir()
    plot_landscape(result, folder / "landscape.png", true_action, planned)
    summary = {
        "axes": list(result.axes),
        "values": result.values.tolist(),
        "energies": result.energies.tolist(),
        "best_action": result.best.tolist(),
        "best_energy": float(result.energies.min()),
        "true_action": None if true_action is None else true_action.tolist(),
        "planner": None
        if planned is None
        else {"solver": planned[0], "config": planner_cfg.to_dict(), "action": planned[1].tolist()},
    }
    (folder / "landscape.json").write_text(json.dumps(summary))
    best = " ".join(
        f"{a}={result.best[i] * 100:+.1f} cm"
        for i, a in enumerate(("dx", "dy", "dz"))
        if a in result.axes
    )
    print(
        f"grid minimum: {best} (energy {summary['best_energy']:.5f}); "
        f"{result.energies.size} one-step rollouts"
    )
    if true_action is not None:
        true = " ".join(
            f"{a}={true_action[i] * 100:+.1f} cm" for i, a in enumerate(("dx", "dy", "dz"))
        )
        print(f"true displacement: {true}")
    print(f"heat map: {folder / 'landscape.png'}")


def _task_inputs(cfg: DictConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(start frame, frame after ``true_action``, start state, achieved displacement [7]) in the
    task."""
    from envs.config import make_env

    if cfg.true_action is None:
        raise ValueError(
            "true_action: with env=<task>, give the action to execute for the goal frame"
        )
    action = seven_numbers("true_action", cfg.true_action)
    env = make_env(task_config(cfg))
    try:
        observation, _ = env.reset(seed=cfg.seed)
        after, *_ = env.step(action)
    finally:
        env.close()
    achieved = np.zeros(7, np.float32)
    achieved[:3] = after["state"][:3] - observation["state"][:3]
    print(
        f"task: {cfg.env.id} (seed {cfg.seed}); executed {np.round(action[:3] * 100, 1).tolist()} "
        f"cm, the arm moved {np.round(achieved[:3] * 100, 1).tolist()} cm"
    )
    return observation["pixels"], after["pixels"], observation["state"], achieved
