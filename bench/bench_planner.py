"""Planner benchmark: time per action at Meta's budgets, overhead over the bare predictor passes,
memory across calls, the predictor's shortcuts against the plain computation, and every solver
(cem, icem, mppi, gd) against Meta's notebook CEM at equal budget. Everything is measured side by
side in one run.

    .venv/bin/python bench/bench_planner.py [--threads 2] [--actions 5] \\
        [--out bench/results/planner.md]
    .venv/bin/python bench/bench_planner.py --only-solvers --threads 1 --actions 3

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
from wm_control.planning import (  # noqa: E402
    ActionSpec,
    CEMConfig,
    CEMPlanner,
    MPCController,
    Solver,
)
from wm_control.planning.config import PlannerConfig  # noqa: E402
from wm_control.planning.solvers import SOLVERS  # noqa: E402
from wm_control.planning.solvers.gd import energy_and_gradient  # noqa: E402
from wm_control.runtime import tune_cpu_allocator  # noqa: E402
from wm_control.world_model import layer_norm  # noqa: E402

BUDGETS = [  # (name, samples, iterations, horizon, max_step)
    ("paper 800x10 h1", 800, 10, 1, 0.075),
    ("notebook 400x10 h2", 400, 10, 2, 0.05),
]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def observed(
    model: WorldModel, frame: np.ndarray, state: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    """The encoded frame ``[1, 1, N, D]`` and state ``[1, 1, P]`` a plan starts from (shared by all
    samples)."""
    with torch.no_grad():
        tokens = model.encode(frame)
    return tokens, torch.as_tensor(state, device=model.device, dtype=model.dtype).view(1, 1, -1)


def bare_forward_seconds(
    model: WorldModel,
    frame: np.ndarray,
    state: np.ndarray,
    samples: int,
    iterations: int,
    horizon: int,
) -> float:
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


def rollout_profile(
    model: WorldModel,
    frame: np.ndarray,
    state: np.ndarray,
    samples: int,
    horizon: int,
    rows: int = 25,
) -> str:
    """torch.profiler's operator table (the ``rows`` costliest by device time, or CPU time on a
    CPU) of one rollout of ``samples`` and its energies, after a warm-up: where a plan's time
    goes, operator by operator."""
    from torch.profiler import ProfilerActivity, profile

    device, dtype = model.device, model.dtype
    tokens0, state0 = observed(model, frame, state)
    goal = tokens0[0, 0]
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with torch.inference_mode():
        actions = torch.zeros(samples, horizon, 7, device=device, dtype=dtype)
        energy(model.rollout(tokens0, state0, actions).tokens, goal)  # warm-up
        _sync(device)
        with profile(activities=activities) as prof:
            energy(model.rollout(tokens0, state0, actions).tokens, goal)
            _sync(device)
    key = "self_cuda_time_total" if device.type == "cuda" else "self_cpu_time_total"
    return prof.key_averages().table(sort_by=key, row_limit=rows, max_name_column_width=60)


def predictor_gflop(
    model: WorldModel,
    frame: np.ndarray,
    state: np.ndarray,
    samples: int,
    iterations: int,
    horizon: int,
) -> float:
    """Matrix-product GFLOP (linears and attention; 2 per multiply-add) of the passes a plan makes,
    counted by torch's FLOP counter. Counted with gradients enabled, where CPU linears take the
    plain ``F.linear`` the counter knows (the same products as the oneDNN path), and with the
    parameters frozen meanwhile, so that nothing is recorded for a backward pass. Compiled blocks
    are counted eager (the same products)."""
    device, dtype = model.device, model.dtype
    tokens0, state0 = observed(model, frame, state)
    trainable = [p for p in model.parameters() if p.requires_grad]
    compiled = model.compiled_blocks
    counts = []
    try:
        model.requires_grad_(False)
        model.use_compiled_blocks(False)
        for batch in (samples, 1):  # one rollout of all samples, and the plan's own evaluation
            actions = torch.zeros(batch, horizon, 7, device=device, dtype=dtype)
            with torch.enable_grad(), FlopCounterMode(display=False) as counter:
                model.rollout(tokens0, state0, actions)
            counts.append(counter.get_total_flops())
    finally:
        for p in trainable:
            p.requires_grad_(True)
        model.use_compiled_blocks(compiled)
    return (iterations * counts[0] + counts[1]) / 1e9


def gemm_gflops(
    device: torch.device, dtype: torch.dtype, size: int = 2048, reps: int = 10
) -> float:
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


def plain_step(
    model: WorldModel, tokens: torch.Tensor, state: torch.Tensor, actions: torch.Tensor
) -> torch.Tensor:
    """One imagined step ``[S, 1, N, D]`` computed plainly: every block on every token of every
    sample (the observation repeated per sample, condition-token outputs computed in the last
    block)."""
    p = model.predictor
    S = actions.shape[0]
    cond = torch.stack(
        [p.action_encoder(actions), p.state_encoder(state.expand(S, -1, -1))], dim=2
    )  # [S, 1, 2, W]
    frames = linear(tokens, p.predictor_embed).expand(S, -1, -1, -1)  # [S, 1, N, W]
    x = torch.cat([cond, frames], dim=2).flatten(1, 2)  # [S, 2+N, W]
    positions = p._positions(0, 1, 2, *model.grid, x.device).flatten(0, 1)  # [2+N, 3]
    rope = RotaryTables.from_positions(positions, p.config.width // p.config.num_heads, x.dtype)
    for block in p.predictor_blocks:
        x = block(x, rope)
    return layer_norm(linear(p.predictor_norm(x[:, 2:]), p.predictor_proj)).unsqueeze(
        1
    )  # [S, 1, N, D]


def shortcut_speedup(
    model: WorldModel, frame: np.ndarray, state: np.ndarray, samples: int, reps: int
) -> dict:
    """One rollout step of ``samples`` actions with the predictor's shortcuts (shared first-block
    projection of the observation, patch-only last block) against :func:`plain_step`,
    interleaved."""
    device, dtype = model.device, model.dtype
    g = torch.Generator().manual_seed(0)
    tokens, state0 = observed(model, frame, state)
    with torch.inference_mode():
        actions = (torch.randn(samples, 1, 7, generator=g) * 0.05).to(device=device, dtype=dtype)
        runs = {
            "shortcuts": lambda: model.rollout(tokens, state0, actions).tokens,
            "plain": lambda: plain_step(model, tokens, state0, actions),
        }
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
    return {
        "rollout_seconds": fast,
        "plain_seconds": plain,
        "speedup": plain / fast,
        "max_abs_difference": (outputs["shortcuts"] - outputs["plain"]).abs().max().item(),
    }


def measure(
    model: WorldModel,
    frame: np.ndarray,
    goal: np.ndarray,
    state: np.ndarray,
    samples: int,
    iterations: int,
    horizon: int,
    max_step: float,
    actions: int,
) -> dict:
    planner = CEMPlanner(
        CEMConfig(samples=samples, iterations=iterations, elites=10, horizon=horizon)
    )
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


def notebook_rollout(
    model: WorldModel, tokens: torch.Tensor, state: torch.Tensor, actions: torch.Tensor
) -> torch.Tensor:
    """Imagined tokens ``[S, H, N, D]`` computed as Meta's notebook planner does (the reference
    facts: "re-runs the whole sequence for every sample at every iteration with a dense boolean
    mask and no caching"): for every imagined step, the observed frame and the frames imagined so
    far, repeated for every sample, go through every predictor block again under the block-causal
    mask; no key/value cache, no shared observation, all tokens in the last block. The same
    weights and blocks as the project's rollout, so the plans agree."""
    p = model.predictor
    S, H, _ = actions.shape
    frames = tokens.expand(S, 1, -1, -1)  # [S, 1, N, D]
    states = state.expand(S, 1, -1)  # [S, 1, P]
    N = frames.shape[2]
    head_dim = p.config.width // p.config.num_heads
    for h in range(H):
        T = h + 1
        cond = torch.stack(
            [p.action_encoder(actions[:, :T]), p.state_encoder(states)], dim=2
        )  # [S, T, 2, W]
        x = torch.cat([cond, p.predictor_embed(frames)], dim=2).flatten(1, 2)  # [S, T·(2+N), W]
        positions = p._positions(0, T, 2, *model.grid, x.device).flatten(0, 1)  # [T·(2+N), 3]
        rope = RotaryTables.from_positions(positions, head_dim, x.dtype)
        mask = p._mask(0, T, 2 + N, x.device)
        for block in p.predictor_blocks:
            x = block(x, rope, mask)
        last = x.unflatten(1, (T, 2 + N))[:, -1, 2:]  # [S, N, W]
        out = layer_norm(p.predictor_proj(p.predictor_norm(last)))  # [S, N, D]
        frames = torch.cat([frames, out.unsqueeze(1)], dim=1)  # [S, T+1, N, D]
        states = torch.cat(
            [states, model.layout.integrate(states[:, -1], actions[:, h]).unsqueeze(1)], dim=1
        )
    return frames[:, 1:]


