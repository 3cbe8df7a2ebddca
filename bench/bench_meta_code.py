"""The project's planner against Meta's own notebook planner code, side by side in one process.

Meta's code is not part of this project; the bench imports it from a checkout of
facebookresearch/vjepa2 (its ``notebooks/utils`` planner and ``src/models`` predictor, which need
``timm`` and ``scipy``):

    git clone https://github.com/facebookresearch/vjepa2 ../vjepa2 && pip install timm
    .venv/bin/python bench/bench_meta_code.py --meta-repo ../vjepa2 [--threads N] [--actions 5]

Both planners run on the same weights (the tiny reference model of tests/fixtures, saved by Meta's
code; with ``--scale shipped`` the shipped default model, 64 tokens per frame, on a frame of
Reach), from the same encoded frame, state and goal, at the same budgets, measured in alternating
order round after round. Meta's planner is its notebook wrapper's ``infer_next_action`` (CEM over
its predictor, with its pose integration); ours is ``planner.solver=cem`` through the one rollout,
in float32 like Meta's, and in bfloat16 (``model.dtype=bfloat16``; fast on CPUs with AVX512-BF16 or
AMX, slow elsewhere). At the paper budget, ``planner=fast`` (configs/planner/fast.yaml) runs beside
them too: the time Meta's code spends on its budget against the time the fast configuration spends.
Each plan's energy is recomputed with the project's rollout, so the two plans are compared on
one scale. The random streams differ, so the plans are close but not identical.

On a GPU (``--device cuda``) the same comparison runs with both planners on the GPU, and
``--scale released`` replaces the tiny model by the released configuration (ViT-g encoder, 24 x
1024 predictor) with random weights, Meta's predictor loaded with the same weights as ours. At
that scale both run in bfloat16: ours with bfloat16 weights, Meta's float32 predictor under
``torch.autocast`` (how Meta's apps run it); float32 at that scale is not timed. ``--compile`` also
times each of our planners with compiled blocks (``model.compile=true``); the table's last column
is each planner's first call, which includes the compilation.
"""

from __future__ import annotations

import argparse
import copy
import json
import logging
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
from bench_planner import ROOT, _sync, gemm_gflops, released_scale_gpu, tiny_reference
from bench_planner_configs import model_preset, observations, planner_config

from wm_control import WorldModel, energy
from wm_control.model_source import ModelSource
from wm_control.planning import ActionSpec
from wm_control.planning.config import PlannerConfig
from wm_control.runtime import default_threads, tune_cpu_allocator

BUDGETS = [  # (name, samples, iterations, horizon, max_step)
    ("paper 800x10 h1", 800, 10, 1, 0.075),
    ("notebook 400x10 h2", 400, 10, 2, 0.05),
]


def meta_planner(
    repo: Path, model: WorldModel, samples: int, iterations: int, horizon: int, max_step: float
):
    """Meta's notebook world-model wrapper around Meta's AC predictor, loaded with our model's
    predictor weights (the keys are Meta's), in float32 on our model's device, configured with
    the budget (momenta 0.15 on every dimension, top-10)."""
    sys.path.insert(0, str(repo))
    try:
        from notebooks.utils.world_model_wrapper import WorldModel as MetaWrapper
        from src.models.ac_predictor import vit_ac_predictor
    except ImportError as error:
        raise SystemExit(
            f"bench_meta_code: expected a checkout of facebookresearch/vjepa2 at {repo} with its "
            f"requirements (timm, scipy) installed; import failed: {error}"
        ) from error
    logging.getLogger().setLevel(logging.WARNING)  # its CEM logs every iteration at INFO
    cfg = model.config.predictor
    predictor = vit_ac_predictor(
        img_size=tuple(cfg.image_size),
        patch_size=cfg.patch_size,
        num_frames=2 * (horizon + 1),
        tubelet_size=2,
        embed_dim=cfg.encoder_width,
        predictor_embed_dim=cfg.width,
        depth=cfg.depth,
        num_heads=cfg.num_heads,
        action_embed_dim=cfg.action_dim,
        use_extrinsics=False,
        is_frame_causal=True,
        use_rope=True,
    )
    predictor.load_state_dict(model.predictor.state_dict(), strict=True)
    predictor.to(model.device).eval()
    mpc_args = {
        "rollout": horizon,
        "samples": samples,
        "topk": 10,
        "cem_steps": iterations,
        "momentum_mean": 0.15,
        "momentum_std": 0.15,
        "momentum_mean_gripper": 0.15,
        "momentum_std_gripper": 0.15,
        "maxnorm": max_step,
        "verbose": False,
    }
    return MetaWrapper(
        encoder=None,
        predictor=predictor,
        tokens_per_frame=model.tokens_per_frame,
        transform=None,
        mpc_args=mpc_args,
        device=str(model.device),
    )


