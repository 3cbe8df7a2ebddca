"""Does a recorded block's action describe what the block did? OGBench's oracles, held or not.

The OGBench datasets this stack records (``wm-control collect policy=oracle|oracle_noisy``) let
OGBench's oracle act at every 20 Hz control step and record one frame per block of 5 steps, with
the mean of the block's executed actions as its action: the action that, held for the block as a
planner holds its actions, commands the same total motion. This script measures how well that
holds. From the same simulator state it plays every block twice, once with the oracle's own
actions and once with their mean held, and prints how far apart the two outcomes end: the
end-effector, the gripper opening and the cube.

- ``oracle`` (the play data): the oracle's actions vary smoothly within a block;
- ``oracle_noisy``, ``noise_per=step`` (OGBench's noisy data): Gaussian noise and random actions
  drawn at every control step;
- ``oracle_noisy``, ``noise_per=block``: the same noise drawn once per block and held.

    .venv/bin/python bench/oracle_block_noise.py [--episodes 3] [--out FILE.md]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import envs  # noqa: E402,F401  (registers the gymnasium ids; headless rendering before MuJoCo)
import mujoco  # noqa: E402
from envs.ogbench_oracles import OGBenchOracle  # noqa: E402

SETTINGS = (("oracle", "step"), ("oracle_noisy", "step"), ("oracle_noisy", "block"))
BLOCKS = 200
"""Blocks per episode: the length of the recorded OGBench episodes (Makefile)."""


FULL_STATE = mujoco.mjtState.mjSTATE_INTEGRATION
"""Everything the next physics step reads (positions, velocities, actuator states, controls,
mocap bodies, solver warm start): both plays of a block start from the same state, exactly."""


def simulator_state(task) -> tuple[np.ndarray, dict]:
    scene = task.scene
    state = np.empty(mujoco.mj_stateSize(scene._model, FULL_STATE))
    mujoco.mj_getState(scene._model, scene._data, state, FULL_STATE)
    return state, task._last_raw


def restore(task, saved: tuple[np.ndarray, dict]) -> None:
    scene = task.scene
    mujoco.mj_setState(scene._model, scene._data, saved[0], FULL_STATE)
    mujoco.mj_forward(scene._model, scene._data)
    task._last_raw = saved[1]


def block_gaps(task, oracle: OGBenchOracle) -> list[float]:
    """Play one block with the oracle's actions, and again from the same state with their mean
    held; leave the simulation where the oracle's block ended. Returns the distances between the
    two outcomes: end-effector (m), gripper opening, cube (m)."""
    start = simulator_state(task)
    executed: list[np.ndarray] = []

    def acting(raw):
        executed.append(oracle(raw))
        return executed[-1]

    task.step_block(acting)
    played = simulator_state(task)
    played_raw = played[1]
    restore(task, start)
    held = np.mean(executed, axis=0).astype(np.float32)
    task.step_block(lambda raw: held)
    held_raw = task._last_raw
    restore(task, played)
    return [
        float(np.linalg.norm(played_raw[key] - held_raw[key]))
        for key in ("proprio/effector_pos", "proprio/gripper_opening", "privileged/block_0_pos")
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=3, help="episodes per setting")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    env = gym.make(
        "wm_control/OGBenchCubeSingle-v0", mode="data_collection", disable_env_checker=True
    )
    task = env.unwrapped
    lines = [
        f"Every block of {args.episodes} OGBench data-collection episodes ({BLOCKS} blocks of "
        f"{task.block} control steps each, seeds 0–{args.episodes - 1}), played with the "
        "oracle's actions and again with their mean held. Distance between the two outcomes:",
        "",
        "| oracle | noise drawn per | end-effector, mean (cm) | 90th percentile (cm) | "
        "gripper opening, mean | cube, mean (cm) | blocks where the cube ends > 1 cm apart |",
        "|---|---|---|---|---|---|---|",
    ]
    for kind, noise_per in SETTINGS:
        oracle = OGBenchOracle(env, kind=kind, noise_per=noise_per)
        gaps = []
        for episode in tqdm(range(args.episodes), desc=f"{kind}, {noise_per}", unit="episode"):
            task.reset(seed=episode)
            oracle.reset(episode)
            gaps += [block_gaps(task, oracle) for _ in range(BLOCKS)]
        hand, jaws, cube = np.array(gaps).T * np.array([[100.0], [1.0], [100.0]])
        lines.append(
            f"| {kind} | {noise_per} | {hand.mean():.2f} | {np.percentile(hand, 90):.2f} | "
            f"{jaws.mean():.3f} | {cube.mean():.2f} | {100 * np.mean(cube > 1.0):.1f} % |"
        )
    text = "\n".join(lines) + "\n"
    print(text, end="")
    if args.out:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
