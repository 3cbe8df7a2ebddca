"""Message <-> numpy conversions for the ROS 2 nodes.

Only ROS message classes are used here (plain Python objects, usable without ``rclpy.init``), so
the maths is testable without a running ROS graph.

Conventions (shared with ``wm_control`` and ``envs``):

- Images are ``uint8 [H, W, 3]`` RGB arrays; messages are ``sensor_msgs/Image`` ``rgb8``.
- The end-effector state is ``float32 [7]``: xyz (m, base frame), extrinsic Euler xyz (rad,
  ``R = Rz(yaw) Ry(pitch) Rx(roll)``), gripper (0 open .. 1 closed).
- An action is ``float32 [7]``: Δxyz (m, base frame), Δeuler xyz (rad, applied in the base frame:
  ``R_next = R(Δeuler) R``), Δgripper.
- A ``geometry_msgs/Twist`` is (linear m/s, angular rad/s) in the base frame; the angular velocity
  is the rotation vector of the orientation change per second (``R(t+dt) = exp([ω] dt) R(t)``).
- ROS quaternions are ``(x, y, z, w)``.
"""

from __future__ import annotations

import numpy as np
from builtin_interfaces.msg import Time
from geometry_msgs.msg import Pose, PoseStamped, TwistStamped
from sensor_msgs.msg import CameraInfo, Image

from envs.rotations import euler_to_matrix, matrix_to_euler, rotation_log
from envs.rotations import quaternion_to_matrix as _wxyz_to_matrix

__all__ = [
    "ImageConversionError",
    "action_to_velocity",
    "array_to_image",
    "camera_info_for",
    "image_to_array",
    "matrix_to_quaternion",
    "pose_msg_to_state",
    "quaternion_to_matrix",
    "rotation_exp",
    "state_to_pose",
    "twist_msg_to_velocity",
    "velocity_to_twist_msg",
]

# encoding -> (channels, channel order to get RGB)
_ENCODINGS: dict[str, tuple[int, tuple[int, int, int]]] = {
    "rgb8": (3, (0, 1, 2)),
    "bgr8": (3, (2, 1, 0)),
    "rgba8": (4, (0, 1, 2)),
    "bgra8": (4, (2, 1, 0)),
}


class ImageConversionError(ValueError):
    """A ``sensor_msgs/Image`` that cannot be read as an RGB frame."""


def image_to_array(msg: Image) -> np.ndarray:
    """``sensor_msgs/Image`` (rgb8, bgr8, rgba8, bgra8) -> ``uint8 [H, W, 3]`` RGB (a copy).

    Raises ImageConversionError naming what was expected and found for any other encoding, an
    empty image, or a data buffer that does not match ``height * step``.
    """
    if msg.encoding not in _ENCODINGS:
        raise ImageConversionError(
            f"image encoding: expected one of {sorted(_ENCODINGS)}, found {msg.encoding!r}; "
            "publish 8-bit colour images (e.g. rgb8)"
        )
    channels, order = _ENCODINGS[msg.encoding]
    height, width, step = int(msg.height), int(msg.width), int(msg.step)
    if height == 0 or width == 0:
        raise ImageConversionError(
            f"image size: expected a non-empty image, found {height}x{width}"
        )
    if step < width * channels:
        raise ImageConversionError(
            f"image step: expected >= width*channels = {width * channels} bytes, found {step}"
        )
    data = np.frombuffer(msg.data, dtype=np.uint8)
    if data.size != height * step:
        raise ImageConversionError(
            f"image data: expected height*step = {height * step} bytes, found {data.size}"
        )
    rows = data.reshape(height, step)[:, : width * channels].reshape(height, width, channels)
    return np.ascontiguousarray(rows[..., list(order)])


