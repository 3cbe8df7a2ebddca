"""Pictures of an MPC episode: a video of observation | goal with the energy overlaid, and a plot
of energy and distance per step."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from envs.episode import EpisodeResult

VIDEO_SIDE = 256  # px per panel in the video
CAPTION = 28  # px of the caption strip under the panels


def _frame(observation: np.ndarray, goal: np.ndarray, caption: str) -> np.ndarray:
    """[VIDEO_SIDE + CAPTION, 2·VIDEO_SIDE, 3] uint8: observation | goal, caption below."""
    panels = [
        cv2.resize(x, (VIDEO_SIDE, VIDEO_SIDE), interpolation=cv2.INTER_NEAREST)
        for x in (observation, goal)
    ]
    strip = np.zeros((CAPTION, 2 * VIDEO_SIDE, 3), np.uint8)
    cv2.putText(
        strip, caption, (6, 19), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA
    )
    cv2.putText(
        strip,
        "goal",
        (VIDEO_SIDE + 6, 19),
        cv2.FONT_HERSHEY_SIMPLEX,
        0.5,
        (255, 255, 255),
        1,
        cv2.LINE_AA,
    )
    return np.concatenate([np.concatenate(panels, axis=1), strip], axis=0)


def write_episode_video(result: EpisodeResult, path: Path, fps: float = 4.0) -> Path:
    """mp4 with the observation (left) and the goal being planned toward (right) at every step."""
    path = Path(path)
    size = (2 * VIDEO_SIDE, VIDEO_SIDE + CAPTION)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    if not writer.isOpened():
        raise OSError(f"could not open a video writer for {path} (OpenCV without an mp4 encoder?)")
    try:
        for i, frame in enumerate(result.frames):
            record = result.steps[min(i, len(result.steps) - 1)] if result.steps else None
            goal = result.goal_images[record.subgoal if record else 0]
            energy = "" if record is None or record.energy is None else f"  E {record.energy:.4f}"
            text = (
                "start"
                if i == 0 or record is None
                else f"step {record.step + 1}{energy}  {record.distance * 100:.1f} cm"
            )
            writer.write(cv2.cvtColor(_frame(frame, goal, text), cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path


def plot_episode(result: EpisodeResult, path: Path) -> Path:
    """Energy (left axis) and, per step (right axis), the end-effector distance to the pursued
    sub-goal's pose and the task's goal distance (its object, or for Reach the end effector)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [s.step + 1 for s in result.steps]
    fig, ax = plt.subplots(figsize=(7, 3.6))
    ax.plot(
        steps,
        [np.nan if s.energy is None else s.energy for s in result.steps],
        "o-",
        color="tab:blue",
        label="energy",
    )
    ax.set_xlabel("control step")
    ax.set_ylabel("energy (L1 to goal tokens)", color="tab:blue")
    twin = ax.twinx()
    twin.plot(
        steps,
        [s.distance * 100 for s in result.steps],
        "s--",
        color="tab:orange",
        label="end effector to sub-goal pose",
    )
    twin.plot(
        steps,
        [s.goal_distance * 100 for s in result.steps],
        "^:",
        color="tab:green",
        label="task goal distance",
    )
    twin.set_ylabel("distance (cm)")
    lines = ax.get_legend_handles_labels()
    twin_lines = twin.get_legend_handles_labels()
    ax.legend(lines[0] + twin_lines[0], lines[1] + twin_lines[1], fontsize=8, loc="upper right")
    for s in result.steps[1:]:
        if s.subgoal != result.steps[s.step - 1].subgoal:
            ax.axvline(s.step + 0.5, color="grey", linewidth=0.8, linestyle=":")
    ax.set_title(f"{'success' if result.success else 'no success'} after {len(steps)} steps")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return Path(path)
