"""Benchmark of the simulated tasks: steps/s with rendering, collection speed, expert success.

Run from the repository root (headless: ``MUJOCO_GL=egl`` or ``osmesa``):

    MUJOCO_GL=egl python bench/bench_envs.py            # writes bench/results/envs.md

``--quick`` shortens every measurement (a smoke run). Numbers from one run are measured side by
side on the same machine; the machine may be shared, so read ratios rather than absolutes.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import mujoco
import numpy as np

import envs
from envs.config import EnvConfig
from envs.experts import RandomPolicy, success_rate
from wm_control.cli.collect import CollectConfig, collect_dataset

RESULTS = Path(__file__).parent / "results" / "envs.md"


def steps_per_second(
    image_size: int, steps: int, wrist_camera: bool = False, repeats: int = 3
) -> float:
    """Control steps/s of Push-v2 (50 physics substeps, IK, rendering) under the random
    exploration policy, episode resets excluded; the best of ``repeats`` runs (shared machine)."""
    env = gym.make("wm_control/Push-v2", image_size=image_size, wrist_camera=wrist_camera)
    try:
        policy = RandomPolicy(env.action_space, seed=0)
        observation, info = env.reset(seed=0)
        for _ in range(5):  # creates the renderer, warms up the rasteriser
            env.step(np.zeros(7, dtype=np.float32))
        best = 0.0
        for _ in range(repeats):
            elapsed = 0.0
            for i in range(steps):
                action = policy(observation, info)
                start = time.perf_counter()
                observation, _, terminated, truncated, info = env.step(action)
                elapsed += time.perf_counter() - start
                if terminated or truncated:
                    observation, info = env.reset(seed=i)
            best = max(best, steps / elapsed)
        return best
    finally:
        env.close()


def step_breakdown(image_size: int, repeats: int) -> dict[str, float]:
    """Milliseconds per control step spent in IK, physics (50 substeps) and one camera render,
    each the median of ``repeats`` timings measured side by side."""
    env = gym.make("wm_control/Push-v2", image_size=image_size).unwrapped
    try:
        env.reset(seed=0)
        data, model = env.data, env.model
        rng = np.random.default_rng(0)
        timings: dict[str, list[float]] = {"ik": [], "physics": [], "render": []}
        for _ in range(repeats):
            target = data.site("ee").xpos + rng.uniform(-0.075, 0.075, 3)
            start = time.perf_counter()
            env._ik.solve(data.qpos, target, np.eye(3))  # as each control step solves it
            timings["ik"].append(time.perf_counter() - start)
            start = time.perf_counter()
            mujoco.mj_step(model, data, nstep=env._substeps)
            timings["physics"].append(time.perf_counter() - start)
            start = time.perf_counter()
            env._renderer.render(data, "exterior")
            timings["render"].append(time.perf_counter() - start)
        return {name: 1000 * float(np.median(values)) for name, values in timings.items()}
    finally:
        env.close()


def collection_speed(env_name: str, image_size: int, episodes: int) -> tuple[float, float]:
    """(episodes/min, frames/s) of ``collect_dataset`` with the expert, video encoding included."""
    env = EnvConfig(id=f"wm_control/{env_name}-v2", task=env_name, image_size=image_size)
    with tempfile.TemporaryDirectory() as tmp:
        config = CollectConfig(
            env=env, output_dir=Path(tmp) / "ds", episodes=episodes, progress=False
        )
        start = time.perf_counter()
        summary = collect_dataset(config)
        elapsed = time.perf_counter() - start
    return episodes / elapsed * 60.0, summary.frames / elapsed


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    parser.add_argument(
        "--all-cores",
        action="store_true",
        help="measure steps/s on all cores (default: pinned to one core, LP_NUM_THREADS=1)",
    )
    args = parser.parse_args(argv)
    all_cores = os.sched_getaffinity(0)
    if not args.all_cores:
        # One core for simulation and the software rasteriser (Mesa llvmpipe reads LP_NUM_THREADS
        # when a GL context is created).
        os.environ["LP_NUM_THREADS"] = "1"
        os.sched_setaffinity(0, {min(all_cores)})
    os.environ.setdefault("SVT_LOG", "1")  # the AV1 encoder's banner on every episode
    steps = 50 if args.quick else 400
    episodes = 2 if args.quick else 10
    expert_episodes = 3 if args.quick else 50

    lines = [
        "## Simulated tasks (envs)",
        "",
        f"Rerun: `MUJOCO_GL={os.environ.get('MUJOCO_GL', 'egl')} python bench/bench_envs.py` "
        "(append `--quick` for a smoke run).",
        f"Machine: {platform.machine()}, {len(all_cores)} cores (shared, noisy: load average "
        f"{os.getloadavg()[0]:.1f} at the start), MUJOCO_GL={os.environ.get('MUJOCO_GL')}, "
        f"mujoco {mujoco.__version__}.",
        "",
        "### Control steps per second (Push-v2, 4 Hz = 50 physics substeps of 5 ms, IK, rendering)",
        "",
        "One control step = differential IK + 50 physics substeps + rendering of the observation; "
        + ("all cores." if args.all_cores else "pinned to one core, `LP_NUM_THREADS=1`.")
        + " Random exploration policy.",
        "",
        "| image size | exterior camera | exterior + wrist |",
        "|---|---|---|",
    ]
    for size in (64, 128, 256):
        single = steps_per_second(size, steps)
        both = steps_per_second(size, steps, wrist_camera=True)
        lines.append(f"| {size} px | {single:.0f} steps/s | {both:.0f} steps/s |")
        print(lines[-1], flush=True)
    lines += [
        "",
        "Cost of one control step by part (median ms, measured side by side; the sum bounds the "
        "rate an idle core reaches):",
        "",
        "| image size | IK | physics (50 substeps) | render (1 camera) | sum | implied steps/s |",
        "|---|---|---|---|---|---|",
    ]
    for size in (64, 128, 256):
        parts = step_breakdown(size, repeats=steps)
        total = sum(parts.values())
        lines.append(
            f"| {size} px | {parts['ik']:.2f} | {parts['physics']:.2f} | {parts['render']:.2f} "
            f"| {total:.2f} | {1000 / total:.0f} |"
        )
        print(lines[-1], flush=True)

    os.sched_setaffinity(0, all_cores)
    lines += [
        "",
        "### Collection (expert, LeRobot dataset with AV1 video encoding, exterior camera)",
        "",
        "All cores; `collect_dataset` end to end: simulation, PNG frames, AV1 encoding per "
        "episode, parquet, finalisation. Episodes end 2 steps after success.",
        "",
        "| task | image size | episodes | episodes/min | frames/s |",
        "|---|---|---|---|---|",
    ]
    for name, size in (("Push", 64), ("Push", 128), ("PickPlace", 128)):
        per_minute, fps = collection_speed(name, size, episodes)
        lines.append(f"| {name} | {size} px | {episodes} | {per_minute:.0f} | {fps:.0f} |")
        print(lines[-1], flush=True)

    lines += [
        "",
        f"### Scripted expert success rate ({expert_episodes} seeded episodes per task)",
        "",
        "| task | noise 0 | noise 0.1 | noise 0.3 |",
        "|---|---|---|---|",
    ]
    for env_id in envs.TASKS:
        rates = [success_rate(env_id, expert_episodes, noise=n) for n in (0.0, 0.1, 0.3)]
        lines.append(f"| {env_id} | " + " | ".join(f"{r:.2f}" for r in rates) + " |")
        print(lines[-1], flush=True)
    lines += [
        "",
        "Noise: std of Gaussian action noise as a fraction of the action bounds "
        "(`make_policy('expert', env, noise=...)`).",
        "",
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text("\n".join(lines))
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
