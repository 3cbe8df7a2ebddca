"""Training throughput with the token cache vs re-encoding frames every batch, and peak memory.

Both modes run the same training step (teacher-forcing + rollout L1 through ``predict``/``rollout``,
AdamW) on the same windows of a synthetic LeRobot dataset; they differ only in where the tokens come
from: the memory-mapped token cache, or ``WorldModel.encode`` on the window's frames (already
decoded and held in RAM: the most favourable case for re-encoding, so the ratio is a lower bound).
Each (model, mode) runs in its own process so that peak memory (max RSS; CUDA: max allocated) is
its own. Side by side in one run, since shared machines are noisy.

    .venv/bin/python bench/bench_training.py            # writes bench/results/training.{md,json}
    .venv/bin/python bench/bench_training.py --quick    # fewer steps, one model pair
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from wm_control.data.token_cache import TokenCacheConfig, open_token_cache  # noqa: E402
from wm_control.data.trajectories import DatasetConfig, TrajectoryReader  # noqa: E402
from wm_control.models.config import EncoderConfig, WorldModelConfig  # noqa: E402
from wm_control.models.presets import encoder_preset, predictor_preset  # noqa: E402
from wm_control.training.batches import Batch, read_batch  # noqa: E402
from wm_control.training.losses import PredictorLoss  # noqa: E402
from wm_control.training.optim import OptimConfig, build_optimizer  # noqa: E402
from wm_control.world_model import WorldModel  # noqa: E402

CAMERA = "observation.images.front"
# (encoder preset[@input size], predictor preset): small pairs, and a large frozen encoder with a
# small fresh predictor (the main use of the cache); ViT-L runs at 64 px to fit a CPU budget.
PAIRS = [("vit_small", "ac_mini"), ("vit_small", "ac_tiny"), ("vit_large@64", "ac_small")]
CLIP, BATCH = 8, 4


def make_dataset(root: Path, size: int, episodes: int = 3, length: int = 48) -> Path:
    """A LeRobot dataset at 4 Hz: a square moving with the end effector over a shaded background."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = {
        CAMERA: {
            "dtype": "video",
            "shape": (size, size, 3),
            "names": ["height", "width", "channels"],
        },
        "observation.state": {"dtype": "float32", "shape": (7,), "names": None},
        "action": {"dtype": "float32", "shape": (7,), "names": None},
    }
    ds = LeRobotDataset.create(
        "bench/toy", fps=4, features=features, root=root, robot_type="toy", use_videos=True
    )
    rng = np.random.default_rng(0)
    for _ in range(episodes):
        states = np.cumsum(rng.normal(0, 0.03, size=(length, 7)), axis=0).astype(np.float32)
        states[:, 6] = (states[:, 6] > 0).astype(np.float32)
        for t in range(length):
            frame = np.full((size, size, 3), 60, dtype=np.uint8)
            cy, cx = (
                np.clip((states[t, :2] + 0.5) * (size - size // 4), 0, size - size // 4)
            ).astype(int)
            frame[cy : cy + size // 4, cx : cx + size // 4] = (255, int(255 * states[t, 6]), 0)
            ds.add_frame(
                {
                    CAMERA: frame,
                    "observation.state": states[t],
                    "action": np.zeros(7, np.float32),
                    "task": "t",
                }
            )
        ds.save_episode()
    ds.finalize()
    return root


def worker(
    dataset: Path, cache_root: Path, encoder: str, predictor: str, mode: str, steps: int
) -> dict[str, float]:
    """Time ``steps`` training steps in ``mode`` ("cached" or "reencode") after 2 warm-up steps."""
    torch.manual_seed(0)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    enc = encoder_config(encoder)
    wm = WorldModel(WorldModelConfig(encoder=enc, predictor=predictor_preset(predictor, enc))).to(
        device
    )
    data = DatasetConfig(
        repo_id="bench/toy", root=str(dataset), camera_key=CAMERA, action_source="states"
    )
    opened = time.perf_counter()
    cache = open_token_cache(wm, data, TokenCacheConfig(root=str(cache_root)), progress=False)
    cache_seconds = time.perf_counter() - opened
    frames = None
    if mode == "reencode":
        reader = TrajectoryReader(data)
        frames = np.concatenate(
            [reader.read(e).frames for e in reader.episode_indices]
        )  # [F, H, W, 3]
    starts = cache.window_starts(CLIP)
    loss_fn = PredictorLoss(wm, rollout_steps=2)
    optimizer = build_optimizer(wm.predictor, OptimConfig())
    rng = np.random.default_rng(0)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def step() -> None:
        picked = np.sort(rng.choice(starts, BATCH, replace=False))
        batch = read_batch(cache, picked, CLIP, device)
        if frames is not None:
            rows = picked[:, None] + np.arange(CLIP)
            tokens = wm.encode(frames[rows])  # [B, T, N, D], the encoder runs on every batch
            batch = Batch(tokens=tokens, states=batch.states, actions=batch.actions)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = loss_fn(batch.tokens, batch.states, batch.actions)[0]
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for _ in range(2):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    elapsed = time.perf_counter() - started
    peak = (
        torch.cuda.max_memory_allocated()
        if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    )
    return {
        "steps_per_s": steps / elapsed,
        "peak_mib": peak / 2**20,
        "device": device.type,
        "tokens_per_frame": wm.tokens_per_frame,
        "threads": torch.get_num_threads(),
        "cache_seconds": cache_seconds,
        "frames": int(cache.tokens.shape[0]),
    }


def encoder_config(spec: str) -> EncoderConfig:
    """``"name"`` or ``"name@size"`` → the preset's encoder config (at that input size)."""
    name, _, size = spec.partition("@")
    return encoder_preset(name, image_size=int(size) if size else None)


def run_worker(args: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--worker", *args], capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise RuntimeError(f"benchmark worker {args} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument(
        "--worker", nargs=6, metavar=("DATASET", "CACHE", "ENCODER", "PREDICTOR", "MODE", "STEPS")
    )
    args = parser.parse_args()
    if args.worker:
        dataset, cache, encoder, predictor, mode, steps = args.worker
        print(json.dumps(worker(Path(dataset), Path(cache), encoder, predictor, mode, int(steps))))
        return
    pairs = PAIRS[:1] if args.quick else PAIRS
    steps = 4 if args.quick else args.steps
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        sizes = {encoder_config(e).image_size[0] for e, _ in pairs}
        datasets = {s: make_dataset(Path(tmp) / f"ds{s}", s) for s in sizes}
        for encoder, predictor in pairs:
            dataset = datasets[encoder_config(encoder).image_size[0]]
            common = [str(dataset), str(Path(tmp) / "cache"), encoder, predictor]
            build = run_worker([*common, "cached", "1"])  # builds the cache outside the timed runs
            cached = run_worker([*common, "cached", str(steps)])
            reencode = run_worker([*common, "reencode", str(steps)])
            row = {
                "encoder": encoder,
                "predictor": predictor,
                "cached": cached,
                "reencode": reencode,
                "ratio": cached["steps_per_s"] / reencode["steps_per_s"],
                "cache_build_s": build["cache_seconds"],
                "frames": build["frames"],
            }
            results.append(row)
            print(
                f"{encoder}+{predictor}: cached {cached['steps_per_s']:.2f} steps/s, re-encode "
                f"{reencode['steps_per_s']:.2f} steps/s, ratio {row['ratio']:.1f}x",
                flush=True,
            )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "training.json").write_text(json.dumps(results, indent=1))
    (args.out / "training.md").write_text(report(results, steps, args.quick))


def report(results: list[dict], steps: int, quick: bool) -> str:
    first = results[0]["cached"]
    lines = [
        "## Training: token cache vs re-encoding every batch",
        "",
        f"Rerun: `.venv/bin/python bench/bench_training.py{' --quick' if quick else ''}` (device: "
        f"{first['device']}, {first['threads']} threads; batch {BATCH} clips of {CLIP} frames, 2 "
        f"rollout steps, {steps} timed steps after 2 warm-up steps; random weights of the "
        "presets).",
        "",
        "| encoder | predictor | tokens/frame | cached steps/s | re-encode steps/s | ratio "
        "| peak MiB cached | peak MiB re-encode | cache build (frames) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        c, e = r["cached"], r["reencode"]
        lines.append(
            f"| {r['encoder']} | {r['predictor']} | {c['tokens_per_frame']} | "
            f"{c['steps_per_s']:.2f} | {e['steps_per_s']:.2f} | {r['ratio']:.1f}x | "
            f"{c['peak_mib']:.0f} | {e['peak_mib']:.0f} | {r['cache_build_s']:.1f} s "
            f"({r['frames']}) |"
        )
    lines += [
        "",
        (
            "Re-encoding here starts from frames already decoded in RAM; a real pixel pipeline "
            "also decodes video"
        ),
        (
            "every batch, so the measured ratio is a lower bound. The ratio is (encoder + "
            "predictor step) over the"
        ),
        (
            "predictor step, so it depends on the pair: a large frozen encoder under a small fresh "
            "predictor gains"
        ),
        (
            "far more than 10x; comparable sizes gain a few x. For the released recipe (ViT-g 1B "
            "encoder at 256 px,"
        ),
        (
            "300M predictor, 8-frame clips) a FLOP count gives about 2x (encoder forward ~4e12 vs "
            "predictor"
        ),
        (
            "forward+backward ~4e12 FLOPs per clip) before counting video decoding, which the "
            "cache also removes."
        ),
        (
            "Peak memory is the process's max RSS on CPU (includes the Python/torch baseline) or "
            "max allocated on CUDA."
        ),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
