"""The position-major projection against the sample-major one, alternated in one process.

CPU float32 inference projects the queries, keys and values of 64 or more samples position-major,
with the rotation folded into per-position weights (wm_control/models/position_major.py). This
bench times CEM plans at the paper budget (800 x 10, horizon 1) and the notebook's (400 x 10,
horizon 2) with that path and without it (``MIN_SAMPLES`` raised past every batch), call by call
in alternating order, then single rollouts at several sample counts to show where it starts to
pay. It also prints the largest difference between the two paths' imagined tokens.

    .venv/bin/python bench/bench_position_major.py [--threads 1] [--rounds 12] [--model shipped]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from bench_meta_code import shipped_reference
from bench_planner import tiny_reference

from wm_control import energy
from wm_control.models import position_major
from wm_control.planning import ActionSpec
from wm_control.planning.config import PlannerConfig
from wm_control.runtime import tune_cpu_allocator

ON = position_major.MIN_SAMPLES
OFF = 10**9  # no batch reaches it: the sample-major path everywhere


def alternate(run, rounds: int, on_threshold: int = ON) -> dict[bool, float]:
    """Median seconds of ``run()`` with the position-major path on (True: ``MIN_SAMPLES`` at
    ``on_threshold``) and off (False), alternating which goes first round by round."""
    times: dict[bool, list[float]] = {True: [], False: []}
    for i in range(rounds):
        for on in (True, False) if i % 2 == 0 else (False, True):
            position_major.MIN_SAMPLES = on_threshold if on else OFF
            start = time.perf_counter()
            run()
            times[on].append(time.perf_counter() - start)
    position_major.MIN_SAMPLES = ON
    return {on: statistics.median(t) for on, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=12)
    parser.add_argument("--model", choices=["tiny", "shipped"], default="tiny")
    args = parser.parse_args()
    tune_cpu_allocator()
    torch.set_num_threads(args.threads)
    model, frame, goal_frame, state_array = (
        tiny_reference() if args.model == "tiny" else shipped_reference()
    )
    with torch.inference_mode():
        tokens = model.encode(frame)  # [1, 1, N, D]
        goal = model.encode(goal_frame)[0, 0]  # [N, D]
        state = torch.as_tensor(state_array, dtype=torch.float32).view(1, 1, -1)
    print(f"{args.model} model, CPU x{args.threads} threads, median of {args.rounds}, alternated")
    print("| budget | sample-major s | position-major s | speed-up | max token difference |")
    print("|---|---|---|---|---|")
    for samples, horizon in ((800, 1), (400, 2)):
        config = PlannerConfig(
            samples=samples, iterations=10, elites=10, horizon=horizon, max_step=0.075
        )
        solver, spec = config.planner(), ActionSpec.droid(max_step=0.075)

        def plan() -> None:
            solver.reset()
            with torch.inference_mode():
                solver.plan(
                    lambda a: model.rollout(tokens, state, a).tokens,
                    lambda imagined: energy(imagined, goal),
                    spec,
                    None,
                    model.device,
                )

        actions = (torch.rand(samples, horizon, 7) - 0.5) * 0.15
        with torch.inference_mode():
            position_major.MIN_SAMPLES = OFF
            plain = model.rollout(tokens, state, actions).tokens
            position_major.MIN_SAMPLES = ON
            folded = model.rollout(tokens, state, actions).tokens
        plan()  # warm-up
        t = alternate(plan, args.rounds)
        print(
            f"| {samples} x 10, h{horizon} | {t[False]:.3f} | {t[True]:.3f} | "
            f"**{t[False] / t[True]:.2f}x** | {(plain - folded).abs().max().item():.1e} |"
        )
    print("\nOne rollout (horizon 1) by sample count:\n")
    print("| samples | sample-major ms | position-major ms | speed-up |")
    print("|---|---|---|---|")
    for samples in (32, 64, 96, 128, 256):
        actions = (torch.rand(samples, 1, 7) - 0.5) * 0.15

        def rollout() -> None:
            with torch.inference_mode():
                energy(model.rollout(tokens, state, actions).tokens, goal)

        rollout()
        # the position-major path even below its threshold, to show where it starts to pay
        t = alternate(rollout, 6 * args.rounds, on_threshold=1)
        off, on = 1e3 * t[False], 1e3 * t[True]
        print(f"| {samples} | {off:.2f} | {on:.2f} | {off / on:.2f}x |")


if __name__ == "__main__":
    main()
