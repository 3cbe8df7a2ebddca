"""Can the world model place a grasp? Protocol (a)'s pick-ups, from above the goal's hand.

``ogbench.jaws=pick`` grasps under the goal hand's position (under the start's where the hand
starts low, coming down on the cube). This script asks whether the model could place the grasp
better itself. For each pick-up it brings the open jaws 5 cm above the
goal hand's position on the workspace floor (a proprio waypoint follower, as ``pick`` does with
the planner), then tries grasps on a grid of offsets around that point (``--reach`` m, every
``--spacing`` m):

- **in the simulator**, from the same state: down to the floor at the offset, close the jaws, lift
  to the goal's hand position (the same follower), to see which offsets reach the goal;
- **in imagination**, the same motion as one plan per offset (down, close, lift for the rest of
  ``--horizon`` actions, integrated by the model's layout), scored by the image energy to the
  goal image.

It reports how many offsets reach the goal, whether the one under the goal's hand does, whether
the model's choice does, and where the offset nearest the cube ranks in the model's energies.

    .venv/bin/python bench/grasp_placement.py [--only 2 4 9 ...] [--model-paths PATH ...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT.parent))

from bench_planner_configs import config_file, model_preset  # noqa: E402
from diagnose_trajectory_goals import protocol_env  # noqa: E402

from wm_control.episode import PICK_HOVER, PICK_RADIUS  # noqa: E402
from wm_control.layouts import get_layout  # noqa: E402
from wm_control.model_source import ModelSource  # noqa: E402
from wm_control.planning.config import PlannerConfig  # noqa: E402

TUNING_PICK_UPS = (2, 4, 9, 11, 13, 20, 22, 25)
"""The pick-ups of protocol (a)'s tuning seeds 0-29 (bench/protocol_a_phases.py)."""

OPEN, CLOSED = -1.0, 1.0  # OGBench's gripper action: open, closed
LAYOUT = get_layout("ogbench")


def toward(state: np.ndarray, target: np.ndarray | None, yaw: float) -> np.ndarray:
    """The OGBench layout's action ``[5]`` from ``state [5]`` toward the hand position
    ``target [3]`` (None: stay) and ``yaw``, clipped to [-1, 1]; the gripper entry is left 0."""
    goal = np.array(state, np.float32)
    if target is not None:
        goal[:3] = target
    goal[3], goal[4] = yaw, state[4]
    pair = torch.from_numpy(np.stack([np.asarray(state, np.float32), goal]))  # [2, 5]
    return np.clip(LAYOUT.from_states(pair)[0].numpy(), -1.0, 1.0)


def follow(env, state: np.ndarray, target, gripper: float, yaw: float, steps: int, tolerance):
    """Play up to ``steps`` actions that move the hand toward ``target [3]`` (None: stay) with the
    jaws at ``gripper`` and the hand turning to ``yaw``, until the hand is within ``tolerance``
    (m, per axis) of the target or the episode succeeds. Returns the last observation (None if no
    action was played), whether the episode succeeded and the number of actions played."""
    observation = None
    for played in range(1, steps + 1):
        action = toward(state, target, yaw)
        action[4] = gripper
        observation, _, terminated, _, _ = env.step(action)
        state = observation["state"]
        if terminated:
            return observation, True, played
        if target is None or np.abs(target - state[:3]).max() <= tolerance:
            break
    return observation, False, played


def grasp_plans(
    state: np.ndarray, points: np.ndarray, goal: np.ndarray, floor: float, horizon: int
) -> np.ndarray:
    """Plans ``[S, horizon, 5]`` from ``state [5]``: down to the floor at each grasp point
    ``points [S, 2]`` with open jaws, close them, then to the goal's hand position ``goal [5]``
    with closed jaws, each action as far as the layout's integration carries it."""
    count = len(points)
    now = torch.from_numpy(np.repeat(np.asarray(state, np.float32)[None], count, axis=0))  # [S, 5]
    plans = torch.zeros(count, horizon, 5)
    for t in range(horizon):
        target = now.clone()
        if t == 0:  # down at the point, jaws open
            target[:, :2], target[:, 2] = torch.from_numpy(points).float(), floor
        elif t > 1:  # t == 1 closes the jaws in place; then lift to the goal's hand
            target[:, :3] = torch.from_numpy(np.asarray(goal[:3], np.float32))
        action = LAYOUT.from_states(torch.stack([now, target], dim=1))[:, 0].clamp(-1, 1)  # [S, 5]
        action[:, 3], action[:, 4] = 0.0, OPEN if t == 0 else CLOSED
        plans[:, t] = action
        now = LAYOUT.integrate(now, action)
    return plans.numpy()


