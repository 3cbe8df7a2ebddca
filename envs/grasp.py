"""Grasp: grasp a cube and lift it."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.base import ArmEnv
from envs.goals import Configuration
from envs.objects import cube_pose, grasp_yaw, held_closure
from envs.scene import CUBE_HALF_SIZE, SceneSpec

LIFT_HEIGHT = 0.15
"""Cube centre height (m) of the goal configuration."""
LIFTED_HEIGHT = CUBE_HALF_SIZE + 0.08
"""Cube centre height (m) above which a held cube counts as lifted."""
HELD_DISTANCE = 0.03
"""Largest end-effector-to-cube distance (m) of a held cube."""
APPROACH_HEIGHT = 0.1
"""End-effector height (m) above the cube centre before descending to grasp."""
GRASP_CLEARANCE = 0.003
"""End-effector height (m) above the cube centre where the jaws close."""


class GraspEnv(ArmEnv):
    """Grasp a 50 mm cube from the table and lift it.

    ## Description
    The arm of :class:`envs.reach.ReachEnv` and a free cube. Four goal images, in order: the open
    gripper 0.1 m above the cube with its jaws aligned with the cube's faces, the open jaws lowered
    around the cube, the jaws closed on it, and the final scene: the cube held between the jaws,
    lifted to 0.15 m above its starting place. A planner pursues them for
    ``subgoal_steps = (6, 3, 2, 19)`` control steps by default (as V-JEPA 2-AC plans grasps and
    pick-and-place through sub-goal images).

    ## Action Space
    ``Box(-b, b, (7,), float32)`` with ``b = [0.075]*3 + [0.25]*3 + [1]``:
    ``[dx, dy, dz, droll, dpitch, dyaw, dgripper]`` (see :mod:`envs.base`).

    ## Observation Space
    ``Dict(pixels=Box(0, 255, (S, S, 3), uint8), state=Box(STATE_LOW, STATE_HIGH, (7,),
    float32))`` plus ``wrist_pixels`` when ``wrist_camera=True``.

    ## Rewards
    ``reach = -|ee - cube|``, ``lift = 10 min(cube_z - rest_z, 0.1)`` when held (else 0) (m),
    ``success_bonus = 1`` on success; the terms are in ``info["reward_terms"]``.

    ## Starting State
    Arm as in Reach. Cube at a uniform position in ``[0.42, 0.6] x [-0.15, 0.15]`` m with yaw in
    ``[-0.6, 0.6]`` rad.

    ## Episode End
    Success: cube centre above ``0.105`` m and within 0.03 m of the tool centre point (held).
    Truncated after ``max_episode_steps`` (default 30); terminates on success only with
    ``terminate_on_success=True``.

    ## Arguments
    As :class:`envs.reach.ReachEnv` (``max_episode_steps`` default 30).
    """

    scene_spec = SceneSpec(cube=True)
    subgoal_steps = (6, 3, 2, 19)
    subgoal_jaws = ("open", "open", "closed", "closed")

    def _sample_task(self, rng: np.random.Generator) -> None:
        self._start_xy = rng.uniform([0.42, -0.15], [0.6, 0.15])
        self._cube_yaw = float(rng.uniform(-0.6, 0.6))
        self._set_free_pose("cube", cube_pose(self._start_xy, self._cube_yaw))

    def _held_configuration(self, xy: np.ndarray, height: float) -> Configuration:
        """The cube held between aligned jaws with its centre at ``(xy, height)``."""
        cube = cube_pose(xy, self._cube_yaw, height)
        yaw = grasp_yaw(self._cube_yaw)
        return self._ik_configuration(cube[:3], yaw, held_closure(), {"cube": cube})

    def _grasp_configurations(self) -> list[Configuration]:
        """Open aligned jaws above the resting cube, open jaws around it, jaws closed on it."""
        cube = cube_pose(self._start_xy, self._cube_yaw)
        yaw, objects = grasp_yaw(self._cube_yaw), {"cube": cube}
        return [
            self._ik_configuration(cube[:3] + [0.0, 0.0, APPROACH_HEIGHT], yaw, 0.0, objects),
            self._ik_configuration(cube[:3] + [0.0, 0.0, GRASP_CLEARANCE], yaw, 0.0, objects),
            self._ik_configuration(
                cube[:3] + [0.0, 0.0, GRASP_CLEARANCE], yaw, held_closure(), objects
            ),
        ]

    def _goal_configurations(self) -> list[Configuration]:
        return [
            *self._grasp_configurations(),
            self._held_configuration(self._start_xy, LIFT_HEIGHT),
        ]

    def _cube_held(self) -> tuple[np.ndarray, float, bool]:
        cube = self.data.qpos[self._free_qpos["cube"] : self._free_qpos["cube"] + 3].copy()
        ee_to_cube = float(np.linalg.norm(self.data.site(self._ee_site).xpos - cube))
        return cube, ee_to_cube, ee_to_cube < HELD_DISTANCE and self._measured_gripper() > 0.1

    def _evaluate(self) -> tuple[dict[str, float], dict[str, float], bool]:
        cube, ee_to_cube, held = self._cube_held()
        lift = 10.0 * min(cube[2] - CUBE_HALF_SIZE, 0.1) if held else 0.0
        success = held and cube[2] > LIFTED_HEIGHT
        terms = {"reach": -ee_to_cube, "lift": lift, "success_bonus": float(success)}
        return terms, {"ee_to_cube": ee_to_cube, "cube_height": float(cube[2])}, success

    def _task_info(self) -> dict[str, Any]:
        pose = self._free_pose("cube")
        return {
            "goal_position": np.array([*self._start_xy, LIFT_HEIGHT], dtype=np.float32),
            "object_position": pose[:3].astype(np.float32),
            "object_quaternion": pose[3:].astype(np.float32),
        }
