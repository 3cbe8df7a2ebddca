"""A goal-image MPC episode in a simulated task: observe → encode → CEM → first action → re-plan.

Works with any gymnasium task whose ``unwrapped`` env offers ``goal_images()`` and
``goal_configurations()`` (the tasks in ``envs``) and whose observations are
``{"pixels": uint8 [H, W, 3], "state": float32 [7]}``. Multi-goal tasks (pick-and-place) follow a
sub-goal schedule: goal ``i`` is planned toward for ``subgoal_steps[i]`` steps, the last one until
the end.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .planning.mpc import MPCController


@dataclass(frozen=True)
class StepRecord:
    """One control step: the sub-goal planned toward, the executed action [7], the plan's energy,
    the end-effector distance to the sub-goal's end-effector position after the step (m), and the
    time spent encoding and planning (s)."""

    step: int
    subgoal: int
    action: np.ndarray
    energy: float
    distance: float
    planning_seconds: float


@dataclass
class EpisodeResult:
    """Outcome of one episode; ``frames`` are the observations before each step plus the last one."""

    success: bool
    steps: list[StepRecord] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)
    goal_images: list[np.ndarray] = field(default_factory=list)
    final_info: dict = field(default_factory=dict)

    @property
    def final_distance(self) -> float:
        return self.steps[-1].distance if self.steps else float("nan")

    @property
    def seconds_per_action(self) -> float:
        return float(np.mean([s.planning_seconds for s in self.steps])) if self.steps else float("nan")


def goal_schedule(goals: int, steps: int, subgoal_steps: Sequence[int] | None) -> list[int]:
    """Index of the goal to plan toward at each of ``steps`` steps."""
    if goals == 1 or not subgoal_steps:
        return [0] * steps
    if len(subgoal_steps) != goals or any(n < 1 for n in subgoal_steps):
        raise ValueError(
            f"subgoal_steps: expected {goals} positive step counts (one per goal image), found {list(subgoal_steps)}"
        )
    schedule = [i for i, n in enumerate(subgoal_steps) for _ in range(n)]
    return (schedule + [goals - 1] * steps)[:steps]


def run_mpc_episode(
    env,
    controller: MPCController,
    *,
    seed: int,
    max_steps: int,
    subgoal_steps: Sequence[int] | None = None,
    goal_images: list[np.ndarray] | None = None,
    on_step: Callable[[StepRecord], None] | None = None,
) -> EpisodeResult:
    """Run receding-horizon control until the task succeeds (on its last goal), ends, or ``max_steps``.

    ``goal_images`` replaces the task's own goal images (distances stay measured to the task's goals).
    """
    obs, info = env.reset(seed=seed)
    task = env.unwrapped
    goals = list(goal_images) if goal_images else task.goal_images()
    positions = [np.asarray(c.state[:3], np.float64) for c in task.goal_configurations()]
    schedule = goal_schedule(len(goals), max_steps, subgoal_steps)
    result = EpisodeResult(success=False, frames=[obs["pixels"]], goal_images=goals)
    current = -1
    for t, g in enumerate(schedule):
        if g != current:
            controller.set_goal(goals[g])
            controller.reset()
            current = g
        decision = controller.act(obs["pixels"], obs["state"])
        obs, _, terminated, truncated, info = env.step(decision.action)
        target = positions[min(g, len(positions) - 1)]
        record = StepRecord(
            step=t, subgoal=g, action=decision.action, energy=decision.energy,
            distance=float(np.linalg.norm(np.asarray(info["ee_position"], np.float64) - target)),
            planning_seconds=decision.planning_seconds,
        )
        result.steps.append(record)
        result.frames.append(obs["pixels"])
        if on_step is not None:
            on_step(record)
        if (info["success"] and g == len(goals) - 1) or terminated or truncated:
            break
    result.success = bool(info["success"])
    result.final_info = info
    return result
