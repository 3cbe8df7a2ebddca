"""Benchmark of the OGBench cube adapter: rendering with OGBench's visuals against CPU settings.

Run from the repository root (headless: ``MUJOCO_GL=egl`` or ``osmesa``):

    MUJOCO_GL=egl python bench/bench_ogbench.py          # writes bench/results/ogbench.md

Measured side by side in one process, pinned to one core with one rasteriser thread
(``LP_NUM_THREADS=1``): one 64 x 64 frame of ``visual-cube-single-v0`` with OGBench's own visuals
(shadows, reflections, skybox, 4x multisampling) and with them off (:mod:`envs.ogbench_scene`),
then control steps per second of the adapter, and collection frames/s of ``policy=oracle``.
``--quick`` shortens every measurement. The machine may be shared: read ratios, not absolutes.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

import mujoco
import numpy as np

RESULTS = Path(__file__).parent / "results" / "ogbench.md"


def render_times(fast: bool, frames: int) -> dict[str, float]:
    """Median ms of one ``render()`` and of one 20 Hz OGBench control step without rendering."""
    from envs.ogbench_cube import OGBenchCubeEnv

    env = OGBenchCubeEnv(fast_render=fast, control_hz=20)
    try:
        env.reset(seed=0)
        scene = env.scene
        for _ in range(3):  # the GL context and the rasteriser warm up
            scene.render()
        renders, physics = [], []
        rng = np.random.default_rng(0)
        for _ in range(frames):
            start = time.perf_counter()
            scene.render()
            renders.append(time.perf_counter() - start)
            scene.skip_pixels = True
            start = time.perf_counter()
            scene.step(rng.uniform(-1, 1, 5))
            physics.append(time.perf_counter() - start)
            scene.skip_pixels = False
        return {
            "render": 1000 * float(np.median(renders)),
            "physics": 1000 * float(np.median(physics)),
        }
    finally:
        env.close()


def adapter_steps_per_second(control_hz: int, steps: int) -> float:
    """Control steps/s of the adapter (each: 20 / control_hz OGBench steps, one render)."""
    from envs.ogbench_cube import OGBenchCubeEnv

    env = OGBenchCubeEnv(control_hz=control_hz)
    try:
        env.reset(seed=0)
        rng = np.random.default_rng(0)
        env.step(np.zeros(5, dtype=np.float32))
        start = time.perf_counter()
        for _ in range(steps):
            env.step(rng.uniform(-1, 1, 5).astype(np.float32))
        return steps / (time.perf_counter() - start)
    finally:
        env.close()


def collection_frames_per_second(episodes: int, steps: int) -> float:
    """Frames/s of ``collect env=ogbench_cube_single policy=oracle`` end to end (simulation at
    20 Hz driven by OGBench's oracle, one render per recorded 4 Hz frame, AV1 encoding)."""
    from envs.config import EnvConfig
    from wm_control.cli.collect import CollectConfig, collect_dataset

    env = EnvConfig(
        id="wm_control/OGBenchCubeSingle-v0",
        task="cube",
        image_size=64,
        control_hz=4,
        timestep=0.002,
        max_episode_steps=steps,
        mode="data_collection",
    )
    with tempfile.TemporaryDirectory() as tmp:
        config = CollectConfig(
            env=env,
            output_dir=Path(tmp) / "ds",
            episodes=episodes,
            policy="oracle",
            steps_after_success=None,
            progress=False,
        )
        start = time.perf_counter()
        summary = collect_dataset(config)
        return summary.frames / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run")
    parser.add_argument("--output", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    cores = os.sched_getaffinity(0)
    os.environ["LP_NUM_THREADS"] = "1"  # read by Mesa llvmpipe when a GL context is made
    os.sched_setaffinity(0, {min(cores)})
    os.environ.setdefault("SVT_LOG", "1")
    frames = 5 if args.quick else 30
    load = os.getloadavg()[0]
    default = render_times(fast=False, frames=frames)
    fast = render_times(fast=True, frames=frames)
    at_4hz = adapter_steps_per_second(4, 5 if args.quick else 60)
    at_20hz = adapter_steps_per_second(20, 10 if args.quick else 150)
    collect = collection_frames_per_second(1, 10 if args.quick else 100)

    def fps(ms: float) -> str:
        return f"{1000 / ms:.1f}"

    lines = [
        "## OGBench cube adapter (envs/ogbench_cube.py)",
        "",
        f"Rerun: `MUJOCO_GL={os.environ.get('MUJOCO_GL', 'egl')} python bench/bench_ogbench.py`"
        " (append `--quick` for a smoke run).",
        f"Machine: {platform.machine()}, {len(cores)} cores (shared, noisy: load average "
        f"{load:.1f} at the start), MUJOCO_GL={os.environ.get('MUJOCO_GL')}, mujoco "
        f"{mujoco.__version__}; pinned to one core, `LP_NUM_THREADS=1`.",
        "",
        f"### One 64 x 64 frame of visual-cube-single-v0 (median of {frames}, side by side)",
        "",
        "| visuals | render ms | frames/s | one 20 Hz physics step (ms) |",
        "|---|---|---|---|",
        f"| OGBench's own (shadows, reflections, skybox, multisampling) | {default['render']:.1f}"
        f" | {fps(default['render'])} | {default['physics']:.2f} |",
        f"| CPU settings (all four off) | {fast['render']:.1f} | {fps(fast['render'])} | "
        f"{fast['physics']:.2f} |",
        f"| ratio | {default['render'] / fast['render']:.1f}x faster | | |",
        "",
        "### Adapter and collection",
        "",
        "| what | rate |",
        "|---|---|",
        f"| control steps/s at 4 Hz (5 OGBench steps, 1 render) | {at_4hz:.1f} |",
        f"| control steps/s at 20 Hz (1 OGBench step, 1 render) | {at_20hz:.1f} |",
        f"| `collect policy=oracle` at 4 Hz, frames/s (oracle, AV1, parquet) | {collect:.1f} |",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
