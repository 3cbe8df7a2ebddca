"""Push: push a cube to a goal position on the table."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.base import ArmEnv
from envs.goals import Configuration
from envs.objects import cube_pose
from envs.scene import CUBE_HALF_SIZE, FINGER_PAD_HALF_SIZE, SceneSpec

PUSH_HEIGHT = 0.03
"""End-effector height (m) at which the closed jaws push the cube."""
APPROACH_HEIGHT = 0.1
"""End-effector height (m) of the first sub-goal, above the pushing position."""
PUSH_OFFSET = CUBE_HALF_SIZE + 0.035
"""Distance (m) from the cube centre back to the end effector before it pushes (clear of the
cube)."""
CONTACT_MARGIN = 0.002
"""Gap (m) between the closed jaws and the cube in the pushing goal configurations."""
HALF_WAY = 0.5
"""Where the third goal image shows the cube: this fraction of the way to its goal."""


def contact_offset(direction: np.ndarray, cube_yaw: float) -> float:
    """Distance (m) from the cube centre back to the end effector at which the closed, unrotated
    jaws, moving along the unit vector ``direction`` (xy), first touch the cube, plus
    ``CONTACT_MARGIN``.

    In the plane (the pads overlap the cube in height at ``PUSH_HEIGHT``), the jaws are a rectangle
    (half extents ``FINGER_PAD_HALF_SIZE[0]`` across, twice ``FINGER_PAD_HALF_SIZE[1]`` along the
    closing axis, the base y axis at yaw 0) and the cube a square turned by ``cube_yaw``. They
    touch when the centre offset reaches the boundary of their Minkowski sum, a convex polygon
    whose edge normals are the two shapes' own: the ray along ``direction`` leaves it at the
    smallest ``support(n) / (n . direction)`` over those normals ``n`` facing ``direction``.
    """
    half = np.array([FINGER_PAD_HALF_SIZE[0], 2 * FINGER_PAD_HALF_SIZE[1]])  # jaws (x, y)
    cube_axes = np.array(
        [[np.cos(cube_yaw), np.sin(cube_yaw)], [-np.sin(cube_yaw), np.cos(cube_yaw)]]
    )
    normals = np.concatenate([np.eye(2), -np.eye(2), cube_axes, -cube_axes])  # [8, 2]
    support = np.abs(normals) @ half + CUBE_HALF_SIZE * np.abs(normals @ cube_axes.T).sum(
        axis=1
    )  # [8]
    facing = normals @ direction  # [8]
    reach = support[facing > 1e-9] / facing[facing > 1e-9]
    return float(reach.min() + CONTACT_MARGIN)


class PushEnv(ArmEnv):
    """Push a 50 mm cube across the table to a goal position.

    ## Description
    The arm of :class:`envs.reach.ReachEnv` and a free cube on the table. Four goal images, in
    order: the closed gripper above the pushing position behind the cube (on the side away from
    the goal), the gripper lowered to pushing height there, the cube half way to the goal with the
    closed jaws against it, and the final scene: the cube at the goal, the jaws against it on the
    side it came from. A planner pursues them for ``subgoal_steps = (6, 3, 6, 25)`` control steps
    by default, with the jaws closed (``subgoal_jaws``): a one-step goal-image planner cannot
    discover on its own that it must get behind the cube first, and the half-way image keeps it
    from lunging at the final pose in one stroke that flings the cube (measured: 7 of 20 episodes
    with it, 3 of 20 without, seeds 1000-1019, shipped model, simulator version 1).

    ## Action Space
    ``Box(-b, b, (7,), float32)`` with ``b = [0.075]*3 + [0.25]*3 + [1]``:
    ``[dx, dy, dz, droll, dpitch, dyaw, dgripper]`` (see :mod:`envs.base`).

    ## Observation Space
    ``Dict(pixels=Box(0, 255, (S, S, 3), uint8), state=Box(STATE_LOW, STATE_HIGH, (7,),
    float32))`` plus ``wrist_pixels`` when ``wrist_camera=True``.

    ## Rewards
    ``reach = -0.5 |ee - cube|``, ``push = -|cube_xy - goal_xy|`` (m), ``success_bonus = 1`` on
    success; ``reward`` is their sum, the terms are in ``info["reward_terms"]``.

    ## Starting State
    Arm as in Reach. Cube at a uniform position in ``[0.42, 0.6] x [-0.15, 0.15]`` m with yaw in
    ``[-0.4, 0.4]`` rad; goal 0.1-0.18 m away in a uniform direction, inside
    ``[0.35, 0.68] x [-0.25, 0.25]``.

    ## Episode End
    Success: ``|cube_xy - goal_xy| < 0.04`` m. Truncated after ``max_episode_steps`` (default 40);
    terminates on success only with ``terminate_on_success=True``.

    ## Arguments
    As :class:`envs.reach.ReachEnv` (``max_episode_steps`` default 40).
    """

    scene_spec = SceneSpec(cube=True)
    success_threshold = 0.04
    subgoal_steps = (6, 3, 6, 25)
    subgoal_jaws = ("closed", "closed", "closed", "closed")

    def _sample_task(self, rng: np.random.Generator) -> None:
        cube_xy = rng.uniform([0.42, -0.15], [0.6, 0.15])
        while True:
            angle = rng.uniform(-np.pi, np.pi)
            goal = cube_xy + rng.uniform(0.1, 0.18) * np.array([np.cos(angle), np.sin(angle)])
            if np.all(goal >= [0.35, -0.25]) and np.all(goal <= [0.68, 0.25]):
                break
        self._cube_yaw = float(rng.uniform(-0.4, 0.4))
        self._set_free_pose("cube", cube_pose(cube_xy, self._cube_yaw))
        self._start_xy = cube_xy
        self._goal = goal

    def _goal_configurations(self) -> list[Configuration]:
        direction = (self._goal - self._start_xy) / np.linalg.norm(self._goal - self._start_xy)
        behind = self._start_xy - direction * PUSH_OFFSET
        start = {"cube": cube_pose(self._start_xy, self._cube_yaw)}
        # while pushing, the jaws are against the cube, as a push leaves them (PUSH_OFFSET would
        # show them ~3 cm back, which no push reaches without the cube stopping short by as much)
        contact = contact_offset(direction, self._cube_yaw)
        pushed = []
        for xy in (self._start_xy + HALF_WAY * (self._goal - self._start_xy), self._goal):
            ee = np.array([*(xy - direction * contact), PUSH_HEIGHT])
            pushed.append(
                self._ik_configuration(ee, 0.0, 1.0, {"cube": cube_pose(xy, self._cube_yaw)})
            )
        return [
            self._ik_configuration(np.array([*behind, APPROACH_HEIGHT]), 0.0, 1.0, start),
            self._ik_configuration(np.array([*behind, PUSH_HEIGHT]), 0.0, 1.0, start),
            *pushed,
        ]

    def _evaluate(self) -> tuple[dict[str, float], dict[str, float], bool]:
        cube = self.data.qpos[self._free_qpos["cube"] : self._free_qpos["cube"] + 3]
        ee_to_cube = float(np.linalg.norm(self.data.site(self._ee_site).xpos - cube))
        cube_to_goal = float(np.linalg.norm(cube[:2] - self._goal))
        success = cube_to_goal < self.success_threshold
        terms = {
            "reach": -0.5 * ee_to_cube,
            "push": -cube_to_goal,
            "success_bonus": float(success),
        }
        return terms, {"ee_to_cube": ee_to_cube, "cube_to_goal": cube_to_goal}, success

    def _task_info(self) -> dict[str, Any]:
        pose = self._free_pose("cube")
        return {
            "goal_position": np.array([*self._goal, CUBE_HALF_SIZE], dtype=np.float32),
            "object_position": pose[:3].astype(np.float32),
            "object_quaternion": pose[3:].astype(np.float32),
        }
