"""Goal images and sub-goal sequences of the planner (pure numpy + Pillow, no ROS).

A pick-and-place task is given as a sequence of goal images (e.g. gripper at the object, object
lifted, object at the target). The planner works on one sub-goal at a time and moves to the next
after ``steps_per_goal`` control steps, or once the camera sees the sub-goal: the observed energy
(the current frame's distance to the goal image in the encoder's token space) stayed below a
threshold for a number of consecutive control steps. Reaching the last one ends the sequence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image as PILImage
from PIL import UnidentifiedImageError


class GoalError(ValueError):
    """A goal image that cannot be used (unreadable file, wrong shape or dtype, empty)."""


def check_goal_frame(frame: np.ndarray, source: str) -> np.ndarray:
    """A goal frame as ``uint8 [H, W, 3]`` (contiguous); raises GoalError otherwise."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3 or frame.size == 0:
        raise GoalError(
            f"goal image {source}: expected uint8 [H, W, 3] (non-empty), found "
            f"{frame.dtype} {list(frame.shape)}"
        )
    return np.ascontiguousarray(frame)


def load_goal_image(path: str | Path) -> np.ndarray:
    """Image file (PNG, JPEG, ...) -> ``uint8 [H, W, 3]`` RGB; raises GoalError naming the file."""
    path = Path(path)
    if not path.is_file():
        raise GoalError(
            f"goal image file: expected an existing file, found no file at {str(path)!r}"
        )
    try:
        with PILImage.open(path) as image:
            frame = np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError) as error:
        raise GoalError(
            f"goal image file {str(path)!r}: expected a readable image, found: {error}"
        ) from error
    return check_goal_frame(frame, repr(str(path)))


@dataclass
class GoalSequence:
    """The current sub-goal sequence (mutable; the planner node guards it with its lock).

    images: goal frames uint8 [H, W, 3]; index: the active sub-goal; steps_on_goal: control steps
    spent on it; steps_below: consecutive steps with the observed energy below the threshold;
    version: incremented whenever the active goal image changes.
    """

    images: list[np.ndarray] = field(default_factory=list)
    index: int = 0
    steps_on_goal: int = 0
    steps_below: int = 0
    version: int = 0

    def replace(self, images: list[np.ndarray]) -> None:
        """A new sequence, starting at its first sub-goal."""
        self.images = list(images)
        self.restart()

    def restart(self) -> None:
        """Back to the first sub-goal."""
        self.index = 0
        self.steps_on_goal = self.steps_below = 0
        self.version += 1

    @property
    def current(self) -> np.ndarray | None:
        return self.images[self.index] if self.images else None

    def after_step(
        self,
        observed_energy: float,
        steps_per_goal: int,
        energy_threshold: float,
        energy_steps: int = 1,
    ) -> str:
        """Count one control step; returns "continue", "next" (moved on) or "done" (last one
        reached).

        A sub-goal is reached after ``steps_per_goal`` steps on it, or when ``observed_energy`` was
        below ``energy_threshold`` for ``energy_steps`` consecutive steps. ``steps_per_goal == 0``
        and ``energy_threshold == 0`` disable the respective criterion.
        """
        if energy_steps < 1:
            raise ValueError(f"energy_steps: expected >= 1, found {energy_steps}")
        self.steps_on_goal += 1
        below = energy_threshold > 0.0 and observed_energy < energy_threshold
        self.steps_below = self.steps_below + 1 if below else 0
        reached = self.steps_below >= energy_steps or (
            steps_per_goal > 0 and self.steps_on_goal >= steps_per_goal
        )
        if not reached:
            return "continue"
        if self.index + 1 < len(self.images):
            self.index += 1
            self.steps_on_goal = self.steps_below = 0
            self.version += 1
            return "next"
        return "done"
