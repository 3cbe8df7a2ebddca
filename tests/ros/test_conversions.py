"""Message <-> array conversions (plain message classes, no ROS graph)."""

from __future__ import annotations

import numpy as np
import pytest
from builtin_interfaces.msg import Time
from geometry_msgs.msg import PoseStamped
from sensor_msgs.msg import Image

from envs.rotations import euler_to_matrix, matrix_to_euler
from wm_control_ros.conversions import (
    ImageConversionError,
    action_to_velocity,
    array_to_image,
    camera_info_for,
    image_to_array,
    matrix_to_quaternion,
    pose_msg_to_state,
    quaternion_to_matrix,
    rotation_exp,
    state_to_pose,
    twist_msg_to_velocity,
    velocity_to_twist_msg,
)
from wm_control_ros.twist_integrator import TwistIntegrator

RNG = np.random.default_rng(0)


def _image(encoding: str, frame: np.ndarray, pad: int = 0) -> Image:
    height, width, channels = frame.shape
    rows = np.zeros((height, width * channels + pad), np.uint8)
    rows[:, : width * channels] = frame.reshape(height, -1)
    return Image(
        height=height,
        width=width,
        encoding=encoding,
        step=width * channels + pad,
        data=rows.tobytes(),
    )


def test_image_round_trip_rgb8():
    frame = RNG.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    msg = array_to_image(frame, Time(sec=3), "cam")
    assert (msg.encoding, msg.height, msg.width, msg.step, msg.header.frame_id) == (
        "rgb8",
        5,
        7,
        21,
        "cam",
    )
    np.testing.assert_array_equal(image_to_array(msg), frame)


@pytest.mark.parametrize(
    "encoding,order,channels",
    [("bgr8", [2, 1, 0], 3), ("rgba8", [0, 1, 2], 4), ("bgra8", [2, 1, 0], 4)],
)
def test_image_other_encodings_and_row_padding(encoding, order, channels):
    frame = RNG.integers(0, 256, (4, 6, channels), dtype=np.uint8)
    out = image_to_array(_image(encoding, frame, pad=5))
    np.testing.assert_array_equal(out, frame[..., order])


@pytest.mark.parametrize(
    "msg,match",
    [
        (Image(height=2, width=2, encoding="32FC1", step=8, data=bytes(16)), "encoding"),
        (Image(height=0, width=0, encoding="rgb8", step=0, data=b""), "non-empty"),
        (Image(height=2, width=2, encoding="rgb8", step=6, data=bytes(7)), "data"),
        (Image(height=2, width=2, encoding="rgb8", step=4, data=bytes(8)), "step"),
    ],
)
def test_bad_images_raise_with_reason(msg, match):
    with pytest.raises(ImageConversionError, match=match):
        image_to_array(msg)


def test_quaternion_matrix_euler_round_trips():
    for _ in range(50):
        euler = RNG.uniform([-np.pi, -1.5, -np.pi], [np.pi, 1.5, np.pi])
        mat = euler_to_matrix(euler)
        quat = matrix_to_quaternion(mat)
        assert quat[3] >= 0 and np.isclose(np.linalg.norm(quat), 1.0)
        np.testing.assert_allclose(quaternion_to_matrix(quat), mat, atol=1e-9)
        np.testing.assert_allclose(matrix_to_euler(quaternion_to_matrix(quat)), euler, atol=1e-7)
    # a 90 degree yaw is the quaternion (0, 0, sin 45, cos 45)
    np.testing.assert_allclose(
        matrix_to_quaternion(euler_to_matrix([0, 0, np.pi / 2])),
        [0, 0, np.sqrt(0.5), np.sqrt(0.5)],
        atol=1e-12,
    )


def test_state_pose_round_trip():
    state = np.array([0.4, -0.1, 0.3, 0.2, -0.3, 1.0, 0.6], np.float32)
    msg = PoseStamped()
    msg.pose = state_to_pose(state)
    np.testing.assert_allclose(pose_msg_to_state(msg, 0.6), state, atol=1e-6)
    with pytest.raises(ValueError, match="quaternion"):
        o = msg.pose.orientation
        o.x = o.y = o.z = o.w = 0.0
        pose_msg_to_state(msg, 0.0)


def test_twist_msg_refuses_non_finite_values():
    with pytest.raises(ValueError, match="finite"):
        velocity_to_twist_msg(np.array([0.0, np.nan, 0.0]), np.zeros(3), Time(), "base")
    with pytest.raises(ValueError, match="finite"):
        velocity_to_twist_msg(np.zeros(3), np.array([np.inf, 0, 0]), Time(), "base")
    msg = velocity_to_twist_msg([0.1, 0.2, 0.3], [0.0, 0.0, -0.5], Time(), "base")
    lin, ang = twist_msg_to_velocity(msg)
    np.testing.assert_allclose(np.concatenate([lin, ang]), [0.1, 0.2, 0.3, 0, 0, -0.5])


def test_planner_velocity_integrated_by_the_sim_gives_back_the_action():
    """The planner's action -> twist and the sim's twist -> action are inverse (same
    conventions)."""
    action = np.array([0.03, -0.02, 0.01, 0.1, -0.05, 0.2, 0.0])
    period = 0.25
    lin, ang = action_to_velocity(action, period)
    integrator = TwistIntegrator(timeout=1.0)
    # republished at 30 Hz during one period, as the planner does
    for k in range(8):
        integrator.add(lin, ang, now=k / 30.0)
    delta_xyz, delta_rot = integrator.take(now=period)
    np.testing.assert_allclose(delta_xyz, action[:3], atol=1e-12)
    np.testing.assert_allclose(matrix_to_euler(delta_rot), action[3:6], atol=1e-9)


def test_rotation_exp_matches_axis_angle():
    np.testing.assert_allclose(
        rotation_exp([0, 0, np.pi / 2]), euler_to_matrix([0, 0, np.pi / 2]), atol=1e-12
    )
    np.testing.assert_allclose(rotation_exp([0, 0, 0]), np.eye(3))


def test_camera_info_is_a_centred_pinhole():
    info = camera_info_for(64, 64, 90.0, Time(), "cam")
    assert info.k[0] == pytest.approx(32.0) and info.k[2] == pytest.approx(31.5)
    assert (info.height, info.width, info.header.frame_id) == (64, 64, "cam")
