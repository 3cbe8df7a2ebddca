"""Why a planner fails an episode of OGBench protocol (a): the model, the search, or the actions?

For each seed it rebuilds the episode of ``wm-control eval tasks=[ogbench_cube_single]`` (start
and goal 25 control steps apart on the expert's trajectory) and prints:

- what the episode asks: how far the cube moves, whether the hand holds it at the start (the cube
  off the table) and at the goal;
- ``held``: whether the expert's own motion, averaged over each block of control steps and held as
  the stack's actions do, still reaches the goal when played open-loop from the start (if not, the
  action parameterisation cannot express the expert's 25 steps);
- the planning energy (image, and the goal state's term at ``--goal-state-weight``) of the
  imagined outcome of those expert actions, against the energy of the plan the configured planner
  finds from the same start. A plan of lower energy than the expert's that does not reach the goal
  means the model rates a wrong outcome above the right one (the model is the limit); a plan of
  higher energy means the search missed a better plan (the solver or its budget is the limit);
- the image energy of the real last frames of the two motions, played open-loop (a plan that the
  model scores below the expert's but whose real frame scores above it exploits the model's
  error);
- whether the planner's plan, played open-loop from the start, reaches the goal.

    .venv/bin/python bench/diagnose_trajectory_goals.py --seeds 0 20 [--model ogbench_cube] \\
        [--model-path PATH] [--horizon 5] [--samples 300] [--iterations 10] \\
        [--goal-state-weight 1.0] [--set max_step=0.2 search_yaw=true max_rotation=1.0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
import yaml
from omegaconf import OmegaConf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_planner_configs import config_file, model_preset  # noqa: E402
from envs.ogbench_protocol import draw_start_step, play_recorded, protocol_expert  # noqa: E402
from wm_control.cli.eval_tasks import env_config, task_factory  # noqa: E402
from wm_control.cli.main import config_dir  # noqa: E402
from wm_control.energies import energy  # noqa: E402
from wm_control.model_source import ModelSource  # noqa: E402
from wm_control.planning.config import PlannerConfig  # noqa: E402

TASK = "ogbench_cube_single"
"""The evaluation task of protocol (a), built as ``wm-control eval`` builds it."""
TABLE_HEIGHT = 0.03
"""Cube centre height (m) above which the cube is off the table (it rests at 0.02)."""


def protocol_env():
    """Protocol (a)'s environment with ``configs/eval.yaml``'s settings, as ``eval`` makes it."""
    settings = OmegaConf.to_container(OmegaConf.load(config_dir() / "eval.yaml").ogbench)
    return task_factory(TASK, env_config(TASK, {}), settings)()


def expert_control_actions(env, seed: int) -> np.ndarray:
    """The actions of the episode's expert, one per OGBench control step from the reset scene
    to at least the goal step: ``[T, 5]``, clipped to [-1, 1]."""
    protocol = env.protocol
    env.env.reset(seed=seed)  # the scene the episode's expert starts from (see env.reset)
    expert = protocol_expert(env.unwrapped, seed, protocol)
    actions: list[np.ndarray] = []

    def act(raw):
        actions.append(np.clip(np.asarray(expert(raw), np.float64), -1.0, 1.0))
        return actions[-1]

    goal = draw_start_step(protocol, seed) + protocol.goal_offset_steps
    play_recorded(env.unwrapped, act, goal)
    return np.array(actions)


def expert_block_actions(env, seed: int) -> np.ndarray:
    """The expert's actions from the episode's start to its goal, averaged over each block of
    control steps: ``[goal_offset / block, 5]``, the stack's actions that command its motion."""
    protocol = env.protocol
    start = draw_start_step(protocol, seed)
    played = expert_control_actions(env, seed)[start : start + protocol.goal_offset_steps]
    return played.reshape(-1, env.unwrapped.block, played.shape[-1]).mean(axis=1)  # [5, 5]


def play_open_loop(env, actions: np.ndarray) -> tuple[bool, np.ndarray | None]:
    """Play ``actions [H, 5]`` open-loop from the current scene, up to the episode's success
    (the protocol's episode ends there). Returns whether it succeeded and the last camera frame
    ``[H, W, 3]`` (None for no actions)."""
    frame = None
    for action in actions:
        observation, _, terminated, _, _ = env.step(action.astype(np.float32))
        frame = observation["pixels"]
        if terminated:
            return True, frame
    return False, frame