def solver_plan(
    model: WorldModel,
    solver: Solver,
    spec: ActionSpec,
    frame: np.ndarray,
    goal: torch.Tensor,
    state: np.ndarray,
    notebook: bool = False,
):
    """One planning call as the controller makes it (encode the frame, plan), from a restarted
    random stream; ``notebook``: with :func:`notebook_rollout` instead of the project's rollout."""
    solver.reset()
    with torch.inference_mode(not solver.differentiable):
        tokens0 = model.encode(frame)  # [1, 1, N, D]
        state0 = torch.as_tensor(state, device=model.device, dtype=model.dtype).view(1, 1, -1)

        def rollout_fn(actions):  # [S, H, A] -> [S, H, N, D]
            if notebook:
                return notebook_rollout(model, tokens0, state0, actions.to(model.dtype))
            return model.rollout(tokens0, state0, actions.to(model.dtype)).tokens

        return solver.plan(
            rollout_fn, lambda imagined: energy(imagined, goal).float(), spec, None, model.device
        )


def solver_gflop(
    model: WorldModel,
    solver: Solver,
    spec: ActionSpec,
    frame: np.ndarray,
    goal: torch.Tensor,
    state: np.ndarray,
    notebook: bool = False,
) -> float:
    """Matrix-product GFLOP of one planning call (forward and, for gd, backward passes), counted
    by torch's FLOP counter on one iteration's batch and scaled by the iterations (+ the plan)."""
    cfg = solver.config
    tokens0, state0 = observed(model, frame, state)
    trainable = [p for p in model.parameters() if p.requires_grad]
    t = spec.tensors(model.device)

    def rollout_fn(actions):
        if notebook:
            return notebook_rollout(model, tokens0, state0, actions.to(model.dtype))
        return model.rollout(tokens0, state0, actions.to(model.dtype)).tokens

    def energy_fn(imagined):
        return energy(imagined, goal).float()

    counts = []
    try:
        model.requires_grad_(False)
        for batch in (cfg.samples, 1):
            u = torch.zeros(batch, cfg.horizon, spec.dim, device=model.device)
            with FlopCounterMode(display=False) as counter:
                if solver.differentiable and batch > 1:
                    energy_and_gradient(rollout_fn, energy_fn, t, u)
                else:
                    with (
                        torch.enable_grad()
                    ):  # the counter sees CPU linears as F.linear with grad on
                        energy_fn(rollout_fn(u))
            counts.append(counter.get_total_flops())
    finally:
        for p in trainable:
            p.requires_grad_(True)
    return (cfg.iterations * counts[0] + counts[1]) / 1e9


