"""Rotation helpers in numpy: extrinsic Euler xyz <-> rotation matrix, and the SO(3) log map.

Convention (shared with the rest of the stack and with DROID / V-JEPA 2-AC): Euler angles
``(roll, pitch, yaw)`` are *extrinsic* rotations about the fixed base axes x, then y, then z, i.e.
``R = Rz(yaw) @ Ry(pitch) @ Rx(roll)``. An orientation change ``d`` is applied in the base frame:
``R_next = euler_to_matrix(d) @ R``.
"""

from __future__ import annotations

import numpy as np


def euler_to_matrix(euler: np.ndarray) -> np.ndarray:
    """Extrinsic xyz Euler angles (..., 3) in rad -> rotation matrices (..., 3, 3)."""
    euler = np.asarray(euler, dtype=np.float64)
    roll, pitch, yaw = euler[..., 0], euler[..., 1], euler[..., 2]
    cr, sr = np.cos(roll), np.sin(roll)
    cp, sp = np.cos(pitch), np.sin(pitch)
    cy, sy = np.cos(yaw), np.sin(yaw)
    mat = np.empty(euler.shape[:-1] + (3, 3))
    mat[..., 0, 0] = cy * cp
    mat[..., 0, 1] = cy * sp * sr - sy * cr
    mat[..., 0, 2] = cy * sp * cr + sy * sr
    mat[..., 1, 0] = sy * cp
    mat[..., 1, 1] = sy * sp * sr + cy * cr
    mat[..., 1, 2] = sy * sp * cr - cy * sr
    mat[..., 2, 0] = -sp
    mat[..., 2, 1] = cp * sr
    mat[..., 2, 2] = cp * cr
    return mat


def matrix_to_euler(mat: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) -> extrinsic xyz Euler angles (..., 3) in rad.

    Pitch lies in [-pi/2, pi/2]; roll and yaw in (-pi, pi].
    """
    mat = np.asarray(mat, dtype=np.float64)
    pitch = np.arcsin(np.clip(-mat[..., 2, 0], -1.0, 1.0))
    roll = np.arctan2(mat[..., 2, 1], mat[..., 2, 2])
    yaw = np.arctan2(mat[..., 1, 0], mat[..., 0, 0])
    return np.stack([roll, pitch, yaw], axis=-1)


def rotation_log(mat: np.ndarray) -> np.ndarray:
    """SO(3) log map: rotation matrix (3, 3) -> rotation vector (3,) (axis * angle, rad)."""
    cos_angle = min(1.0, max(-1.0, (mat[0, 0] + mat[1, 1] + mat[2, 2] - 1.0) / 2.0))
    angle = float(np.arccos(cos_angle))
    axis = np.array([mat[2, 1] - mat[1, 2], mat[0, 2] - mat[2, 0], mat[1, 0] - mat[0, 1]])
    if angle < 1e-6:
        return 0.5 * axis
    if np.pi - angle < 1e-4:
        # Near pi the antisymmetric part vanishes: R ~ 2 a a^T - I gives the axis a.
        k = int(np.argmax(np.diag(mat)))
        axis = (mat[k] + mat[:, k]) / 2.0
        axis[k] = mat[k, k] + 1.0
        return axis / np.linalg.norm(axis) * angle
    return axis * (angle / (2.0 * np.sin(angle)))


def quaternion_to_matrix(quat: np.ndarray) -> np.ndarray:
    """Unit quaternion (w, x, y, z) (MuJoCo order) -> rotation matrix (3, 3)."""
    w, x, y, z = np.asarray(quat, dtype=np.float64) / np.linalg.norm(quat)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
            [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
            [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
        ]
    )


def yaw_to_quaternion(yaw: float) -> np.ndarray:
    """Rotation about the base z axis by ``yaw`` rad -> quaternion (w, x, y, z)."""
    return np.array([np.cos(yaw / 2.0), 0.0, 0.0, np.sin(yaw / 2.0)])