def reaches_goal(env, actions: np.ndarray) -> bool:
    """Whether ``actions [H, 5]`` played open-loop from the current scene pass the episode's
    success test."""
    return play_open_loop(env, actions)[0]


def planner_config(
    parser: argparse.ArgumentParser, args: argparse.Namespace, horizon: int
) -> PlannerConfig:
    """The planner of ``--planner`` at ``horizon`` with the script's ``--samples``,
    ``--iterations`` and ``--goal-state-weight``, then its ``--set KEY=VALUE`` settings (an
    unknown key is a usage error)."""
    planner = config_file("planner", args.planner)
    planner.update(
        horizon=horizon,
        samples=args.samples,
        iterations=args.iterations,
        goal_state_weight=args.goal_state_weight,
    )
    for setting in args.set:
        key, _, value = setting.partition("=")
        if key not in planner:
            parser.error(
                f"--set: unknown planner setting {key!r}; expected one of {sorted(planner)}"
            )
        planner[key] = yaml.safe_load(value)
    return PlannerConfig(**planner)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 20), metavar=("FIRST", "END"))
    parser.add_argument(
        "--only",
        type=int,
        nargs="+",
        default=None,
        metavar="SEED",
        help="these seeds instead of the range (e.g. the pick-ups protocol_a_phases.py lists)",
    )
    parser.add_argument("--model", default="ogbench_cube", help="configs/model/<name>.yaml")
    parser.add_argument("--model-path", default=None, help="a checkpoint instead of the preset's")
    parser.add_argument("--planner", default="paper", help="configs/planner/<name>.yaml")
    parser.add_argument("--horizon", type=int, default=5)
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--goal-state-weight", type=float, default=1.0)
    parser.add_argument(
        "--set",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="other planner settings, e.g. max_step=0.2 search_yaw=true max_rotation=1.0",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)

    model = ModelSource.from_dict(model_preset(args.model, args.model_path)).load(ROOT)
    config = planner_config(parser, args, args.horizon)
    env = protocol_env()
    weight = args.goal_state_weight
    print(
        "seed | cube moves (cm) | held at start → goal | held expert actions reach the goal | "
        "expert energy (image + state) | planner's energy (image + state) | "
        "real image energy, expert | real image energy, plan | planner's plan reaches the goal"
    )
    for seed in args.only or range(*args.seeds):
        actions = expert_block_actions(env, seed)  # [H, A]
        if args.horizon != len(actions):
            parser.error(
                f"--horizon: expected {len(actions)}, the expert's actions from start to goal "
                f"(the energies of plans of other lengths do not compare), found {args.horizon}"
            )
        observation, _ = env.reset(seed=seed)
        task, episode = env.unwrapped, env.episode
        cube = task.scene._model.joint("object_joint_0").qposadr[0]
        start_cube = episode.start_qpos[cube : cube + 3]
        goal_cube = episode.goal_qpos[cube : cube + 3]
        moved = 100 * np.linalg.norm(goal_cube - start_cube)
        controller = config.controller(model)
        controller.set_goal(task.goal_images()[-1], task.goal_configurations()[-1].state)
        frame, state = observation["pixels"], observation["state"]
        step = controller.act(frame, state)
        image, distance = controller.plan_energies(frame, state, np.stack([actions, step.plan]))
        (expert_image, plan_image), (expert_state, plan_state) = image.tolist(), distance.tolist()
        reached, expert_frame = play_open_loop(env, actions)
        env.reset(seed=seed)
        plan_reached, plan_frame = play_open_loop(env, step.plan)
        with torch.inference_mode():  # what the two motions' last real frames score
            frames = np.stack([task.goal_images()[-1], expert_frame, plan_frame])
            tokens = model.encode(frames)[0]  # [3, N, D], one encoder pass
            expert_real, plan_real = energy(tokens[1:].unsqueeze(1), tokens[0]).tolist()
        held = f"{start_cube[2] > TABLE_HEIGHT} → {goal_cube[2] > TABLE_HEIGHT}"
        print(
            f"{seed} | {moved:.1f} | {held} | {reached} | "
            f"{expert_image + weight * expert_state:.4f} "
            f"({expert_image:.4f} + {expert_state:.4f}) | "
            f"{plan_image + weight * plan_state:.4f} ({plan_image:.4f} + {plan_state:.4f}) | "
            f"{expert_real:.4f} | {plan_real:.4f} | {plan_reached}"
        )


if __name__ == "__main__":
    main()
