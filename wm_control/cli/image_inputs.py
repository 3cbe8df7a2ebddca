"""Inputs of `plan` and `landscape`: a simulated task (``env``), or an observation image, a goal
image and a state from the config.

Observation, goal and state belong together (the goal is planned toward from the observation,
taken with the arm in that state): either all three are given, or none, and then the command
runs on the reference clip shipped with the tests (the documented demo with ``'~env'``). A
partial set is refused rather than completed from a clip of another scene.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from ..images import check_image_size, read_rgb_image

REPO_ROOT = Path(__file__).resolve().parents[2]
REFERENCE_CLIP = REPO_ROOT / "tests" / "fixtures" / "vjepa2_tiny_official.npz"
IMAGE_INPUTS = ("observation", "goal", "state")
STATE_LAYOUT = "[x, y, z, roll, pitch, yaw, gripper]"


def uses_images(cfg: DictConfig) -> bool:
    """True when the command works from images: an ``observation`` is given or the env group was
    removed (``'~env'``); otherwise it runs in the task ``cfg.env``, whose state comes from the
    simulation, so a ``state`` given with a task is refused."""
    if cfg.get("env") is None or cfg.observation is not None:
        return True
    if cfg.state is not None:
        raise ValueError(
            "state: used only with observation=<image> (in a task the state comes from the "
            "simulation); give observation= and goal= too, or leave state out"
        )
    return False


def seven_numbers(name: str, values: object) -> np.ndarray:
    """A config list as float32 ``[7]`` (a state or an action), or a clear error."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValueError(f"{name}: expected a list of 7 numbers {STATE_LAYOUT}, found {values!r}")
    try:
        array = np.asarray(list(values), dtype=np.float32)
    except (TypeError, ValueError):
        found = list(values)
        raise ValueError(f"{name}: expected 7 numbers {STATE_LAYOUT}, found {found!r}") from None
    if array.shape != (7,) or not np.isfinite(array).all():
        raise ValueError(
            f"{name}: expected 7 finite numbers {STATE_LAYOUT}, found {array.tolist()}"
        )
    return array


def image_inputs(
    cfg: DictConfig, reference_goal_frame: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(observation uint8 [H, W, 3], goal uint8 [H, W, 3], state [7]) from ``cfg.observation``,
    ``cfg.goal`` and ``cfg.state``, all three given; with none given, frame 0, frame
    ``reference_goal_frame`` and state 0 of the reference clip's first episode."""
    given = [name for name in IMAGE_INPUTS if cfg[name] is not None]
    if not given:
        reference = np.load(REFERENCE_CLIP)
        frames = reference["frames"][0]  # [T, H, W, 3]
        return frames[0], frames[reference_goal_frame], reference["states"][0, 0]
    missing = [name for name in IMAGE_INPUTS if name not in given]
    if missing:
        raise ValueError(
            f"{' and '.join(missing)} missing: observation=<image>, goal=<image> and "
            f"state={STATE_LAYOUT} go together (the arm's state when the observation was taken); "
            f"found only "
            f"{', '.join(given)}. Give all three, or none for the reference demo ('~env')"
        )
    state = seven_numbers("state", cfg.state)
    return read_rgb_image(cfg.observation), read_rgb_image(cfg.goal), state


def check_image_inputs(
    observation: np.ndarray, goal: np.ndarray, model_size: tuple[int, int]
) -> None:
    """Refuse an observation or goal image too small for the model's input (see
    :func:`wm_control.images.check_image_size`)."""
    check_image_size(observation, "observation", model_size)
    check_image_size(goal, "goal", model_size)
