"""Reach: bring the end effector to a goal position."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.base import ArmEnv
from envs.goals import Configuration
from envs.scene import SceneSpec


class ReachEnv(ArmEnv):
    """Move the gripper's tool centre point to a goal position above the table.

    ## Description
    A 7-DoF Panda-like arm with a parallel-jaw gripper stands on a table (no objects). The goal
    is a point in the workspace shown by the goal image: the arm with its end effector at the
    goal, top-down, gripper open.

    ## Action Space
    ``Box(-b, b, (7,), float32)`` with ``b = [0.075]*3 + [0.25]*3 + [1]``:
    ``[dx, dy, dz, droll, dpitch, dyaw, dgripper]`` (see :mod:`envs.base` for the convention).

    ## Observation Space
    ``Dict(pixels=Box(0, 255, (S, S, 3), uint8), state=Box(STATE_LOW, STATE_HIGH, (7,),
    float32))`` plus ``wrist_pixels`` when ``wrist_camera=True``;
    ``state = [x, y, z, roll, pitch, yaw, gripper]``.

    ## Rewards
    ``reward = distance + success_bonus`` with ``distance = -|ee - goal|`` (m) and
    ``success_bonus = 1`` on success; the terms are in ``info["reward_terms"]``.

    ## Starting State
    End effector top-down at a uniform position in ``[0.38, 0.52] x [-0.12, 0.12] x [0.2, 0.3]`` m
    with yaw in ``[-0.3, 0.3]`` rad, gripper open; goal uniform in
    ``[0.35, 0.65] x [-0.25, 0.25] x [0.05, 0.35]`` m (at least 0.1 m from the start).

    ## Episode End
    Success: ``|ee - goal| < 0.03`` m. Truncated after ``max_episode_steps`` (default 30);
    terminates on success only with ``terminate_on_success=True``.

    ## Arguments
    ``gym.make("wm_control/Reach-v2", image_size=128, control_hz=4.0, timestep=0.005,
    wrist_camera=False, randomize_colors=False, max_translation=0.075, max_rotation=0.25,
    terminate_on_success=False, render_mode=None, max_episode_steps=30)``.
    """

    scene_spec = SceneSpec(cube=False)
    success_threshold = 0.03

    def _sample_task(self, rng: np.random.Generator) -> None:
        start = self.data.site(self._ee_site).xpos.copy()
        while True:
            goal = rng.uniform([0.35, -0.25, 0.05], [0.65, 0.25, 0.35])
            if np.linalg.norm(goal - start) >= 0.1:
                break
        self._goal = goal

    def _goal_configurations(self) -> list[Configuration]:
        return [self._ik_configuration(self._goal, 0.0, 0.0, {})]

    def _evaluate(self) -> tuple[dict[str, float], dict[str, float], bool]:
        distance = float(np.linalg.norm(self.data.site(self._ee_site).xpos - self._goal))
        success = distance < self.success_threshold
        terms = {"distance": -distance, "success_bonus": float(success)}
        return terms, {"ee_to_goal": distance}, success

    def _task_info(self) -> dict[str, Any]:
        return {"goal_position": self._goal.astype(np.float32)}
