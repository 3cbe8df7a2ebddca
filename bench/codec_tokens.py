"""What LeRobot's video compression does to a world model's tokens, on small frames.

Two recordings of the same episodes (same task, policy and seeds), one stored as LeRobot's default
AV1 video (CRF 30, 4:2:0 chroma) and one as lossless PNG images (``wm-control collect
frames=png``), are read back through the project's dataset reader, which is what training's token
cache reads, and encoded by a model's encoder. For the first ``--episodes`` episodes it prints:

- the mean absolute pixel error of the decoded video (0-255);
- the mean absolute token error between the two (the L1 of the planning energy,
  :func:`wm_control.energies.energy`, in the same units as a predictor's ``val/tf_l1``);
- for scale, the same L1 between consecutive clean frames (what 1 step of motion moves);
- the video's pixel error on the strongly coloured pixels alone (in the OGBench cube task, the red
  cube: about 4 x 4 pixels of a 64 px frame), to show what the halved chroma resolution does to a
  small coloured object.

    .venv/bin/python bench/codec_tokens.py --video runs/ogbench_cube/data/play \\
        --png runs/ogbench_png/data/play [--model ogbench_cube] [--episodes 5]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_planner_configs import model_preset  # noqa: E402
from wm_control.data.trajectories import DatasetConfig, TrajectoryReader  # noqa: E402
from wm_control.model_source import ModelSource  # noqa: E402

CAMERA = "observation.images.exterior"


def open_reader(root: Path) -> TrajectoryReader:
    """The dataset at ``root`` as training reads it (frames ``[T, H, W, 3]`` uint8, states)."""
    return TrajectoryReader(
        DatasetConfig(repo_id="local/codec", root=str(root), camera_key=CAMERA, layout="ogbench")
    )


def coloured(frames: np.ndarray, threshold: int = 60) -> np.ndarray:
    """Mask ``[T, H, W]`` of strongly coloured pixels (the cube): channel spread above
    ``threshold``."""
    wide = frames.astype(np.int16)
    return (wide.max(-1) - wide.min(-1)) > threshold


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--video", type=Path, required=True, help="the AV1 recording")
    parser.add_argument("--png", type=Path, required=True, help="the lossless recording")
    parser.add_argument("--model", default="ogbench_cube", help="configs/model/<name>.yaml")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = ModelSource.from_dict(model_preset(args.model)).load(ROOT)
    video_reader, png_reader = open_reader(args.video), open_reader(args.png)
    pixel, token, motion, cube_pixel = [], [], [], []
    for episode in range(args.episodes):
        recorded, lossless = video_reader.read(episode), png_reader.read(episode)
        video, states_v = recorded.frames, recorded.states
        clean, states_p = lossless.frames, lossless.states
        if video.shape != clean.shape or not np.allclose(states_v, states_p, atol=1e-5):
            raise SystemExit(
                f"episode {episode}: the two recordings differ in more than their frames "
                f"(frames {video.shape} vs {clean.shape}); record both with the same task, "
                f"policy and seed"
            )
        pixel.append(np.abs(video.astype(np.float64) - clean).mean())
        mask = coloured(clean)
        cube_pixel.append(np.abs(video.astype(np.float64) - clean)[mask].mean())
        with torch.inference_mode():
            t_video, t_clean = model.encode(video)[0], model.encode(clean)[0]  # [T, N, D]
        token.append((t_video - t_clean).abs().mean().item())
        motion.append((t_clean[1:] - t_clean[:-1]).abs().mean().item())
    rows = [
        "| quantity | mean over episodes |",
        "|---|---|",
        f"| pixel error of the video, all pixels (0-255) | {np.mean(pixel):.2f} |",
        f"| pixel error of the video, coloured (cube) pixels | {np.mean(cube_pixel):.2f} |",
        f"| token L1, video vs lossless | {np.mean(token):.4f} |",
        f"| token L1, consecutive lossless frames (one step of motion) | {np.mean(motion):.4f} |",
    ]
    table = "\n".join(rows)
    header = (
        f"Model `{args.model}`, episodes 0-{args.episodes - 1} of `{args.video}` (AV1) and "
        f"`{args.png}` (PNG), {len(clean)} frames each. Coloured pixels: channel spread above 60 "
        f"(the red cube, about 30 of 4,096 per frame, and a few pixels of the arm).\n\n"
    )
    print(header + table)
    if args.out is not None:
        args.out.write_text(header + table + "\n")


if __name__ == "__main__":
    main()