def array_to_image(frame: np.ndarray, stamp: Time, frame_id: str) -> Image:
    """``uint8 [H, W, 3]`` RGB -> ``sensor_msgs/Image`` rgb8."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ImageConversionError(
            f"frame: expected uint8 [H, W, 3], found {frame.dtype} {list(frame.shape)}"
        )
    msg = Image()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(frame.shape[0]), int(frame.shape[1])
    msg.encoding = "rgb8"
    msg.is_bigendian = 0
    msg.step = 3 * msg.width
    msg.data = np.ascontiguousarray(frame).tobytes()
    return msg


def camera_info_for(
    height: int, width: int, fovy_deg: float, stamp: Time, frame_id: str
) -> CameraInfo:
    """Pinhole ``CameraInfo`` of an undistorted camera with vertical field of view ``fovy_deg``."""
    f = 0.5 * height / np.tan(np.deg2rad(fovy_deg) / 2.0)
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    msg = CameraInfo()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.height, msg.width = int(height), int(width)
    msg.distortion_model = "plumb_bob"
    msg.d = [0.0] * 5
    msg.k = [f, 0.0, cx, 0.0, f, cy, 0.0, 0.0, 1.0]
    msg.r = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]
    msg.p = [f, 0.0, cx, 0.0, 0.0, f, cy, 0.0, 0.0, 0.0, 1.0, 0.0]
    return msg


def quaternion_to_matrix(quat_xyzw: np.ndarray) -> np.ndarray:
    """Quaternion ``(x, y, z, w)`` (ROS order, normalised here) -> rotation matrix ``[3, 3]``."""
    q = np.asarray(quat_xyzw, dtype=np.float64)
    norm = np.linalg.norm(q)
    if not np.isfinite(norm) or norm < 1e-9:
        raise ValueError(f"quaternion: expected a finite non-zero quaternion, found {q.tolist()}")
    return _wxyz_to_matrix(np.roll(q, 1))  # (x, y, z, w) -> MuJoCo's (w, x, y, z)


def matrix_to_quaternion(mat: np.ndarray) -> np.ndarray:
    """Rotation matrix ``[3, 3]`` -> unit quaternion ``(x, y, z, w)`` with ``w >= 0``."""
    m = np.asarray(mat, dtype=np.float64)
    trace = np.trace(m)
    if trace > 0.0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [(m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s, 0.25 * s]
    else:
        k = int(np.argmax(np.diag(m)))
        i, j = (k + 1) % 3, (k + 2) % 3
        s = 2.0 * np.sqrt(1.0 + m[k, k] - m[i, i] - m[j, j])
        q = [0.0, 0.0, 0.0, (m[j, i] - m[i, j]) / s]
        q[k] = 0.25 * s
        q[i] = (m[i, k] + m[k, i]) / s
        q[j] = (m[j, k] + m[k, j]) / s
    quat = np.array(q)
    quat /= np.linalg.norm(quat)
    return quat if quat[3] >= 0.0 else -quat


def rotation_exp(rotvec: np.ndarray) -> np.ndarray:
    """SO(3) exp map: rotation vector ``[3]`` (axis * angle, rad) -> rotation matrix ``[3, 3]``."""
    r = np.asarray(rotvec, dtype=np.float64)
    angle = float(np.linalg.norm(r))
    k = np.array([[0.0, -r[2], r[1]], [r[2], 0.0, -r[0]], [-r[1], r[0], 0.0]])
    if angle < 1e-9:
        return np.eye(3) + k
    k /= angle
    return np.eye(3) + np.sin(angle) * k + (1.0 - np.cos(angle)) * (k @ k)


def pose_msg_to_state(msg: PoseStamped | Pose, gripper: float) -> np.ndarray:
    """Pose (+ gripper 0..1) -> state ``float32 [7]`` (xyz, extrinsic Euler xyz, gripper)."""
    pose = msg.pose if isinstance(msg, PoseStamped) else msg
    p, q = pose.position, pose.orientation
    rot = quaternion_to_matrix(np.array([q.x, q.y, q.z, q.w]))
    state = np.concatenate([[p.x, p.y, p.z], matrix_to_euler(rot), [gripper]])
    return state.astype(np.float32)


def state_to_pose(state: np.ndarray) -> Pose:
    """State ``[>=6]`` (xyz, extrinsic Euler xyz, ...) -> ``geometry_msgs/Pose``."""
    state = np.asarray(state, dtype=np.float64)
    quat = matrix_to_quaternion(euler_to_matrix(state[3:6]))
    pose = Pose()
    pose.position.x, pose.position.y, pose.position.z = (float(v) for v in state[:3])
    pose.orientation.x, pose.orientation.y, pose.orientation.z, pose.orientation.w = (
        float(v) for v in quat
    )
    return pose


def action_to_velocity(action: np.ndarray, period: float) -> tuple[np.ndarray, np.ndarray]:
    """Action ``[>=6]`` over ``period`` s -> (linear m/s ``[3]``, angular rad/s ``[3]``), base
    frame."""
    action = np.asarray(action, dtype=np.float64)
    rotvec = rotation_log(euler_to_matrix(action[3:6]))
    return action[:3] / period, rotvec / period


def velocity_to_twist_msg(
    linear: np.ndarray, angular: np.ndarray, stamp: Time, frame_id: str
) -> TwistStamped:
    """(linear m/s [3], angular rad/s [3]) -> ``TwistStamped``; refuses non-finite values."""
    values = np.concatenate([np.asarray(linear, np.float64), np.asarray(angular, np.float64)])
    if values.shape != (6,) or not np.all(np.isfinite(values)):
        raise ValueError(f"twist: expected 6 finite values, found {values.tolist()}")
    msg = TwistStamped()
    msg.header.stamp = stamp
    msg.header.frame_id = frame_id
    msg.twist.linear.x, msg.twist.linear.y, msg.twist.linear.z = (float(v) for v in values[:3])
    msg.twist.angular.x, msg.twist.angular.y, msg.twist.angular.z = (float(v) for v in values[3:])
    return msg


def twist_msg_to_velocity(msg: TwistStamped) -> tuple[np.ndarray, np.ndarray]:
    """``TwistStamped`` -> (linear m/s ``[3]``, angular rad/s ``[3]``) as float64 arrays."""
    lin, ang = msg.twist.linear, msg.twist.angular
    return np.array([lin.x, lin.y, lin.z]), np.array([ang.x, ang.y, ang.z])
