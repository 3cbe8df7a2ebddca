"""PickPlace: pick a cube and place it in a target zone, with three sub-goal images."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.goals import Configuration
from envs.grasp import LIFT_HEIGHT, GraspEnv
from envs.objects import cube_pose, grasp_yaw
from envs.scene import CUBE_HALF_SIZE, TARGET_HALF_SIZE, SceneSpec

RELEASE_CLEARANCE = 0.1
"""Height (m) of the open gripper above the placed cube in the final goal configuration."""


class PickPlaceEnv(GraspEnv):
    """Pick a 50 mm cube and place it in a square target zone on the table.

    ## Description
    The arm, a free cube and a flat green 90 mm target square. As V-JEPA 2-AC plans
    pick-and-place with sub-goals, :meth:`goal_images` returns five images: the three grasp
    sub-goals of :class:`envs.grasp.GraspEnv` (open jaws above the cube, around it, closed on it),
    the cube carried above the target, and the final scene (cube in the target, gripper open 0.1 m
    above it). A planner pursues them for ``subgoal_steps = (6, 3, 2, 10, 29)`` control steps by
    default.

    ## Action Space
    ``Box(-b, b, (7,), float32)`` with ``b = [0.075]*3 + [0.25]*3 + [1]``:
    ``[dx, dy, dz, droll, dpitch, dyaw, dgripper]`` (see :mod:`envs.base`).

    ## Observation Space
    ``Dict(pixels=Box(0, 255, (S, S, 3), uint8), state=Box(STATE_LOW, STATE_HIGH, (7,),
    float32))`` plus ``wrist_pixels`` when ``wrist_camera=True``.

    ## Rewards
    ``reach = -|ee - cube|``, ``lift`` as in Grasp, ``place = -|cube_xy - target_xy|`` (m),
    ``success_bonus = 1`` on success; the terms are in ``info["reward_terms"]``.

    ## Starting State
    Arm as in Reach. Cube and target at uniform positions in ``[0.4, 0.62] x [-0.2, 0.2]`` m, at
    least 0.15 m apart; cube yaw in ``[-0.6, 0.6]`` rad.

    ## Episode End
    Success: cube centre inside the target square, resting on the table (centre below 0.03 m),
    jaws open (measured closure < 0.3). Truncated after ``max_episode_steps`` (default 50);
    terminates on success only with ``terminate_on_success=True``.

    ## Arguments
    As :class:`envs.reach.ReachEnv` (``max_episode_steps`` default 50).
    """

    scene_spec = SceneSpec(cube=True, target_zone=True)
    subgoal_steps = (6, 3, 2, 10, 29)
    subgoal_jaws = ("open", "open", "closed", "closed", "open")

    def _sample_task(self, rng: np.random.Generator) -> None:
        while True:
            start, target = rng.uniform([0.4, -0.2], [0.62, 0.2], size=(2, 2))
            if np.linalg.norm(start - target) >= 0.15:
                break
        self._start_xy, self._target = start, target
        self._cube_yaw = float(rng.uniform(-0.6, 0.6))
        self._set_free_pose("cube", cube_pose(start, self._cube_yaw))
        self.data.mocap_pos[0] = [target[0], target[1], 0.0]

    def _goal_configurations(self) -> list[Configuration]:
        placed = cube_pose(self._target, self._cube_yaw)
        release = placed[:3] + np.array([0.0, 0.0, RELEASE_CLEARANCE])
        return [
            *self._grasp_configurations(),
            self._held_configuration(self._target, LIFT_HEIGHT),
            self._ik_configuration(release, grasp_yaw(self._cube_yaw), 0.0, {"cube": placed}),
        ]

    def _evaluate(self) -> tuple[dict[str, float], dict[str, float], bool]:
        cube, ee_to_cube, held = self._cube_held()
        offset = cube[:2] - self._target
        cube_to_target = float(np.linalg.norm(offset))
        lift = 10.0 * min(cube[2] - CUBE_HALF_SIZE, 0.1) if held else 0.0
        success = bool(
            np.all(np.abs(offset) < TARGET_HALF_SIZE)
            and cube[2] < CUBE_HALF_SIZE + 0.005
            and self._measured_gripper() < 0.3
        )
        terms = {
            "reach": -ee_to_cube,
            "lift": lift,
            "place": -cube_to_target,
            "success_bonus": float(success),
        }
        distances = {"ee_to_cube": ee_to_cube, "cube_to_target": cube_to_target}
        return terms, distances, success

    def _task_info(self) -> dict[str, Any]:
        pose = self._free_pose("cube")
        return {
            "goal_position": np.array([*self._target, CUBE_HALF_SIZE], dtype=np.float32),
            "object_position": pose[:3].astype(np.float32),
            "object_quaternion": pose[3:].astype(np.float32),
        }
