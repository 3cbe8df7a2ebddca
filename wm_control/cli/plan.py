"""`wm-control plan`: goal-image model-predictive control.

- With ``env=<task>``: receding-horizon MPC in a simulated task (observe → encode → solve → first
  action → re-plan) toward the task's goal image(s) or ``goal=<image file>``, with a progress line
  per step; writes ``episode.mp4`` (observation | goal, energy overlaid), ``episode.png`` (energy
  and distance per step) and ``episode.json`` into the Hydra run folder.
- With ``observation=<image file>`` (or ``~env``): the next action from an observation image
  toward a goal image, from the arm's ``state`` (all three given together); with none of them
  (``~env``), on the reference clip shipped with the tests (frame 0 → last frame).

Inputs are read and checked before the model is loaded, so that a wrong path fails at once.
"""

from __future__ import annotations

import json

import numpy as np
from omegaconf import DictConfig, OmegaConf

from ..images import check_image_size, read_rgb_image
from ..model_source import ModelSource
from ..planning import MPCController, Workspace
from ..planning.config import PlannerConfig
from ..world_model import WorldModel
from . import output_dir, task_config
from .image_inputs import REPO_ROOT, check_image_inputs, image_inputs, uses_images

CONFIG_NAME = "plan"


def run(cfg: DictConfig) -> None:
    source = ModelSource.from_dict(OmegaConf.to_container(cfg.model, resolve=True))
    planner_cfg = PlannerConfig.from_dict(OmegaConf.to_container(cfg.planner, resolve=True))
    if uses_images(cfg):
        if not isinstance(cfg.replans, int) or cfg.replans < 1:
            raise ValueError(f"replans: expected an int >= 1, found {cfg.replans!r}")
        observation, goal, state = image_inputs(cfg, reference_goal_frame=-1)
        model = _load(source, planner_cfg)
        check_image_inputs(observation, goal, model.image_size)
        _plan_images(
            (observation, goal, state),
            cfg.replans,
            planner_cfg.controller(model),
            planner_cfg.solver,
        )
    else:
        goal = read_rgb_image(cfg.goal) if cfg.goal else None
        model = _load(source, planner_cfg)
        if goal is not None:
            check_image_size(goal, "goal", model.image_size)
        _plan_episode(cfg, planner_cfg, model, goal)


def _load(source: ModelSource, planner_cfg: PlannerConfig) -> WorldModel:
    model = source.load(REPO_ROOT)
    print(
        f"model: {source.path} ({model.tokens_per_frame} tokens x {model.token_dim} per frame, "
        f"{model.device})"
    )
    print(f"planner: {planner_cfg.describe()}")
    return model


def _plan_images(
    inputs: tuple[np.ndarray, np.ndarray, np.ndarray],
    replans: int,
    controller: MPCController,
    solver: str,
) -> None:
    observation, goal, state = inputs
    controller.set_goal(goal)
    for replan in range(replans):
        step = controller.act(observation, state)
        action = " ".join(f"{v:+.4f}" for v in step.action)
        print(
            f"[{replan}] action [{action}]  energy {step.energy:.5f}  planning "
            f"{step.planning_seconds * 1000:.0f} ms"
        )
        print(
            f"    best energy per {solver.upper()} iteration: "
            + " ".join(f"{e:.5f}" for e in step.energies_per_iteration)
        )
    summary = {
        "solver": solver,
        "action": step.action.tolist(),
        "plan": step.plan.tolist(),
        "energy": step.energy,
        "energies_per_iteration": step.energies_per_iteration,
        "planning_seconds": step.planning_seconds,
    }
    path = output_dir() / "plan.json"
    path.write_text(json.dumps(summary, indent=2))
    print(f"summary: {path}")


def _plan_episode(
    cfg: DictConfig, planner_cfg: PlannerConfig, model: WorldModel, goal: np.ndarray | None
) -> None:
    from envs.config import make_env
    from envs.episode import run_episode

    from ..episode import MPCAgent
    from ..episode_media import plot_episode, write_episode_video

    env_cfg = task_config(cfg)
    episode = cfg.episode
    env = make_env(env_cfg)
    try:
        controller = planner_cfg.controller(model, workspace=Workspace(*env.unwrapped.workspace))
        max_steps = episode.max_steps or env.spec.max_episode_steps
        goals = None if goal is None else [goal]
        print(
            f"task: {env_cfg.id} (seed {episode.seed}), up to {max_steps} steps at "
            f"{env_cfg.control_hz} Hz"
        )
        # what the goal distance measures: the object a task moves (its info names its position), or
        # the end effector (Reach); any task of the interface says so at reset (envs.task.Task)
        _, first_info = env.reset(seed=episode.seed)
        has_cube = "object_position" in first_info
        moved = "cube" if has_cube else "end effector"

        def progress(record) -> None:
            print(
                f"step {record.step + 1:3d}/{max_steps}  goal {record.subgoal}  energy "
                f"{record.energy:.5f}  ee to sub-goal {record.distance * 100:6.2f} cm  {moved} to "
                f"goal {record.goal_distance * 100:6.2f} cm  planning "
                f"{record.planning_seconds * 1000:5.0f} ms",
                flush=True,
            )

        agent = MPCAgent(
            env,
            controller,
            subgoal_steps=list(episode.subgoal_steps) if episode.subgoal_steps else None,
            subgoal_jaws=episode.subgoal_jaws,
            goal_images=goals,
            max_steps=max_steps,
        )
        result = run_episode(env, agent, seed=episode.seed, max_steps=max_steps, on_step=progress)
        jaws = "searched" if set(agent.jaws) == {"search"} else "/".join(agent.jaws)
        print(f"jaws per goal image: {jaws}")
    finally:
        env.close()
    folder = output_dir()
    summary = {
        "task": env_cfg.id,
        "seed": episode.seed,
        "success": result.success,
        "steps": len(result.steps),
        "final_goal_distance_m": result.final_goal_distance,
        "final_ee_distance_m": result.final_ee_distance,
        "seconds_per_action": result.seconds_per_action,
        "energies": [s.energy for s in result.steps],
        "ee_distances_m": [s.distance for s in result.steps],
        "goal_distances_m": [s.goal_distance for s in result.steps],
        "actions": [s.action.tolist() for s in result.steps],
        "subgoal_jaws": agent.jaws,
    }
    (folder / "episode.json").write_text(json.dumps(summary, indent=2))
    plot_episode(result, folder / "episode.png")
    if episode.video:
        write_episode_video(result, folder / "episode.mp4", fps=env_cfg.control_hz)
    ee_clause = (
        f", end effector {result.final_ee_distance * 100:.2f} cm from the last pursued goal pose"
        if has_cube
        else ""
    )  # in Reach the goal distance is the end effector's already
    print(
        f"{'SUCCESS' if result.success else 'no success'} after {len(result.steps)} steps; {moved} "
        f"{result.final_goal_distance * 100:.2f} cm from its goal{ee_clause}; "
        f"{result.seconds_per_action:.2f} s per action"
    )
    print(f"outputs: {folder}")
