"""How much the cube weighs in the planning energy, as the encoder sees it and as the predictor
imagines it, on protocol (a)'s pick-ups (the kind no planner solves; bench/protocol_a_phases.py).

For each pick-up seed it prints image energies to the episode's goal image (the planner's image
term, :func:`wm_control.energies.energy`):

- real frames, through the encoder alone:
  - ``cube left``: the goal's configuration rendered with the cube put back where it started. It
    is what a plan that brings the hand exactly to the goal's pose but leaves the cube costs: the
    cube's whole share of the energy;
  - ``start``: the episode's first frame;
  - ``expert`` and ``jaws open``: the last frame of the expert's motion held per block (the
    stack's actions, as bench/diagnose_trajectory_goals.py builds them), played in the simulator
    with its jaws as recorded, and with them held open (the hand goes down and up without the
    cube);
- the same two motions imagined by the predictor from the start frame.

A pick-up can only win the planner's choice if the energy separates the two motions: the real
``jaws open − expert`` gap is what a perfect model would see, the imagined gap what this one
sees. The model's recorded validation error (``val/tf_l1``: the mean absolute error of one
predicted frame, the same units) is the scale of its imagination's error per step.

    .venv/bin/python bench/cube_signal.py [--seeds 0 30] [--model ogbench_cube] \\
        [--model-path PATH] [--out bench/results/cube_signal.md]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_planner_configs import model_preset  # noqa: E402
from diagnose_trajectory_goals import expert_block_actions, protocol_env  # noqa: E402
from protocol_a_phases import episode_phase  # noqa: E402
from wm_control.energies import energy  # noqa: E402
from wm_control.model_source import ModelSource  # noqa: E402
from wm_control.world_model import WorldModel  # noqa: E402

COLUMNS = ("cube left", "start", "expert", "jaws open", "imagined expert", "imagined jaws open")


def last_frame(env, seed: int, actions: np.ndarray) -> np.ndarray:
    """The camera frame after playing ``actions [H, 5]`` open-loop from the episode's start."""
    env.reset(seed=seed)
    for action in actions:
        observation, *_ = env.step(action.astype(np.float32))
    return observation["pixels"]


def jaws_open(actions: np.ndarray) -> np.ndarray:
    """``actions [H, 5]`` with the gripper's target held open: the same hand motion, no grasp."""
    opened = actions.copy()
    opened[:, 4] = -1.0
    return opened


def seed_energies(env, model, seed: int) -> list[float]:
    """The energies of :data:`COLUMNS` for one episode."""
    expert = expert_block_actions(env, seed)  # [H, 5]
    opened = jaws_open(expert)
    observation, _ = env.reset(seed=seed)
    task, episode = env.unwrapped, env.episode
    cube = task.scene._model.joint("object_joint_0").qposadr[0]
    cube_left = episode.goal_qpos.copy()
    cube_left[cube : cube + 7] = episode.start_qpos[cube : cube + 7]
    at_rest = np.zeros(task.scene._model.nv)
    frames = np.stack(
        [
            task.goal_images()[-1],
            task.render_configuration(cube_left, at_rest),
            observation["pixels"],
            last_frame(env, seed, expert),
            last_frame(env, seed, opened),
        ]
    )  # [5, H, W, 3]: the goal, then the four real frames of COLUMNS
    with torch.inference_mode():
        tokens = model.encode(frames)[0]  # [5, N, D], one encoder pass
        goal = tokens[0]  # [N, D]
        real = energy(tokens[1:].unsqueeze(1), goal).tolist()  # [4], read as [S, H=1, N, D]
        start = tokens[2].view(1, 1, *goal.shape)  # [1, 1, N, D], the start frame's
        state = torch.as_tensor(observation["state"], dtype=torch.float32).view(1, 1, -1)
        plans = torch.as_tensor(np.stack([expert, opened]), dtype=torch.float32)  # [2, H, 5]
        imagined = model.rollout(start, state, plans.to(model.dtype)).tokens  # [2, H, N, D]
        dreamed = energy(imagined, goal).tolist()  # last step's
    return real + dreamed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 30), metavar=("FIRST", "END"))
    parser.add_argument("--model", default="ogbench_cube", help="configs/model/<name>.yaml")
    parser.add_argument("--model-path", default=None, help="a checkpoint instead of the preset's")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    source = model_preset(args.model, args.model_path)
    model = ModelSource.from_dict(source).load(ROOT)
    weights = ROOT / source["path"]
    folder = weights if weights.is_dir() else weights.parent
    tf_l1 = (WorldModel.read_metadata(folder).get("validation") or {}).get("val/tf_l1", np.nan)
    env = protocol_env()
    seeds = [s for s in range(*args.seeds) if episode_phase(env, s).kind == "pick up"]
    if not seeds:
        parser.error(f"--seeds {args.seeds[0]} {args.seeds[1]}: no pick-up episode in the range")
    rows = [seed_energies(env, model, seed) for seed in seeds]
    table = np.array(rows)  # [seeds, columns]
    real_gap = table[:, 3] - table[:, 2]
    imagined_gap = table[:, 5] - table[:, 4]
    lines = [
        f"Pick-ups of protocol (a) seeds {args.seeds[0]}–{args.seeds[1] - 1}; model "
        f"`{args.model_path or args.model}` (val/tf_l1 {tf_l1:.4f}). Image energies to the goal "
        "image:",
        "",
        "| seed | " + " | ".join(COLUMNS) + " | real gap (open − expert) | imagined gap |",
        "|---" * (len(COLUMNS) + 3) + "|",
    ]
    for seed, row, real, dreamed in zip(seeds, rows, real_gap, imagined_gap):
        cells = " | ".join(f"{value:.4f}" for value in [*row, real, dreamed])
        lines.append(f"| {seed} | {cells} |")
    medians = np.median(np.column_stack([table, real_gap, imagined_gap]), axis=0)
    lines.append("| median | " + " | ".join(f"{value:.4f}" for value in medians) + " |")
    lines += [
        "",
        f"cube left / start (median): {np.median(table[:, 0] / table[:, 1]):.2f}; expert "
        f"beats jaws open in {int((real_gap > 0).sum())} of {len(seeds)} real, "
        f"{int((imagined_gap > 0).sum())} of {len(seeds)} imagined; imagined gap / real gap "
        f"(medians): {np.median(imagined_gap) / np.median(real_gap):.2f}",
    ]
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