def compare_solvers(
    model: WorldModel,
    frame: np.ndarray,
    goal_frame: np.ndarray,
    state: np.ndarray,
    samples: int,
    iterations: int,
    horizon: int,
    max_step: float,
    actions: int,
    gemm: float,
) -> dict:
    """Seconds per action of Meta's notebook CEM and of every solver at the same budget (samples ×
    iterations; gd: starts × Adam steps), measured in alternating order, round after round, so
    that machine noise hits all alike; the notebook CEM's plan is checked against ours."""
    spec = ActionSpec.droid(max_step=max_step)
    goal = model.encode(goal_frame)[0, 0]
    base = PlannerConfig(
        samples=samples, iterations=iterations, elites=10, horizon=horizon, max_step=max_step
    )
    entries = {"meta notebook cem": (base.planner(), True)}
    for name in SOLVERS:
        entries[name] = (PlannerConfig(**{**base.to_dict(), "solver": name}).planner(), False)
    ours = solver_plan(model, entries["cem"][0], spec, frame, goal, state)
    meta = solver_plan(
        model, entries["meta notebook cem"][0], spec, frame, goal, state, notebook=True
    )
    agreement = {
        "max_abs_action_difference": (ours.actions - meta.actions).abs().max().item(),
        "energies": [ours.energy, meta.energy],
    }
    times: dict[str, list[float]] = {name: [] for name in entries}
    for name, (solver, notebook) in entries.items():  # warm-up
        solver_plan(model, solver, spec, frame, goal, state, notebook)
    for i in range(actions):
        order = list(entries.items())
        for name, (solver, notebook) in order if i % 2 == 0 else order[::-1]:
            _sync(model.device)
            start = time.perf_counter()
            result = solver_plan(model, solver, spec, frame, goal, state, notebook)
            _sync(model.device)
            times[name].append(time.perf_counter() - start)
            times.setdefault(f"{name} energy", []).append(result.energy)
    meta_s = statistics.median(times["meta notebook cem"])
    rows = {}
    for name, (solver, notebook) in entries.items():
        seconds = statistics.median(times[name])
        gflop = solver_gflop(model, solver, spec, frame, goal, state, notebook)
        rows[name] = {
            "seconds_per_action": seconds,
            "all_seconds": times[name],
            "speedup_over_meta": meta_s / seconds,
            "gflop_per_action": gflop,
            "gflops_achieved": gflop / seconds,
            "share_of_gemm_rate": gflop / seconds / gemm,
            "plan_energy": times[f"{name} energy"][0],
        }
    return {
        "budget": f"{samples}x{iterations} h{horizon}",
        "rows": rows,
        "plan_agreement": agreement,
    }