def offsets(reach: float, spacing: float) -> np.ndarray:
    """Grid offsets ``[K, 2]`` (m) within ``reach`` of the centre, ``(0, 0)`` first."""
    axis = np.arange(-reach, reach + 1e-9, spacing)
    grid = np.array([(dx, dy) for dx in axis for dy in axis])
    return grid[np.argsort(np.linalg.norm(grid, axis=1), kind="stable")]


def measure(env, controllers, seed: int, grid: np.ndarray, horizon: int) -> dict:
    """One pick-up: the simulator's outcome per offset and each model's choice."""
    observation, info = env.reset(seed=seed)
    task = env.unwrapped
    cube = np.asarray(info["object_position"][:2], np.float64)
    goal = task.goal_configurations()[-1].state
    goal_image = task.goal_images()[-1]
    floor = float(task.workspace[0][2])
    above = np.array([goal[0], goal[1], floor + PICK_HOVER])
    hover, _, used = follow(env, observation["state"], above, OPEN, goal[3], 6, PICK_RADIUS)
    start = task.simulator_state()
    budget = env.spec.max_episode_steps - used  # actions left to the protocol's budget
    points = goal[None, :2] + grid  # [K, 2]
    reached = []
    for point in points:
        task.restore_simulator_state(*start)
        state = hover["state"]
        down = np.array([point[0], point[1], floor])
        after, done, played = follow(env, state, down, OPEN, goal[3], 2, PICK_RADIUS)
        if not done:
            after, done, _ = follow(env, after["state"], None, CLOSED, goal[3], 1, 0.0)
        if not done:
            lift, left = np.asarray(goal[:3], np.float64), budget - played - 1
            done = left > 0 and follow(env, after["state"], lift, CLOSED, goal[3], left, 0.0)[1]
        reached.append(done)
    reached = np.array(reached)
    to_cube = np.linalg.norm(points - cube, axis=1)
    plans = grasp_plans(hover["state"], points, goal, floor, horizon)
    row = {
        "seed": seed,
        "cube_from_goal_hand_cm": 100 * float(np.linalg.norm(goal[:2] - cube)),
        "offsets_reaching": int(reached.sum()),
        "offsets": len(points),
        "under_goal_hand_reaches": bool(reached[0]),
        "reached": reached,  # [K] per offset, in the simulator
        "models": [],
    }
    for controller in controllers:
        controller.set_goal(goal_image, goal)
        image, _ = controller.plan_energies(hover["pixels"], hover["state"], plans)
        image = image.numpy()
        choice = int(image.argmin())
        nearest = int(to_cube.argmin())
        row["models"].append(
            {
                "choice_from_cube_cm": 100 * float(to_cube[choice]),
                "choice_reaches": bool(reached[choice]),
                "nearest_rank": int((image < image[nearest]).sum()) + 1,
                "energies": image,  # [K] imagined image energies per offset
            }
        )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", type=int, nargs="+", default=list(TUNING_PICK_UPS))
    parser.add_argument(
        "--model-paths", nargs="+", default=["shipped"], help="checkpoints ('shipped': the preset)"
    )
    parser.add_argument("--reach", type=float, default=0.04)
    parser.add_argument("--spacing", type=float, default=0.01)
    parser.add_argument("--horizon", type=int, default=4)
    args = parser.parse_args()
    torch.set_num_threads(1)
    env = protocol_env()
    planner = PlannerConfig(**config_file("planner", "paper"))
    controllers = []
    for path in args.model_paths:
        preset = model_preset("ogbench_cube", None if path == "shipped" else path)
        controllers.append(planner.controller(ModelSource.from_dict(preset).load(ROOT.parent)))
    grid = offsets(args.reach, args.spacing)
    print(
        f"{len(grid)} grasp offsets within {args.reach * 100:.0f} cm of the goal hand's position, "
        f"imagined {args.horizon} actions ahead; models: {', '.join(args.model_paths)}\n"
    )
    print(
        "| seed | cube from the goal hand (cm) | offsets reaching the goal | under the goal hand "
        "| model: choice from the cube (cm), reaches, rank of the offset nearest the cube |"
    )
    print("|---|---|---|---|---|")
    for seed in args.only:
        row = measure(env, controllers, seed, grid, args.horizon)
        models = "; ".join(
            f"{m['choice_from_cube_cm']:.1f}, {'yes' if m['choice_reaches'] else 'no'}, "
            f"{m['nearest_rank']} of {row['offsets']}"
            for m in row["models"]
        )
        print(
            f"| {seed} | {row['cube_from_goal_hand_cm']:.1f} | {row['offsets_reaching']} of "
            f"{row['offsets']} | {'reaches' if row['under_goal_hand_reaches'] else 'misses'} | "
            f"{models} |",
            flush=True,
        )
    env.close()


if __name__ == "__main__":
    main()
