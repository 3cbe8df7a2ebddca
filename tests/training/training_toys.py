"""Helpers for training tests: a tiny learnable LeRobot dataset, tiny world models, fast configs.

The toy: an end effector moves smoothly in x, y (and opens/closes its gripper); the camera frame
shows a bright square at the (x, y) position whose colour follows the gripper, on a background
shaded by z. The next frame is a function of the current frame and the action, so a predictor can
learn it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from wm_control.data.token_cache import TokenCacheConfig
from wm_control.data.trajectories import DatasetConfig
from wm_control.model_source import ModelSource
from wm_control.models.config import EncoderConfig, PredictorConfig, WorldModelConfig
from wm_control.training.config import TrainConfig
from wm_control.training.evaluate import ValidationConfig
from wm_control.training.optim import OptimConfig
from wm_control.world_model import WorldModel

IMAGE = 32
CAMERA = "observation.images.front"


def render(state: np.ndarray, size: int = IMAGE) -> np.ndarray:
    """uint8 [size, size, 3] frame of a 7-D state (x, y in [-0.5, 0.5] place an 8-px square)."""
    frame = np.zeros((size, size, 3), dtype=np.uint8)
    frame[..., 2] = np.uint8(np.clip(80 + 100 * state[2], 0, 255))
    cy = int(np.clip((state[1] + 0.5) * (size - 8), 0, size - 8))
    cx = int(np.clip((state[0] + 0.5) * (size - 8), 0, size - 8))
    frame[cy : cy + 8, cx : cx + 8, 0] = 255
    frame[cy : cy + 8, cx : cx + 8, 1] = np.uint8(255 * state[6])
    return frame


def toy_states(length: int, rng: np.random.Generator) -> np.ndarray:
    """[length, 7] smooth trajectory: xyz random walk with momentum, small yaw, gripper toggles."""
    states = np.zeros((length, 7), dtype=np.float32)
    pos = rng.uniform(-0.4, 0.4, size=3)
    vel = rng.normal(0, 0.04, size=3)
    grip = float(rng.integers(0, 2))
    for t in range(length):
        vel = 0.8 * vel + rng.normal(0, 0.03, size=3)
        pos = np.clip(pos + vel, -0.5, 0.5)
        if rng.random() < 0.05:
            grip = 1.0 - grip
        states[t, :3] = pos
        states[t, 5] = 0.1 * np.sin(t / 5.0)
        states[t, 6] = grip
    return states


def make_dataset(
    root: Path,
    *,
    episodes: int = 4,
    length: int = 40,
    fps: int = 8,
    seed: int = 0,
    repo_id: str = "test/toy_arm",
) -> Path:
    """Write a LeRobot dataset of ``episodes`` episodes of ``length`` rows at ``fps``; returns
    root."""
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    features = {
        CAMERA: {
            "dtype": "video",
            "shape": (IMAGE, IMAGE, 3),
            "names": ["height", "width", "channels"],
        },
        "observation.state": {"dtype": "float32", "shape": (7,), "names": None},
        "action": {"dtype": "float32", "shape": (7,), "names": None},
    }
    ds = LeRobotDataset.create(
        repo_id, fps=fps, features=features, root=root, robot_type="toy", use_videos=True
    )
    rng = np.random.default_rng(seed)
    for _ in range(episodes):
        states = toy_states(length, rng)
        actions = np.concatenate([np.diff(states, axis=0), np.zeros((1, 7), np.float32)])
        for t in range(length):
            ds.add_frame(
                {
                    CAMERA: render(states[t]),
                    "observation.state": states[t],
                    "action": actions[t],
                    "task": "move",
                }
            )
        ds.save_episode()
    ds.finalize()
    return root


def tiny_world_model(seed: int = 0, *, predictor: bool = True) -> WorldModel:
    torch.manual_seed(seed)
    encoder = EncoderConfig(
        width=32, depth=1, num_heads=2, mlp_hidden=64, image_size=(IMAGE, IMAGE)
    )
    pred = PredictorConfig(
        width=32, depth=1, num_heads=2, mlp_hidden=64, encoder_width=32, image_size=(IMAGE, IMAGE)
    )
    return WorldModel(WorldModelConfig(encoder=encoder, predictor=pred if predictor else None))


def toy_config(
    dataset: Path, checkpoint: Path, out: Path, cache: Path, **overrides: object
) -> TrainConfig:
    """A fast training config on the toy dataset (4 Hz, 4-frame clips, 2 rollout steps)."""
    config = TrainConfig(
        data=DatasetConfig(
            repo_id="test/toy_arm", root=str(dataset), camera_key=CAMERA, action_source="states"
        ),
        model=ModelSource(path=str(checkpoint)),
        out_dir=str(out),
        cache=TokenCacheConfig(root=str(cache)),
        optim=OptimConfig(lr=2e-3, start_lr=2e-4, warmup_steps=3, decay_steps=3, grad_clip=1.0),
        validation=ValidationConfig(windows=16, steps=2, random_actions=7, batch_size=8),
        steps=8,
        batch_size=4,
        clip_frames=4,
        rollout_steps=2,
        val_fraction=0.25,
        val_every=1000,
        checkpoint_every=1000,
        log_every=1,
        progress=False,
    )
    return replace(config, **overrides)