def shipped_reference() -> tuple[WorldModel, np.ndarray, np.ndarray, np.ndarray]:
    """The shipped default model (float32, CPU) with the first frame, final goal image and state of
    Reach, seed 0."""
    (first,) = observations(["reach"], 1, 0)
    model = ModelSource.from_dict(model_preset("sim_default")).load(ROOT)
    return model.to("cpu", torch.float32), first["frame"], first["goal"], first["state"]


def plan_energy(model: WorldModel, tokens, state, goal, actions: torch.Tensor) -> float:
    """The energy of ``actions [H, 7]`` under the project's rollout (one scale for both plans)."""
    imagined = model.rollout(tokens, state, actions.view(1, -1, 7).to(model.device, model.dtype))
    return float(energy(imagined.tokens, goal)[0])


def compare(
    model: WorldModel,
    repo: Path,
    frame,
    goal_frame,
    state_array,
    budget,
    rounds: int,
    float32: bool = True,
    compiled: bool = False,
):
    """Meta's planner and ours at one budget, timed in alternating order. ``float32=False`` (the
    released scale): ``model`` is bfloat16 and Meta's predictor runs under bfloat16 autocast.
    ``compiled``: each of our planners also runs with compiled blocks (``model.compile=true``)."""
    name, samples, iterations, horizon, max_step = budget
    meta = meta_planner(repo, model, samples, iterations, horizon, max_step)
    config = PlannerConfig(
        samples=samples, iterations=iterations, elites=10, horizon=horizon, max_step=max_step
    )
    solver = config.planner()
    spec = ActionSpec.droid(max_step=max_step)
    with torch.inference_mode():
        tokens = model.encode(frame)  # [1, 1, N, D]
        goal = model.encode(goal_frame)[0, 0]  # [N, D]
        state = torch.as_tensor(state_array, dtype=model.dtype, device=model.device)
        state = state.view(1, 1, -1)  # [1, 1, 7]
    autocast = torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=not float32)

    def our_planner(m: WorldModel, solver=solver, compiled: bool = False):
        """Our planner (CEM at the budget, or another solver) over model ``m`` (float32 or
        bfloat16), from the shared observation, with eager or compiled blocks."""
        start, state0, goal0 = tokens.to(m.dtype), state.to(m.dtype), goal.to(m.dtype)

        def plan() -> torch.Tensor:
            m.use_compiled_blocks(compiled)
            solver.reset()
            with torch.inference_mode():
                result = solver.plan(
                    lambda a: m.rollout(start, state0, a.to(m.dtype)).tokens,
                    lambda imagined: energy(imagined, goal0),
                    spec,
                    None,
                    m.device,
                )
            return result.actions.float()  # [H, 7]

        return plan

    def theirs():
        torch.manual_seed(0)
        start, state0, goal0 = tokens.float(), state.float(), goal.float()
        with torch.no_grad(), autocast:
            return meta.infer_next_action(start, state0, goal0.view(1, 1, *goal.shape))[0]  # [H, 7]

    if float32:  # label -> (model, solver)
        bf16 = copy.deepcopy(model).to(dtype=torch.bfloat16)
        ours = {"wm-control cem": (model, solver), "wm-control cem, bf16": (bf16, solver)}
    else:  # the released scale runs in bfloat16 only
        ours = {"wm-control cem, bf16": (model, solver)}
    if name.startswith("paper"):  # the fast configuration against Meta's paper budget
        fast_config = planner_config("fast")
        label = (
            f"wm-control planner=fast ({fast_config.solver} {fast_config.samples}x"
            f"{fast_config.iterations})"
        )
        ours[label] = (model, fast_config.planner())
    runs = {"meta's notebook code": theirs}
    runs.update({label: our_planner(m, sol) for label, (m, sol) in ours.items()})
    if compiled:
        runs.update(
            {f"{label}, compiled": our_planner(m, sol, True) for label, (m, sol) in ours.items()}
        )
    plans, first_call = {}, {}
    for label, fn in runs.items():  # the warm-up (and, compiled, the compilation)
        _sync(model.device)
        start = time.perf_counter()
        plans[label] = fn()
        _sync(model.device)
        first_call[label] = time.perf_counter() - start
    times: dict[str, list[float]] = {label: [] for label in runs}
    for i in range(rounds):
        for label, fn in list(runs.items())[:: 1 if i % 2 == 0 else -1]:
            _sync(model.device)
            start = time.perf_counter()
            fn()
            _sync(model.device)
            times[label].append(time.perf_counter() - start)
    with torch.inference_mode():
        energies = {label: plan_energy(model, tokens, state, goal, p) for label, p in plans.items()}
    meta_s = statistics.median(times["meta's notebook code"])
    return {
        "budget": name,
        "rows": {
            label: {
                "seconds_per_action": statistics.median(times[label]),
                "all_seconds": times[label],
                "speedup_over_meta": meta_s / statistics.median(times[label]),
                "first_call_seconds": first_call[label],
                "plan": plans[label].tolist(),
                "plan_energy": energies[label],
            }
            for label in runs
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--meta-repo", type=Path, required=True, help="a checkout of facebookresearch/vjepa2"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=None,
        help="torch threads for both planners (default: one per physical core, what wm-control's "
        "threads=null gives; Meta's code would take one per logical CPU)",
    )
    parser.add_argument("--actions", type=int, default=5, help="planning calls timed per planner")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "meta_code.md")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--scale",
        choices=["tiny", "shipped", "released"],
        default="tiny",
        help="tiny reference weights, the shipped default model (model=sim_default) on a Reach "
        "frame, or the released configuration with random weights (cuda)",
    )
    parser.add_argument(
        "--compile",
        action="store_true",
        help="also time each of our planners with compiled blocks (model.compile=true)",
    )
    args = parser.parse_args()
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("bench_meta_code: --device cuda asked for, but torch sees no CUDA device")
    if args.scale == "released" and args.device != "cuda":
        raise SystemExit("bench_meta_code: --scale released needs --device cuda (bfloat16 ViT-g)")
    args.threads = args.threads or default_threads()
    torch.set_num_threads(args.threads)
    allocator = tune_cpu_allocator()
    device = torch.device(args.device)
    if args.scale == "released":
        model, frame, goal_frame, state = released_scale_gpu()
        weights = "the released configuration's shapes (ViT-g, 24 x 1024) with random weights"
    elif args.scale == "shipped":
        model, frame, goal_frame, state = shipped_reference()
        model = model.to(device)
        weights = "the shipped default model's weights (model=sim_default, 64 tokens per frame)"
    else:
        model, frame, goal_frame, state = tiny_reference()
        model = model.to(device)
        weights = "the tiny reference weights"
    float32 = args.scale != "released"  # the released scale runs in bfloat16
    dtype = torch.float32 if float32 else torch.bfloat16
    gemm = gemm_gflops(device, dtype, size=2048 if args.device == "cpu" else 8192)
    results = [
        compare(
            model,
            args.meta_repo,
            frame,
            goal_frame,
            state,
            budget,
            args.actions,
            float32,
            args.compile,
        )
        for budget in BUDGETS
    ]
    where = (
        f"CPU x{args.threads} threads"
        if args.device == "cpu"
        else f"{torch.cuda.get_device_name()} (CUDA {torch.version.cuda})"
    )
    lines = [
        "# The planner against Meta's own notebook code",
        "",
        (
            f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, torch "
            f"{torch.__version__}, {where}, {str(dtype).removeprefix('torch.')} GEMM rate "
            f"{gemm:.0f} GFLOP/s, allocator tuned: {allocator}. Median of {args.actions} planning "
            "calls per row, alternating order."
        ),
        (
            "Meta's planner: `notebooks/utils/world_model_wrapper.WorldModel.infer_next_action` "
            f"of facebookresearch/vjepa2 over its `vit_ac_predictor`, loaded with {weights}"
            + ("" if float32 else ", run under bfloat16 autocast")
            + ". Energy: each plan's energy under the project's rollout."
        ),
        (
            "Rerun (with timm installed): `.venv/bin/python bench/bench_meta_code.py --meta-repo "
            f"<vjepa2 checkout> --threads {args.threads} --actions {args.actions} --device "
            f"{args.device} --scale {args.scale}" + (" --compile`." if args.compile else "`.")
        ),
        "",
        "| budget | planner | s / action | speed-up over Meta's code | plan energy "
        "| first call s |",
        "|---|---|---|---|---|---|",
    ]
    for result in results:
        for label, row in result["rows"].items():
            lines.append(
                f"| {result['budget']} | {label} | {row['seconds_per_action']:.3f} | "
                f"**{row['speedup_over_meta']:.2f}x** | {row['plan_energy']:.4f} | "
                f"{row['first_call_seconds']:.1f} |"
            )
    lines += [
        "",
        "```json",
        json.dumps({"gemm_gflops": gemm, "device": where, "results": results}, indent=2),
        "```",
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines))
    print("\n".join(lines[: lines.index("```json")]))


if __name__ == "__main__":
    main()
