"""Inputs of `plan` and `landscape`: a simulated task (``env``), or an observation image, a goal
image and a state from the config (the reference clip shipped with the tests when not given)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from ..images import read_rgb_image

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_CLIP = REPO_ROOT / "tests" / "fixtures" / "vjepa2_tiny_official.npz"


def uses_images(cfg: DictConfig) -> bool:
    """True when the command works from images: an ``observation`` is given or the env group was
    removed (``'~env'``); otherwise it runs in the task ``cfg.env``."""
    return cfg.get("env") is None or cfg.observation is not None


def seven_numbers(name: str, values) -> np.ndarray:
    """A config list as float32 ``[7]`` (a state or an action), or a clear error."""
    array = np.asarray(list(values), dtype=np.float32)
    if array.shape != (7,):
        raise ValueError(f"{name}: expected 7 numbers [x, y, z, roll, pitch, yaw, gripper], found {array.tolist()}")
    return array


def image_inputs(cfg: DictConfig, reference_goal_frame: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(observation uint8 [H, W, 3], goal uint8 [H, W, 3], state [7]) from ``cfg.observation``,
    ``cfg.goal`` and ``cfg.state``; missing ones from the reference clip (frame 0, frame
    ``reference_goal_frame`` and state 0 of its first clip)."""
    reference = np.load(REFERENCE_CLIP) if None in (cfg.observation, cfg.goal, cfg.state) else None
    observation = read_rgb_image(cfg.observation) if cfg.observation else reference["frames"][0, 0]
    goal = read_rgb_image(cfg.goal) if cfg.goal else reference["frames"][0, reference_goal_frame]
    state = seven_numbers("state", cfg.state) if cfg.state is not None else reference["states"][0, 0]
    return observation, goal, state