def solver_table(device: str, result: dict) -> list[str]:
    lines = []
    for name, r in result["rows"].items():
        lines.append(
            f"| {device} | {result['budget']} | {name} | {r['seconds_per_action']:.3f} | "
            f"**{r['speedup_over_meta']:.2f}x** | {r['gflop_per_action']:.1f} | "
            f"{r['gflops_achieved']:.0f} ({r['share_of_gemm_rate']:.0%}) | {r['plan_energy']:.4f} |"
        )
    return lines


def tiny_reference() -> tuple[WorldModel, np.ndarray, np.ndarray, np.ndarray]:
    fixtures = ROOT / "tests" / "fixtures"
    data = np.load(fixtures / "vjepa2_tiny_official.npz")
    model = WorldModel.from_pretrained(
        fixtures / "vjepa2_tiny_official.pt",
        encoder_num_heads=4,
        predictor_num_heads=4,
        image_size=64,
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
    """One markdown row of :func:`measure`'s result ``r`` on a machine whose GEMM rate is ``gemm``
    GFLOP/s."""
    return (
        f"| {device} | {model} | {budget} | {r['seconds_per_action']:.3f} | "
        f"{r['bare_forward_seconds']:.3f} | {r['overhead_ratio']:.2f} | {memory} | "
        f"{r['gflop_per_action']:.1f} | {r['gflops_achieved']:.0f} "
        f"({r['gflops_achieved'] / gemm:.0%}) | {r['gflop_per_action'] / gemm:.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--actions", type=int, default=5, help="planning calls measured per budget")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "planner.md")
    parser.add_argument(
        "--solvers-out", type=Path, default=ROOT / "bench" / "results" / "planner_solvers.md"
    )
    parser.add_argument(
        "--default-allocator", action="store_true", help="skip tune_cpu_allocator()"
    )
    parser.add_argument(
        "--only-solvers", action="store_true", help="only the solvers against Meta's notebook CEM"
    )
    parser.add_argument(
        "--quick", action="store_true", help="solvers at 80 x 3 only (a smoke test of the bench)"
    )
    parser.add_argument(
        "--only-gpu", action="store_true", help="only the released-scale row on the CUDA device"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="add torch.profiler's operator table of one 800-sample rollout to each model's rows",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="also measure the CUDA row with compiled blocks (model.compile=true)",
    )
    args = parser.parse_args()
    if args.only_gpu and not torch.cuda.is_available():
        raise SystemExit("bench_planner: --only-gpu asked for, but torch sees no CUDA device")
    torch.set_num_threads(args.threads)
    allocator = "glibc defaults" if args.default_allocator else f"tuned: {tune_cpu_allocator()}"
    model, frame, goal, state = tiny_reference()
    if not args.only_solvers:
        main_budgets(args, allocator, model, frame, goal, state)
    if not args.only_gpu:
        main_solvers(args, allocator, model, frame, goal, state)


