"""Typed environment configuration (the ``configs/env/*.yaml`` group) and its factory."""

from __future__ import annotations

from dataclasses import dataclass

import gymnasium as gym

from envs import DATA_COLLECTION_MODE, TASKS


@dataclass(frozen=True)
class EnvConfig:
    """How to build one of the registered tasks.

    Attributes:
        id: gymnasium id, e.g. ``"wm_control/Push-v2"`` (see ``envs.TASKS``).
        task: natural-language instruction stored with recorded episodes.
        image_size: side of the square camera images (px), 16..512 (64..256 typical).
        control_hz: control rate (Hz); one action lasts ``1 / control_hz`` s. Integer, as LeRobot
            datasets store an integer fps.
        timestep: physics time step (s); ``1 / (control_hz * timestep)`` must be an integer.
        wrist_camera: also render the wrist camera (``observation["wrist_pixels"]``).
        randomize_colors: randomise table and cube colours and the light intensity per episode.
        max_episode_steps: time limit in control steps; ``None``: the task's default.
        mode: ``"task"`` (evaluation episodes with goal images) or ``"data_collection"`` (random
            scenes and targets for scripted play data; only tasks in ``envs.DATA_COLLECTION_MODE``,
            e.g. OGBench's cube, whose oracles need it).
    """

    id: str
    task: str
    image_size: int = 128
    control_hz: int = 4
    timestep: float = 0.005
    wrist_camera: bool = False
    randomize_colors: bool = False
    max_episode_steps: int | None = None
    mode: str = "task"

    def __post_init__(self) -> None:
        if self.id not in TASKS:
            raise ValueError(f"EnvConfig.id must be one of {list(TASKS)}, found {self.id!r}")
        if not self.task.strip():
            raise ValueError("EnvConfig.task must be a non-empty instruction, found ''")
        if not 16 <= self.image_size <= 512:
            raise ValueError(
                f"EnvConfig.image_size must be in [16, 512] px, found {self.image_size}"
            )
        if not isinstance(self.control_hz, int) or self.control_hz < 1:
            raise ValueError(
                f"EnvConfig.control_hz must be an integer >= 1 Hz, found {self.control_hz!r}"
            )
        if self.max_episode_steps is not None and self.max_episode_steps < 1:
            raise ValueError(
                f"EnvConfig.max_episode_steps must be >= 1 or None, found {self.max_episode_steps}"
            )
        if self.mode not in ("task", "data_collection"):
            raise ValueError(
                f"EnvConfig.mode must be 'task' or 'data_collection', found {self.mode!r}"
            )
        if self.mode != "task" and self.id not in DATA_COLLECTION_MODE:
            raise ValueError(
                f"EnvConfig.mode: {self.id} has no data-collection mode (only "
                f"{sorted(DATA_COLLECTION_MODE)}); use mode='task'"
            )

    @property
    def cameras(self) -> tuple[str, ...]:
        """Rendered cameras, exterior first."""
        return ("exterior", "wrist") if self.wrist_camera else ("exterior",)


def make_env(config: EnvConfig, render_mode: str | None = None) -> gym.Env:
    """``gym.make`` of the configured task (with its time limit)."""
    kwargs = {}
    if config.max_episode_steps is not None:
        kwargs["max_episode_steps"] = config.max_episode_steps
    if config.mode != "task":  # validated: only tasks that have the mode get the argument
        kwargs["mode"] = config.mode
    return gym.make(
        config.id,
        image_size=config.image_size,
        control_hz=float(config.control_hz),
        timestep=config.timestep,
        wrist_camera=config.wrist_camera,
        randomize_colors=config.randomize_colors,
        render_mode=render_mode,
        **kwargs,
    )
