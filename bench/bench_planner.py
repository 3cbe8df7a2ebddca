"""Planner benchmark: time per action at Meta's budgets, overhead over the bare predictor passes,
memory across calls, and the predictor's shortcuts against the plain computation. Everything is
measured side by side in one run.

    .venv/bin/python bench/bench_planner.py [--threads 2] [--actions 5] [--out bench/results/planner.md]

On CPU it uses the tiny reference model (tests/fixtures). When CUDA is present it also measures the
released scale (ViT-g encoder, 24 x 1024 predictor, random weights, bf16) at 800 x 10 x horizon 1.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import psutil
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wm_control import WorldModel, energy  # noqa: E402
from wm_control.models.config import WorldModelConfig  # noqa: E402
from wm_control.models.linear import linear  # noqa: E402
from wm_control.models.presets import encoder_preset, predictor_preset  # noqa: E402
from wm_control.models.rope import RotaryTables  # noqa: E402
from wm_control.planning import ActionSpec, CEMConfig, CEMPlanner, MPCController  # noqa: E402
from wm_control.runtime import tune_cpu_allocator  # noqa: E402
from wm_control.world_model import layer_norm  # noqa: E402

BUDGETS = [  # (name, samples, iterations, horizon, max_step)
    ("paper 800x10 h1", 800, 10, 1, 0.075),
    ("notebook 400x10 h2", 400, 10, 2, 0.05),
]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def observed(model: WorldModel, frame: np.ndarray, state: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoded frame ``[1, 1, N, D]`` and state ``[1, 1, P]`` a plan starts from (shared by all samples)."""
    with torch.no_grad():
        tokens = model.encode(frame)
    return tokens, torch.as_tensor(state, device=model.device, dtype=model.dtype).view(1, 1, -1)


def bare_forward_seconds(model: WorldModel, frame: np.ndarray, state: np.ndarray, samples: int,
                         iterations: int, horizon: int) -> float:
    """The predictor passes a plan must make (iterations rollouts of `samples` + 1 of the plan) and
    the energies, with no sampling or bookkeeping: the floor the planner is compared with."""
    device, dtype = model.device, model.dtype
    tokens0, state0 = observed(model, frame, state)
    goal = tokens0[0, 0]
    with torch.inference_mode():
        actions = torch.zeros(samples, horizon, 7, device=device, dtype=dtype)
        one = actions[:1]
        _sync(device)
        start = time.perf_counter()
        for _ in range(iterations):
            energy(model.rollout(tokens0, state0, actions).tokens, goal)
        energy(model.rollout(tokens0, state0, one).tokens, goal)
        _sync(device)
    return time.perf_counter() - start


def predictor_gflop(model: WorldModel, frame: np.ndarray, state: np.ndarray, samples: int, iterations: int,
                    horizon: int) -> float:
    """Matrix-product GFLOP (linears and attention; 2 per multiply-add) of the passes a plan makes,
    counted by torch's FLOP counter. Counted with gradients enabled, where CPU linears take the
    plain ``F.linear`` the counter knows (the same products as the oneDNN path), and with the
    parameters frozen meanwhile, so that nothing is recorded for a backward pass."""
    device, dtype = model.device, model.dtype
    tokens0, state0 = observed(model, frame, state)
    trainable = [p for p in model.parameters() if p.requires_grad]
    counts = []
    try:
        model.requires_grad_(False)
        for batch in (samples, 1):  # one rollout of all samples, and the plan's own evaluation
            actions = torch.zeros(batch, horizon, 7, device=device, dtype=dtype)
            with torch.enable_grad(), FlopCounterMode(display=False) as counter:
                model.rollout(tokens0, state0, actions)
            counts.append(counter.get_total_flops())
    finally:
        for p in trainable:
            p.requires_grad_(True)
    return (iterations * counts[0] + counts[1]) / 1e9


def gemm_gflops(device: torch.device, dtype: torch.dtype, size: int = 2048, reps: int = 10) -> float:
    """The machine's rate for one large square matrix product through the same linear layer the
    predictor uses (oneDNN on CPU): the ceiling the planner's GFLOP/s is compared with."""
    layer = nn.Linear(size, size, bias=False, device=device, dtype=dtype)
    x = torch.randn(size, size, device=device, dtype=dtype)
    with torch.inference_mode():
        for _ in range(3):
            linear(x, layer)
        _sync(device)
        start = time.perf_counter()
        for _ in range(reps):
            linear(x, layer)
        _sync(device)
    return 2 * size**3 * reps / (time.perf_counter() - start) / 1e9