def main_solvers(
    args, allocator: str, model: WorldModel, frame: np.ndarray, goal: np.ndarray, state: np.ndarray
) -> None:
    """Every solver against Meta's notebook CEM at the paper's and the notebook's budgets."""
    gemm = gemm_gflops(torch.device("cpu"), torch.float32)
    print(f"GEMM rate, CPU float32: {gemm:.0f} GFLOP/s", flush=True)
    device = f"CPU x{args.threads} threads"
    results, rows = [], []
    budgets = [("quick", 80, 3, 2, 0.05)] if args.quick else BUDGETS
    for _, samples, iterations, horizon, max_step in budgets:
        result = compare_solvers(
            model, frame, goal, state, samples, iterations, horizon, max_step, args.actions, gemm
        )
        results.append(result)
        rows += solver_table(device, result)
        print("\n".join(solver_table(device, result)), flush=True)
        agreement = result["plan_agreement"]
        print(
            f"plan agreement ({result['budget']}): max |ours - meta| = "
            f"{agreement['max_abs_action_difference']:.1e}",
            flush=True,
        )
    gemm_after = gemm_gflops(torch.device("cpu"), torch.float32)
    header = [
        "# Solvers against Meta's notebook CEM",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__}, shared with other jobs (run under `nice`). Allocator: {allocator}. "
        f"Tiny reference model (tests/fixtures). Median of {args.actions} planning calls (encode + "
        "plan) per row, the rows of a budget measured in alternating order round after round. GEMM "
        f"rate in this run: {gemm:.0f} GFLOP/s before, {gemm_after:.0f} after (the share column "
        "uses the first).",
        "Meta's notebook CEM: CEM (the same update, seed and plan as ours) over a rollout computed "
        "as Meta's notebook does: the whole sequence re-run for every sample at every imagined "
        "step under a dense block-causal mask, no cache, no shared observation "
        "(`notebook_rollout`). Equal budget: samples x iterations (gd: starts x Adam steps, each "
        "step a forward and a backward pass).",
        "Rerun: `nice .venv/bin/python bench/bench_planner.py --only-solvers --threads "
        f"{args.threads} --actions {args.actions}`.",
        "",
        "| device | budget | solver | s / action | speed-up over Meta's notebook CEM "
        "| GFLOP / action | GFLOP/s (share of GEMM rate) | plan energy |",
        "|---|---|---|---|---|---|---|---|",
    ]
    args.solvers_out.parent.mkdir(parents=True, exist_ok=True)
    raw = {"gemm_gflops": [gemm, gemm_after], "results": results}
    text = "\n".join(header + rows) + "\n\n```json\n" + json.dumps(raw, indent=2) + "\n```\n"
    args.solvers_out.write_text(text)
    print(f"written: {args.solvers_out}")


