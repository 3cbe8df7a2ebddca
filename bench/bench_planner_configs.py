"""The planner configurations (configs/planner/*.yaml) on a shipped model, side by side in one run.

Each configuration builds its controller exactly as `plan`, `eval` and the ROS node do
(``PlannerConfig.controller``). Every controller plans from the same real observations: the first
frame, state and final goal image of seeded episodes of the arm tasks. Calls alternate between the
configurations (and between thread counts) round after round, so a load change on a shared machine
hits all of them alike; the printed ratios are the claims, the seconds depend on the machine.

    .venv/bin/python bench/bench_planner_configs.py [--configs paper fast] [--threads 1 2] \\
        [--model sim_default] [--seeds 5] [--out bench/results/planner_configs.md]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from envs.config import EnvConfig, make_env  # noqa: E402
from wm_control.cli.main import config_dir  # noqa: E402
from wm_control.model_source import ModelSource  # noqa: E402
from wm_control.planning.config import PlannerConfig  # noqa: E402
from wm_control.runtime import tune_cpu_allocator  # noqa: E402

ARM_TASKS = ("grasp", "pick_place", "push", "reach")


def config_file(group: str, name: str) -> dict:
    """``configs/<group>/<name>.yaml`` as a dict: what ``<group>=<name>`` selects in a command."""
    return yaml.safe_load((config_dir() / group / f"{name}.yaml").read_text())


def model_preset(name: str, path: str | None = None) -> dict:
    """What ``model=<name>`` selects (``configs/model/<name>.yaml``), with its weights read from
    ``path`` (a checkpoint file or folder) instead of the preset's where given."""
    source = config_file("model", name)
    if path:
        source["path"] = path
    return source


def observations(tasks: list[str], seeds: int, first_seed: int) -> list[dict]:
    """First frame, state, final goal image and goal state of ``seeds`` episodes per task, the task
    built from its config file as ``eval`` builds it."""
    found = []
    for task in tasks:
        env = make_env(EnvConfig(**config_file("env", task)))
        for seed in range(first_seed, first_seed + seeds):
            observation, info = env.reset(seed=seed)
            found.append(
                {
                    "task": task,
                    "seed": seed,
                    "frame": observation["pixels"],  # [S, S, 3] uint8
                    "state": observation["state"],  # [P]
                    "goal": env.unwrapped.goal_images()[-1],  # [S, S, 3] uint8
                    "goal_state": info["goal_state"],  # [P]
                }
            )
        env.close()
    return found


def planner_config(name: str, overrides: dict | None = None) -> PlannerConfig:
    """``planner=<name>`` (``configs/planner/<name>.yaml``) with ``overrides``, validated."""
    return PlannerConfig.from_dict({**config_file("planner", name), **(overrides or {})})


def label(config: PlannerConfig) -> str:
    """``icem 320x5 h1 yaw``: the solver, its budget and whether it turns the hand."""
    turns = " yaw" if config.search_yaw else " rpy" if config.search_rotation else ""
    return f"{config.solver} {config.samples}x{config.iterations} h{config.horizon}{turns}"


def rerun_arguments(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str:
    """The command-line arguments that repeat this run: the configs, threads and seeds, and every
    other setting that differs from its default."""
    always = ("configs", "threads", "seeds")
    parts = []
    for name, value in vars(args).items():
        if name == "out" or (name not in always and value == parser.get_default(name)):
            continue
        words = value if isinstance(value, list) else [value]
        parts.append(f"--{name.replace('_', '-')} {' '.join(map(str, words))}")
    return " ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", nargs="+", default=["paper", "fast"])
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument(
        "--model", default="sim_default", help="a shipped model's name or a checkpoint path"
    )
    parser.add_argument("--tasks", nargs="+", default=list(ARM_TASKS), choices=ARM_TASKS)
    parser.add_argument("--seeds", type=int, default=3, help="episodes (observations) per task")
    parser.add_argument("--first-seed", type=int, default=1000)
    parser.add_argument(
        "--goal-state-weight", type=float, default=1.0, help="planner.goal_state_weight"
    )
    parser.add_argument(
        "--dtype",
        default="float32",
        choices=["float32", "bfloat16"],
        help="model.dtype (bfloat16 pays off on CPUs with AVX512-BF16 or AMX)",
    )
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "planner_configs.md"
    )
    args = parser.parse_args()
    allocator = tune_cpu_allocator()
    shipped = ROOT / "wm_control" / "pretrained" / args.model
    path = str(shipped) if shipped.exists() else args.model  # a shipped name, or a checkpoint
    model = ModelSource(path=path, device="cpu", dtype=args.dtype).load(ROOT)
    seen = observations(args.tasks, args.seeds, args.first_seed)
    overrides = {"goal_state_weight": args.goal_state_weight}
    configs = {name: planner_config(name, overrides) for name in args.configs}
    controllers = {name: config.controller(model) for name, config in configs.items()}
    runs = [(name, threads) for threads in args.threads for name in args.configs]
    times: dict[tuple[str, int], list[float]] = {run: [] for run in runs}

    def plan(name: str, threads: int, observed: dict) -> float:
        torch.set_num_threads(threads)
        controller = controllers[name]
        controller.reset()
        start = time.perf_counter()
        controller.set_goal(observed["goal"], observed["goal_state"])
        controller.act(observed["frame"], observed["state"])
        return time.perf_counter() - start

    for name, threads in runs:  # warm-up
        plan(name, threads, seen[0])
    for i, observed in enumerate(seen):
        for run in runs if i % 2 == 0 else runs[::-1]:
            times[run].append(plan(*run, observed))
        print(
            f"{i + 1}/{len(seen)} {observed['task']} seed {observed['seed']}: "
            + ", ".join(f"{n} x{t} {times[(n, t)][-1]:.3f} s" for n, t in runs),
            flush=True,
        )
    median = {run: statistics.median(values) for run, values in times.items()}
    reference = args.configs[0]
    lines = [
        "# Planner configurations on the shipped model",
        "",
        (
            f"Machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, "
            f"allocator tuned: {allocator}. Model `{args.model}` ({args.dtype}, CPU). "
            f"{len(seen)} planning calls per row (goal encoding + one plan from a fresh "
            f"controller): the first frame of seeds {args.first_seed}-"
            f"{args.first_seed + args.seeds - 1} of {', '.join(args.tasks)}, alternating order; "
            f"goal_state_weight {args.goal_state_weight}."
        ),
        "Rerun: `.venv/bin/python bench/bench_planner_configs.py "
        f"{rerun_arguments(args, parser)}`.",
        "",
        f"| planner | threads | s / action (median) | min | time against `{reference}` |",
        "|---|---|---|---|---|",
    ]
    for name, threads in runs:
        lines.append(
            f"| {name} ({label(configs[name])}) | {threads} | "
            f"{median[(name, threads)]:.3f} | {min(times[(name, threads)]):.3f} | "
            f"**{median[(name, threads)] / median[(reference, threads)]:.2f}** |"
        )
    record = {f"{n} x{t}": times[(n, t)] for n, t in runs}
    lines += ["", "```json", json.dumps({"seconds": record}, indent=1), "```", ""]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines[: 7 + len(runs)]))


if __name__ == "__main__":
    main()
