"""The policy protocol and the episode runner, one of each for the whole stack.

Everything that acts in a task is a :class:`Policy`: the scripted experts and the random
exploration of :mod:`envs.experts`, OGBench's oracle and random agents (:mod:`envs.ogbench_agents`),
and the library's agents (the goal-image MPC agent of ``wm_control.episode``, behaviour cloning).
:func:`run_episode` plays any of them in a task for the experts' success rates, the evaluation
harness, ``wm-control plan`` and the tests; the recorder of ``wm_control.data.recording`` drives
the same protocol. Both live here, in ``envs``, because ``envs`` and ``wm_control`` both need them
and ``envs`` must not import ``wm_control``.

Tasks are those of ``envs`` (:class:`envs.task.Task`): observations
``{"pixels": uint8 [H, W, 3], "state": float32 [P]}``, ``info`` with ``success``,
``ee_position`` and ``goal_distance``, and ``unwrapped.goal_images()`` /
``unwrapped.goal_configurations()`` after ``reset``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import gymnasium as gym
import numpy as np

BlockPolicy = Callable[[dict[str, Any]], np.ndarray]
"""A closed-loop policy for one action block: ``raw_info -> action``, called by a task with action
blocks (the OGBench adapter's :meth:`~envs.ogbench_cube.OGBenchCubeEnv.step_block`) before each of
its own control steps in the block."""


class Policy(Protocol):
    """What the episode runner, the recorder and the evaluation harness need from a policy.

    ``reset(seed)`` starts an episode; it is called right after ``env.reset(seed=seed)``, so the
    episode's goals are known. Then ``policy(observation, info)`` is called once per step with the
    last observation and ``info`` (of ``reset`` or ``step``) and returns either

    * the action, float32 ``[A]`` in the task's action layout (``env.step`` clips it), or
    * a :data:`BlockPolicy`, for a task with action blocks: the task calls it before each of its
      own control steps in the block, closed loop (OGBench's oracles and stable-worldmodel's
      random policy act so, :mod:`envs.ogbench_agents`; only :func:`run_episode` plays these).

    :func:`run_episode` also reads three optional attributes, when a policy has them: ``goals``
    (the goal images it pursues; default the task's), ``subgoal`` (index of the goal pursued by
    the last call; default the last goal) and ``last_energy`` (the energy of the last call's plan;
    default None, for policies that do not plan).
    """

    def reset(self, seed: int | None = None) -> None: ...

    def __call__(
        self, observation: dict[str, np.ndarray], info: dict[str, Any]
    ) -> np.ndarray | BlockPolicy: ...


@dataclass(frozen=True)
class StepRecord:
    """One control step: the sub-goal pursued, the executed action [A], the plan's energy (None for
    policies that do not plan), after the step the end-effector distance to that sub-goal's
    end-effector position (m) and the task's ``goal_distance`` (m: its object, or for Reach the end
    effector, to where the final goal image shows it), and the policy's decision time (s)."""

    step: int
    subgoal: int
    action: np.ndarray
    energy: float | None
    distance: float
    goal_distance: float
    planning_seconds: float


@dataclass
class EpisodeResult:
    """Outcome of one episode; ``frames`` are the observations before each step and the last."""

    success: bool
    steps: list[StepRecord] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)
    goal_images: list[np.ndarray] = field(default_factory=list)
    final_info: dict = field(default_factory=dict)

    @property
    def final_goal_distance(self) -> float:
        """The task's goal distance after the last step (m, 3-D; success may judge a part of it)."""
        return self.steps[-1].goal_distance if self.steps else float("nan")

    @property
    def final_ee_distance(self) -> float:
        """End-effector distance to the last pursued sub-goal's end-effector position (m)."""
        return self.steps[-1].distance if self.steps else float("nan")

    @property
    def seconds_per_action(self) -> float:
        """Mean decision time of the policy per step (s)."""
        if not self.steps:
            return float("nan")
        return float(np.mean([s.planning_seconds for s in self.steps]))


def run_episode(
    env: gym.Env,
    policy: Policy,
    *,
    seed: int,
    max_steps: int | None = None,
    stop_at_success: bool = True,
    on_step: Callable[[StepRecord], None] | None = None,
) -> EpisodeResult:
    """Play one episode of ``policy`` in ``env`` from ``env.reset(seed=seed)``.

    The episode stops when it ends (terminated or truncated), after ``max_steps`` steps (None: the
    episode's time limit, ``env.spec.max_episode_steps``) or, with ``stop_at_success``, at the
    task's first success. ``success`` is the task's success after the last step played; with
    ``stop_at_success=False`` that is its success at the time limit, so a policy that reaches the
    goal and then leaves it fails (the experts' success rates are judged so).

    A policy that returns a closed-loop :data:`BlockPolicy` steps ``env.unwrapped.step_block``,
    which the wrappers (the time limit among them) do not see: ``max_steps`` bounds those
    episodes; the step records the block's executed mean action (``info["executed_action"]``).
    ``on_step`` sees each step's record as it is made.
    """
    if max_steps is None:
        max_steps = env.spec.max_episode_steps if env.spec is not None else None
        if max_steps is None:
            raise ValueError("run_episode: the environment has no time limit; pass max_steps")
    obs, info = env.reset(seed=seed)
    policy.reset(seed)
    task = env.unwrapped
    # end-effector position [3] (m) of each goal configuration, in temporal order
    positions = [np.asarray(c.state[:3], np.float64) for c in task.goal_configurations()]
    result = EpisodeResult(
        success=False,
        frames=[obs["pixels"]],
        goal_images=getattr(policy, "goals", None) or task.goal_images(),
    )
    for t in range(max_steps):
        started = time.perf_counter()
        action = policy(obs, info)
        seconds = time.perf_counter() - started
        subgoal = getattr(policy, "subgoal", len(positions) - 1)
        if callable(action):  # closed loop within the block: the task's own control steps
            obs, _, terminated, truncated, info = task.step_block(action)
            action = np.asarray(info["executed_action"], dtype=np.float32)  # [A]
        else:
            action = np.asarray(action, dtype=np.float32)  # [A]
            obs, _, terminated, truncated, info = env.step(action)
        target = positions[min(max(subgoal, 0), len(positions) - 1)]  # [3]
        ee = np.asarray(info["ee_position"], np.float64)  # [3]
        record = StepRecord(
            step=t,
            subgoal=subgoal,
            action=action,
            energy=getattr(policy, "last_energy", None),
            distance=float(np.linalg.norm(ee - target)),
            goal_distance=float(info["goal_distance"]),
            planning_seconds=seconds,
        )
        result.steps.append(record)
        result.frames.append(obs["pixels"])
        if on_step is not None:
            on_step(record)
        if (stop_at_success and info["success"]) or terminated or truncated:
            break
    result.success = bool(info["success"])
    result.final_info = info
    return result