def main_budgets(
    args, allocator: str, model: WorldModel, frame: np.ndarray, goal: np.ndarray, state: np.ndarray
) -> None:
    """CEM at Meta's budgets against the bare predictor passes; the predictor's shortcuts."""
    rows, raw = [], {}
    gemm = {"cpu float32": gemm_gflops(torch.device("cpu"), torch.float32)}
    print(f"GEMM rate, CPU float32: {gemm['cpu float32']:.0f} GFLOP/s", flush=True)
    shortcuts = ""
    profiles: dict[str, str] = {}
    if not args.only_gpu:  # the CPU rows: shortcuts, (profile,) Meta's budgets
        r = shortcut_speedup(model, frame, state, 800, 4 * args.actions + 1)
        raw["cpu tiny shortcuts 800 samples"] = r
        shortcuts = (
            f"Predictor shortcuts, one rollout step of 800 samples (CPU x{args.threads} threads, "
            f"median of {4 * args.actions + 1}, interleaved): {r['rollout_seconds'] * 1e3:.1f} ms "
            f"against {r['plain_seconds'] * 1e3:.1f} ms for the plain computation, "
            f"**{r['speedup']:.2f}x** (max abs difference {r['max_abs_difference']:.1e})."
        )
        print(shortcuts, flush=True)
        if args.profile:
            title = f"CPU x{args.threads} threads, tiny reference, one rollout of 800 samples, h1"
            profiles[title] = rollout_profile(model, frame, state, 800, 1)
        for name, samples, iterations, horizon, max_step in BUDGETS:
            r = measure(
                model, frame, goal, state, samples, iterations, horizon, max_step, args.actions
            )
            raw[f"cpu tiny {name}"] = r
            rss = r["rss_mib_first_last"]
            rows.append(
                table_row(
                    f"CPU x{args.threads} threads",
                    "tiny reference",
                    name,
                    r,
                    gemm["cpu float32"],
                    f"{rss[0]:.0f} → {rss[1]:.0f} MiB RSS",
                )
            )
            print(rows[-1], flush=True)
    if torch.cuda.is_available():
        model, frame, goal, state = released_scale_gpu()
        gemm["cuda bfloat16"] = gemm_gflops(model.device, model.dtype, size=8192)
        for compiled in (False, True) if args.compile else (False,):
            model.use_compiled_blocks(compiled)
            suffix = ", compiled" if compiled else ""
            r = measure(model, frame, goal, state, 800, 10, 1, 0.075, args.actions)
            raw[f"cuda released-scale paper 800x10 h1{suffix}"] = r
            peak = r["cuda_peak_mib_first_last"]
            rows.append(
                table_row(
                    f"{torch.cuda.get_device_name()} bf16{suffix}",
                    "ViT-g + 24x1024 predictor",
                    "paper 800x10 h1",
                    r,
                    gemm["cuda bfloat16"],
                    f"{peak[0]:.0f} → {peak[1]:.0f} MiB peak",
                )
            )
            print(rows[-1], flush=True)
            if args.profile:
                title = f"cuda released-scale{suffix}, one rollout of 800 samples, h1"
                profiles[title] = rollout_profile(model, frame, state, 800, 1)
    gemm_after = gemm_gflops(torch.device("cpu"), torch.float32)
    raw["gemm_gflops"] = {**gemm, "cpu float32 after the runs": gemm_after}

    header = [
        "# Planner benchmark",
        "",
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
        f"{torch.__version__}. Median of {args.actions} planning calls; the bare passes are "
        f"measured interleaved with them. Allocator: {allocator}. GEMM rate measured in this run "
        "(one square product through the predictor's linear layer): "
        + ", ".join(f"{k} {v:.0f} GFLOP/s" for k, v in gemm.items())
        + f" (CPU again after the runs: {gemm_after:.0f}; the rows use the first reading).",
        "GFLOP: the matrix products of one plan (CEM iterations + the plan's evaluation), counted "
        "by torch's FLOP counter; the last column is the time they would take at the GEMM rate "
        "(the arithmetic limit).",
        "Rerun: `.venv/bin/python bench/bench_planner.py` (add `--threads N`; `--only-gpu` for "
        "the CUDA row alone, `--compile` for it also with compiled blocks).",
        "",
        "| device | model | budget | s / action | bare predictor passes (s) | overhead ratio "
        "| memory first → last call | GFLOP / action | GFLOP/s (share of GEMM rate) "
        "| s at GEMM rate |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    text = (
        "\n".join(header + rows)
        + "\n\n"
        + shortcuts
        + "".join(f"\n\n{title}:\n\n```\n{table}\n```" for title, table in profiles.items())
        + "\n\n```json\n"
        + json.dumps(raw, indent=2)
        + "\n```\n"
    )
    args.out.write_text(text)
    print(f"written: {args.out}")


if __name__ == "__main__":
    main()