def plain_step(model: WorldModel, tokens: torch.Tensor, state: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """One imagined step ``[S, 1, N, D]`` computed plainly: every block on every token of every sample
    (the observation repeated per sample, condition-token outputs computed in the last block)."""
    p = model.predictor
    S = actions.shape[0]
    cond = torch.stack([p.action_encoder(actions), p.state_encoder(state.expand(S, -1, -1))], dim=2)  # [S, 1, 2, W]
    frames = linear(tokens, p.predictor_embed).expand(S, -1, -1, -1)  # [S, 1, N, W]
    x = torch.cat([cond, frames], dim=2).flatten(1, 2)  # [S, 2+N, W]
    positions = p._positions(0, 1, 2, *model.grid, x.device).flatten(0, 1)  # [2+N, 3]
    rope = RotaryTables.from_positions(positions, p.config.width // p.config.num_heads, x.dtype)
    for block in p.predictor_blocks:
        x = block(x, rope)
    return layer_norm(linear(p.predictor_norm(x[:, 2:]), p.predictor_proj)).unsqueeze(1)  # [S, 1, N, D]


def shortcut_speedup(model: WorldModel, frame: np.ndarray, state: np.ndarray, samples: int, reps: int) -> dict:
    """One rollout step of ``samples`` actions with the predictor's shortcuts (shared first-block
    projection of the observation, patch-only last block) against :func:`plain_step`, interleaved."""
    device, dtype = model.device, model.dtype
    g = torch.Generator().manual_seed(0)
    tokens, state0 = observed(model, frame, state)
    with torch.inference_mode():
        actions = (torch.randn(samples, 1, 7, generator=g) * 0.05).to(device=device, dtype=dtype)
        runs = {"shortcuts": lambda: model.rollout(tokens, state0, actions).tokens,
                "plain": lambda: plain_step(model, tokens, state0, actions)}
        outputs = {name: run() for name, run in runs.items()}
        for run in 2 * list(runs.values()):  # warm-up
            run()
        times = {name: [] for name in runs}
        for i in range(reps):
            for name, run in sorted(runs.items(), reverse=i % 2 == 1):  # alternate which goes first
                _sync(device)
                start = time.perf_counter()
                run()
                _sync(device)
                times[name].append(time.perf_counter() - start)
    fast, plain = statistics.median(times["shortcuts"]), statistics.median(times["plain"])
    return {"rollout_seconds": fast, "plain_seconds": plain, "speedup": plain / fast,
            "max_abs_difference": (outputs["shortcuts"] - outputs["plain"]).abs().max().item()}


def measure(model: WorldModel, frame: np.ndarray, goal: np.ndarray, state: np.ndarray, samples: int,
            iterations: int, horizon: int, max_step: float, actions: int) -> dict:
    planner = CEMPlanner(CEMConfig(samples=samples, iterations=iterations, elites=10, horizon=horizon))
    controller = MPCController(model, planner, ActionSpec.droid(max_step=max_step))
    controller.set_goal(goal)
    controller.act(frame, state)  # warm-up
    bare_forward_seconds(model, frame, state, samples, iterations, horizon)
    plan_times, bare_times, rss, cuda_peak = [], [], [], []
    process = psutil.Process()
    for _ in range(actions):  # interleaved so that machine noise hits both alike
        if model.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats()
        _sync(model.device)
        start = time.perf_counter()
        controller.act(frame, state)
        _sync(model.device)
        plan_times.append(time.perf_counter() - start)
        if model.device.type == "cuda":
            cuda_peak.append(torch.cuda.max_memory_allocated() / 2**20)
        bare_times.append(bare_forward_seconds(model, frame, state, samples, iterations, horizon))
        gc.collect()
        rss.append(process.memory_info().rss / 2**20)
    plan_s, bare_s = statistics.median(plan_times), statistics.median(bare_times)
    gflop = predictor_gflop(model, frame, state, samples, iterations, horizon)
    result = {
        "seconds_per_action": plan_s,
        "bare_forward_seconds": bare_s,
        "overhead_ratio": plan_s / bare_s,
        "gflop_per_action": gflop,
        "gflops_achieved": gflop / plan_s,
        "rss_mib_first_last": [rss[0], rss[-1]],
    }
    if cuda_peak:
        result["cuda_peak_mib_first_last"] = [cuda_peak[0], cuda_peak[-1]]
    return result


def tiny_reference() -> tuple[WorldModel, np.ndarray, np.ndarray, np.ndarray]:
    fixtures = ROOT / "tests" / "fixtures"
    data = np.load(fixtures / "vjepa2_tiny_official.npz")
    model = WorldModel.from_pretrained(
        fixtures / "vjepa2_tiny_official.pt", encoder_num_heads=4, predictor_num_heads=4, image_size=64
    )
    return model, data["frames"][0, 0], data["frames"][0, 2], data["states"][0, 0]


def released_scale_gpu() -> tuple[WorldModel, np.ndarray, np.ndarray, np.ndarray]:
    encoder = encoder_preset("vit_giant")
    config = WorldModelConfig(encoder=encoder, predictor=predictor_preset("ac_released", encoder))
    with torch.device("cuda"):
        model = WorldModel(config)
    model = model.to(dtype=torch.bfloat16).eval()
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)
    goal = rng.integers(0, 255, (256, 256, 3), dtype=np.uint8)
    return model, frame, goal, np.zeros(7, dtype=np.float32)


def table_row(device: str, model: str, budget: str, r: dict, gemm: float, memory: str) -> str:
    """One markdown row of :func:`measure`'s result ``r`` on a machine whose GEMM rate is ``gemm`` GFLOP/s."""
    return (f"| {device} | {model} | {budget} | {r['seconds_per_action']:.3f} | {r['bare_forward_seconds']:.3f} | "
            f"{r['overhead_ratio']:.2f} | {memory} | {r['gflop_per_action']:.1f} | "
            f"{r['gflops_achieved']:.0f} ({r['gflops_achieved'] / gemm:.0%}) | {r['gflop_per_action'] / gemm:.3f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--actions", type=int, default=5, help="planning calls measured per budget")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "planner.md")
    parser.add_argument("--default-allocator", action="store_true", help="skip tune_cpu_allocator()")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    allocator = "glibc defaults" if args.default_allocator else f"tuned: {tune_cpu_allocator()}"

    rows, raw = [], {}
    model, frame, goal, state = tiny_reference()
    gemm = {"cpu float32": gemm_gflops(torch.device("cpu"), torch.float32)}
    print(f"GEMM rate, CPU float32: {gemm['cpu float32']:.0f} GFLOP/s", flush=True)
    r = shortcut_speedup(model, frame, state, 800, 4 * args.actions + 1)
    raw["cpu tiny shortcuts 800 samples"] = r
    shortcuts = (f"Predictor shortcuts, one rollout step of 800 samples (CPU x{args.threads} threads, median of "
                 f"{4 * args.actions + 1}, interleaved): {r['rollout_seconds'] * 1e3:.1f} ms against "
                 f"{r['plain_seconds'] * 1e3:.1f} ms for the plain computation, **{r['speedup']:.2f}x** "
                 f"(max abs difference {r['max_abs_difference']:.1e}).")
    print(shortcuts, flush=True)
    for name, samples, iterations, horizon, max_step in BUDGETS:
        r = measure(model, frame, goal, state, samples, iterations, horizon, max_step, args.actions)
        raw[f"cpu tiny {name}"] = r
        rss = r["rss_mib_first_last"]
        rows.append(table_row(f"CPU x{args.threads} threads", "tiny reference", name, r, gemm["cpu float32"],
                              f"{rss[0]:.0f} → {rss[1]:.0f} MiB RSS"))
        print(rows[-1], flush=True)
    if torch.cuda.is_available():
        model, frame, goal, state = released_scale_gpu()
        gemm["cuda bfloat16"] = gemm_gflops(model.device, model.dtype, size=8192)
        r = measure(model, frame, goal, state, 800, 10, 1, 0.075, args.actions)
        raw["cuda released-scale paper 800x10 h1"] = r
        peak = r["cuda_peak_mib_first_last"]
        rows.append(table_row(f"{torch.cuda.get_device_name()} bf16", "ViT-g + 24x1024 predictor", "paper 800x10 h1",
                              r, gemm["cuda bfloat16"], f"{peak[0]:.0f} → {peak[1]:.0f} MiB peak"))
        print(rows[-1], flush=True)
    gemm_after = gemm_gflops(torch.device("cpu"), torch.float32)
    raw["gemm_gflops"] = {**gemm, "cpu float32 after the runs": gemm_after}

    header = [
        "# Planner benchmark",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}. "
        f"Median of {args.actions} planning calls; the bare passes are measured interleaved with them. "
        f"Allocator: {allocator}. GEMM rate measured in this run (one square product through the predictor's "
        f"linear layer): " + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in gemm.items())
        + f" (CPU again after the runs: {gemm_after:.0f}; the rows use the first reading).",
        "GFLOP: the matrix products of one plan (CEM iterations + the plan's evaluation), counted by torch's FLOP "
        "counter; the last column is the time they would take at the GEMM rate (the arithmetic limit).",
        "Rerun: `.venv/bin/python bench/bench_planner.py` (add `--threads N`).",
        "",
        "| device | model | budget | s / action | bare predictor passes (s) | overhead ratio "
        "| memory first → last call | GFLOP / action | GFLOP/s (share of GEMM rate) | s at GEMM rate |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = "\n".join(header + rows) + "\n\n" + shortcuts + "\n\n```json\n" + json.dumps(raw, indent=2) + "\n```\n"
    args.out.write_text(text)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
