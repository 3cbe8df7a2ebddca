"""Does the predictor know that a grasped cube moves with the hand? One step, teacher-forced.

On protocol (a)'s pick-ups (bench/protocol_a_phases.py) the expert's motion, held per block as the
stack's actions are (bench/diagnose_trajectory_goals.py), is played in the simulator. At every
step where the cube moves at least ``--min-move`` m, the predictor is given the real frame, state
and action of that step and predicts the next frame's tokens. Its prediction is compared with:

- the real next configuration (the cube moved with the hand), and
- the same configuration with the cube left where it was (the counterfactual),

both rendered from the simulator's state, so that they differ by the cube alone.

If the prediction is closer to the real frame, one step of the model carries the cube; the gap
between the two frames is the cube's share of that step. bench/cube_signal.py asks the same of
five imagined steps, which is what planning a pick-up needs.

    .venv/bin/python bench/grasp_one_step.py [--seeds 0 30] [--model-path PATH ...]
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
from wm_control.model_source import ModelSource  # noqa: E402


def moving_steps(env, seed: int, min_move: float) -> list[tuple[np.ndarray, ...]]:
    """``(frame, state, action, next frame, counterfactual next frame)`` of each expert step of
    episode ``seed`` in which the cube moves at least ``min_move`` m."""
    actions = expert_block_actions(env, seed)  # [H, 5]
    observation, _ = env.reset(seed=seed)
    task = env.unwrapped
    cube = task.scene._model.joint("object_joint_0").qposadr[0]
    at_rest = np.zeros(task.scene._model.nv)
    frames, states = [observation["pixels"]], [observation["state"]]
    qpos = [task.simulator_state()[0].copy()]
    for action in actions:
        observation, *_ = env.step(action.astype(np.float32))
        frames.append(observation["pixels"])
        states.append(observation["state"])
        qpos.append(task.simulator_state()[0].copy())
    found = []
    for t, action in enumerate(actions):
        if np.linalg.norm(qpos[t + 1][cube : cube + 3] - qpos[t][cube : cube + 3]) < min_move:
            continue
        left = qpos[t + 1].copy()
        left[cube : cube + 7] = qpos[t][cube : cube + 7]
        # both next frames rendered the same way, so that they differ by the cube alone
        real = task.render_configuration(qpos[t + 1], at_rest)
        found.append((frames[t], states[t], action, real, task.render_configuration(left, at_rest)))
    return found


def distances(model, step: tuple[np.ndarray, ...]) -> tuple[float, float, float]:
    """L1 (the planning energy's units) of the one-step prediction to the real and to the
    counterfactual next frame, and between those two frames."""
    frame, state, action, real, left = step
    with torch.inference_mode():
        tokens = model.encode(np.stack([frame, real, left]))[0]  # [3, N, D]
        start = tokens[0].view(1, 1, *tokens.shape[1:])  # [1, 1, N, D]
        state_t = torch.as_tensor(state, dtype=model.dtype).view(1, 1, -1)
        action_t = torch.as_tensor(action, dtype=model.dtype).view(1, 1, -1)
        predicted = model.rollout(start, state_t, action_t).tokens[0, 0]  # [N, D]
    return (
        (predicted - tokens[1]).abs().mean().item(),
        (predicted - tokens[2]).abs().mean().item(),
        (tokens[1] - tokens[2]).abs().mean().item(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 30), metavar=("FIRST", "END"))
    parser.add_argument("--model", default="ogbench_cube", help="configs/model/<name>.yaml")
    parser.add_argument(
        "--model-path", nargs="*", default=[None], help="checkpoints instead of the preset's"
    )
    parser.add_argument("--min-move", type=float, default=0.015, help="cube motion (m) per step")
    args = parser.parse_args()
    torch.set_num_threads(1)
    env = protocol_env()
    seeds = [s for s in range(*args.seeds) if episode_phase(env, s).kind == "pick up"]
    steps = [step for seed in seeds for step in moving_steps(env, seed, args.min_move)]
    print(
        f"Pick-ups of protocol (a) seeds {args.seeds[0]}–{args.seeds[1] - 1}: {len(steps)} steps "
        f"in which the cube moves at least {args.min_move * 100:.1f} cm.\n"
    )
    print(
        "| model | prediction closer to the real frame | L1 to real | L1 to cube left | "
        "real vs cube left |"
    )
    print("|---|---|---|---|---|")
    for path in args.model_path:
        model = ModelSource.from_dict(model_preset(args.model, path)).load(ROOT)
        table = np.array([distances(model, step) for step in steps])  # [steps, 3]
        closer = int((table[:, 0] < table[:, 1]).sum())
        medians = np.median(table, axis=0)
        print(
            f"| `{path or args.model}` | {closer} of {len(steps)} | {medians[0]:.4f} | "
            f"{medians[1]:.4f} | {medians[2]:.4f} |"
        )


if __name__ == "__main__":
    main()
