"""How well do an encoder's tokens locate OGBench's cube? A linear probe, encoder against encoder.

A planner can only steer the cube as precisely as the frozen encoder's tokens place it. This
renders frames of OGBench's cube task in data-collection mode (cube and arm drawn anywhere, then
0-2 uniformly random actions), encodes them with each given encoder, and fits a ridge regression
from the flattened tokens ``[N * D]`` to the cube's and the hand's position (metres), choosing the
ridge weight on the held-out frames' error. It prints the mean held-out error (cm) beside the
error of always guessing the training mean. OGBench's success test wants the cube within 4 cm.

    .venv/bin/python bench/probe_cube_tokens.py --models ogbench_cube <encoder or model folder> \\
        [--frames 2000] [--train 1600] [--out bench/results/probe_cube_tokens.md]

A model is a shipped model's name or a checkpoint path (an encoder written by ``wm-control
pretrain`` will do). One thread; 2,000 frames take about 5 minutes to render.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from tqdm import tqdm

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_planner_configs import config_file  # noqa: E402
from envs.config import EnvConfig, make_env  # noqa: E402
from wm_control import WorldModel  # noqa: E402
from wm_control.cli.main import config_dir  # noqa: E402
from wm_control.model_source import ModelSource  # noqa: E402

RIDGE_WEIGHTS = (1.0, 10.0, 100.0, 1e3, 1e4)
"""Ridge penalties tried on standardised token features; the best held-out error is reported."""


def render_frames(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` frames of the OGBench cube task in data-collection mode: uint8 ``[count, S, S,
    3]``, the cube's positions ``[count, 3]`` and the hand's ``[count, 3]`` (m)."""
    path = config_dir() / "env" / "ogbench_cube_single.yaml"
    config = EnvConfig(**OmegaConf.to_container(OmegaConf.load(path)))
    env = make_env(dataclasses.replace(config, mode="data_collection"))
    rng = np.random.default_rng(seed)
    frames, cubes, hands = [], [], []
    try:
        for episode in tqdm(range(count), desc="rendering", unit="frame"):
            observation, info = env.reset(seed=episode)
            for _ in range(int(rng.integers(0, 3))):  # the arm and cube off their reset poses
                action = rng.uniform(-1, 1, 5).astype(np.float32)
                observation, _, _, _, info = env.step(action)
            frames.append(observation["pixels"])
            cubes.append(info["object_position"])
            hands.append(observation["state"][:3])
    finally:
        env.close()
    return np.stack(frames), np.asarray(cubes, np.float64), np.asarray(hands, np.float64)


def load_model(name: str) -> WorldModel:
    """``model=<name>`` as the commands load it (``configs/model/<name>.yaml``), else a path."""
    shipped = (config_dir() / "model" / f"{name}.yaml").is_file()
    return ModelSource.from_dict(config_file("model", name) if shipped else {"path": name}).load(
        ROOT
    )


def token_features(model: WorldModel, frames: np.ndarray, batch: int = 50) -> np.ndarray:
    """Each frame's layer-normed tokens, flattened: ``[F, N * D]``."""
    parts = []
    with torch.inference_mode():
        for start in range(0, len(frames), batch):
            chunk = frames[start : start + batch]  # [B, S, S, 3]
            parts.append(model.encode(chunk).reshape(len(chunk), -1))  # [1, B, N, D] -> [B, N*D]
    return torch.cat(parts).numpy().astype(np.float64)


def ridge_error(features: np.ndarray, targets: np.ndarray, train: int) -> float:
    """Mean Euclidean error (m) on frames ``train:`` of the best ridge regression fitted on frames
    ``:train`` (features standardised on the training frames)."""
    mean, std = features[:train].mean(0), features[:train].std(0) + 1e-6
    x = (features - mean) / std  # [F, K]
    offset = targets[:train].mean(0)
    gram = x[:train].T @ x[:train]  # [K, K]
    right = x[:train].T @ (targets[:train] - offset)  # [K, 3]
    errors = []
    for weight in RIDGE_WEIGHTS:
        w = np.linalg.solve(gram + weight * np.eye(len(gram)), right)  # [K, 3]
        predicted = x[train:] @ w + offset
        errors.append(np.linalg.norm(predicted - targets[train:], axis=1).mean())
    return float(min(errors))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", default=["ogbench_cube"])
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--train", type=int, default=1600, help="frames the probe is fitted on")
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    if not 0 < args.train < args.frames:
        parser.error(f"--train: expected 0 < train < frames ({args.frames}), found {args.train}")
    torch.set_num_threads(1)
    frames, cubes, hands = render_frames(args.frames)
    guess = {
        name: np.linalg.norm(y[args.train :] - y[: args.train].mean(0), axis=1).mean()
        for name, y in (("cube", cubes), ("hand", hands))
    }
    rows = []
    for name in args.models:
        model = load_model(name)
        features = token_features(model, frames)
        cube = ridge_error(features, cubes, args.train)
        hand = ridge_error(features, hands, args.train)
        rows.append(
            f"| {name} | {model.tokens_per_frame} | {100 * cube:.1f} | {100 * hand:.1f} |"
        )
        print(rows[-1], flush=True)
    table = "\n".join(
        [
            f"Linear probe of OGBench cube frames ({args.frames} frames, fitted on "
            f"{args.train}, held-out mean error; guessing the mean: cube "
            f"{100 * guess['cube']:.1f} cm, hand {100 * guess['hand']:.1f} cm).",
            "",
            "| encoder | tokens per frame | cube (cm) | hand (cm) |",
            "|---|---|---|---|",
            *rows,
            "",
        ]
    )
    print(table)
    if args.out is not None:
        args.out.write_text(table)


if __name__ == "__main__":
    main()
