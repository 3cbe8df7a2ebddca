"""How well does a model's five-step imagination rank motions by where they really lead?

A planner that looks several actions ahead picks the candidate its model scores best. That works
only if the model's energies rank candidates as their real outcomes rank. This script measures it
on protocol (a)'s episodes: from each episode's start it plays ``--windows`` windows of 5 recorded
actions of a dataset (the oracle's own motions: reaches, grasps, lifts) both in imagination and
in the simulator, and compares, per episode,

- the Spearman rank correlation between imagined and real image energies to the goal image;
- the real energy of the window the model scores best, against the best real energy among the
  windows and their median (how much the model's choice loses to its own error).

    .venv/bin/python bench/imagined_vs_real_energy.py --only 2 4 9 11 13 20 22 25 \\
        --library runs/ogbench_png/data/play [--model-path PATH] [--windows 100]
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
from diagnose_trajectory_goals import play_open_loop, protocol_env  # noqa: E402
from ensemble_plans import action_windows  # noqa: E402

from wm_control.energies import energy  # noqa: E402
from wm_control.model_source import ModelSource  # noqa: E402
from wm_control.planning.config import PlannerConfig  # noqa: E402

HORIZON = 5
"""Protocol (a)'s 25 control steps from start to goal, in the stack's 5-step actions."""


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation of two samples without ties ``[n]``."""
    rank_a, rank_b = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(rank_a, rank_b)[0, 1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", type=int, nargs="+", required=True, metavar="SEED")
    parser.add_argument("--library", required=True, help="an OGBench dataset's folder")
    parser.add_argument("--windows", type=int, default=100)
    parser.add_argument("--model", default="ogbench_cube", help="configs/model/<name>.yaml")
    parser.add_argument("--model-path", default=None, help="a checkpoint instead of the preset's")
    args = parser.parse_args()
    torch.set_num_threads(1)

    model = ModelSource.from_dict(model_preset(args.model, args.model_path)).load(ROOT.parent)
    controller = PlannerConfig(**config_file("planner", "paper")).controller(model)
    library = action_windows(args.library, HORIZON, args.windows)  # [L, 5, A]
    env = protocol_env()
    print(f"{len(library)} recorded {HORIZON}-action windows per episode, image energies")
    print(
        "| seed | rank correlation, imagined vs real | real energy of the model's choice | "
        "best real | median real | model's choice among the real ranks |"
    )
    print("|---|---|---|---|---|---|")
    correlations = []
    for seed in args.only:
        observation, _ = env.reset(seed=seed)
        goal_image = env.unwrapped.goal_images()[-1]
        controller.set_goal(goal_image)
        imagined, _ = controller.plan_energies(
            observation["pixels"], observation["state"], library
        )  # [L]
        last_frames = []
        for window in library:
            env.reset(seed=seed)
            last_frames.append(play_open_loop(env, window)[1])
        with torch.inference_mode():  # the goal and the windows' last frames in one pass
            tokens = model.encode(np.stack([goal_image, *last_frames]))[0]  # [1 + L, N, D]
            real = energy(tokens[1:].unsqueeze(1), tokens[0]).numpy()  # [L]
        imagined = imagined.numpy()
        choice = int(imagined.argmin())
        rank = int((real < real[choice]).sum()) + 1
        correlations.append(spearman(imagined, real))
        print(
            f"| {seed} | {correlations[-1]:.2f} | {real[choice]:.4f} | {real.min():.4f} | "
            f"{np.median(real):.4f} | {rank} of {len(real)} |",
            flush=True,
        )
    print(f"\nmedian rank correlation: {np.median(correlations):.2f}")


if __name__ == "__main__":
    main()
