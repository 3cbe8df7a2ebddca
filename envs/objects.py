"""Cube placement and pose helpers shared by the object tasks."""

from __future__ import annotations

import numpy as np

from envs.rotations import yaw_to_quaternion
from envs.scene import CUBE_HALF_SIZE, FINGER_MAX_OPENING


def cube_pose(position_xy: np.ndarray, yaw: float, height: float = CUBE_HALF_SIZE) -> np.ndarray:
    """Free-body pose (7,) ``[x, y, z, qw, qx, qy, qz]`` of a cube at ``position_xy``, ``yaw``."""
    return np.concatenate([position_xy, [height], yaw_to_quaternion(yaw)])


def quaternion_yaw(quat: np.ndarray) -> float:
    """Yaw (rad) of a unit quaternion (w, x, y, z) about the base z axis."""
    w, x, y, z = quat
    return float(np.arctan2(2.0 * (w * z + x * y), 1.0 - 2.0 * (y * y + z * z)))


def grasp_yaw(cube_yaw: float) -> float:
    """The gripper yaw in [-pi/4, pi/4] that aligns the jaws with two faces of the cube."""
    return float((cube_yaw + np.pi / 4) % (np.pi / 2) - np.pi / 4)


def held_closure() -> float:
    """Gripper closure (0 open .. 1 closed) of the jaws resting on the cube's faces."""
    return 1.0 - CUBE_HALF_SIZE / FINGER_MAX_OPENING
