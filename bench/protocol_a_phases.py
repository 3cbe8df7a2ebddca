"""What protocol (a)'s OGBench cube episodes ask for, and which kinds a planner solves.

stable-worldmodel's protocol (a) takes start and goal 25 control steps apart on an expert
trajectory, so an episode asks for whatever part of a pick-and-place cycle the expert did in
those steps. This script rebuilds each episode (the same function of its seed that ``wm-control
eval`` plays) and sorts it by the cube's state at start and goal, read from the simulator:

- ``already there``: the cube starts within OGBench's success radius of its goal;
- ``pick up``: on the table at the start, lifted in the goal (the goal's hand holds it);
- ``set down``: lifted at the start, on the table in the goal;
- ``carry``: lifted at both;
- ``slide``: on the table at both, moved.

With ``episodes.csv`` files of ``wm-control eval`` runs (``[LABEL=]PATH[@AGENT]``) it counts, per
kind, the episodes each run solved (– where a run did not play the seed). The simulator state is
read for this analysis only; no agent sees it.

    .venv/bin/python bench/protocol_a_phases.py --seeds 0 30 \\
        fast_carry=bench/results/eval_ogbench_model/tuning_seeds_0/fast_carry.csv
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from diagnose_trajectory_goals import TABLE_HEIGHT, TASK, protocol_env  # noqa: E402

from envs.ogbench_cube import SUCCESS_DISTANCE  # noqa: E402
from wm_control.evaluation import read_outcomes  # noqa: E402

KINDS = ("already there", "pick up", "set down", "carry", "slide")


@dataclass(frozen=True)
class EpisodePhase:
    """One protocol (a) episode, seen from the simulator. Distances in metres; ``*_hand_xy`` are
    in the table's plane."""

    seed: int
    kind: str
    cube_moves: float  # start cube to goal cube
    goal_hand_xy: float  # goal hand to goal cube: how far the expert had moved away
    start_hand_xy: float  # start hand to start cube: how far the hand has to go to it


def episode_kind(start_cube: np.ndarray, goal_cube: np.ndarray) -> str:
    """The kind (one of :data:`KINDS`) of an episode whose cube centre goes from ``start_cube``
    to ``goal_cube`` ([3] each, m)."""
    if np.linalg.norm(goal_cube - start_cube) < SUCCESS_DISTANCE:
        return "already there"
    lifted = (start_cube[2] > TABLE_HEIGHT, goal_cube[2] > TABLE_HEIGHT)
    return {
        (False, True): "pick up",
        (True, False): "set down",
        (True, True): "carry",
        (False, False): "slide",
    }[lifted]


def episode_phase(env, seed: int) -> EpisodePhase:
    """Rebuild the episode of ``seed`` on protocol (a)'s ``env`` and sort it."""
    env.reset(seed=seed)
    task, episode = env.unwrapped, env.episode

    def cube_and_hand(qpos: np.ndarray, qvel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        task.restore_simulator_state(qpos, qvel)
        raw = task.scene.compute_ob_info()
        return np.asarray(raw["privileged/block_0_pos"]), np.asarray(raw["proprio/effector_pos"])

    start_cube, start_hand = cube_and_hand(episode.start_qpos, episode.start_qvel)
    goal_cube, goal_hand = cube_and_hand(episode.goal_qpos, episode.goal_qvel)
    return EpisodePhase(
        seed=seed,
        kind=episode_kind(start_cube, goal_cube),
        cube_moves=float(np.linalg.norm(goal_cube - start_cube)),
        goal_hand_xy=float(np.linalg.norm((goal_hand - goal_cube)[:2])),
        start_hand_xy=float(np.linalg.norm((start_hand - start_cube)[:2])),
    )


def read_runs(specs: list[str]) -> dict[str, dict[int, bool]]:
    """``[LABEL=]episodes.csv[@AGENT]`` -> {LABEL: {seed: success}} of that agent's protocol (a)
    episodes; the label defaults to the file's folder, the agent to the file's only one."""
    runs: dict[str, dict[int, bool]] = {}
    for spec in specs:
        label, _, rest = spec.rpartition("=")
        path, _, agent = rest.partition("@")
        path = Path(path)
        rows = [outcome for outcome in read_outcomes(path) if outcome.task == TASK]
        agents = sorted({row.agent for row in rows})
        if not agent and len(agents) == 1:
            agent = agents[0]
        if agent not in agents:
            raise SystemExit(
                f"protocol_a_phases: expected {path} to hold {TASK} episodes of "
                f"{agent or 'one agent'} (name it as PATH@AGENT), found agents {agents}"
            )
        label = label or f"{path.parent.name} {agent}"
        runs[label] = {row.seed: row.success for row in rows if row.agent == agent}
    return runs


def _mark(success: bool | None) -> str:
    return "–" if success is None else ("✓" if success else "·")


def _solved(run: dict[int, bool], seeds: list[int]) -> str:
    """``solved of played`` for the run's episodes among ``seeds``."""
    played = [seed for seed in seeds if seed in run]
    return f"{sum(run[seed] for seed in played)} of {len(played)}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs=2, default=(0, 30), metavar=("FIRST", "END"))
    parser.add_argument("runs", nargs="*", metavar="[LABEL=]EPISODES_CSV")
    args = parser.parse_args()
    runs = read_runs(args.runs)
    env = protocol_env()
    phases = [episode_phase(env, seed) for seed in range(*args.seeds)]
    env.close()

    labels = list(runs)
    columns = (
        "seed | kind | cube moves (cm) | goal hand to goal cube (cm) | start hand to cube (cm)"
    )
    print(f"| {columns} |" + "".join(f" {label} |" for label in labels))
    print("|---" * (5 + len(labels)) + "|")
    for phase in phases:
        solved = [_mark(runs[label].get(phase.seed)) for label in labels]
        print(
            f"| {phase.seed} | {phase.kind} | {100 * phase.cube_moves:.1f} | "
            f"{100 * phase.goal_hand_xy:.1f} | {100 * phase.start_hand_xy:.1f} |"
            + "".join(f" {mark} |" for mark in solved)
        )
    print()
    print("| kind | episodes |" + "".join(f" {label} solved |" for label in labels))
    print("|---" * (2 + len(labels)) + "|")
    for kind in KINDS:
        seeds = [phase.seed for phase in phases if phase.kind == kind]
        if seeds:
            cells = [_solved(runs[label], seeds) for label in labels]
            print(f"| {kind} | {len(seeds)} |" + "".join(f" {cell} |" for cell in cells))


if __name__ == "__main__":
    main()
