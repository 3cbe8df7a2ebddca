"""The planner's command publishers: a twist (MoveIt Servo) or a pose target, and the gripper.

Every value published here comes from a ``SafeCommand`` (the safety filter's output) or is a zero
command; ``velocity_to_twist_msg`` refuses non-finite numbers as a last line of defence.
"""

from __future__ import annotations

import numpy as np
from geometry_msgs.msg import PoseStamped, TwistStamped
from rclpy.duration import Duration
from rclpy.node import Node
from std_msgs.msg import Float64

from .conversions import matrix_to_quaternion, velocity_to_twist_msg
from .qos import COMMAND_QOS
from .safety import SafeCommand, SafetyLimits, limit_action, target_orientation


class CommandOutput:
    """Publishes on ``delta_twist_cmds`` (mode "twist") or ``target_pose`` (mode "pose"), and on
    ``gripper/command`` (when ``publish_gripper``)."""

    def __init__(self, node: Node, mode: str, publish_gripper: bool) -> None:
        self._node, self._mode, self._publish_gripper = node, mode, publish_gripper
        if mode == "twist":
            self._motion = node.create_publisher(TwistStamped, "delta_twist_cmds", COMMAND_QOS)
        else:
            self._motion = node.create_publisher(PoseStamped, "target_pose", COMMAND_QOS)
        self._gripper = (
            node.create_publisher(Float64, "gripper/command", COMMAND_QOS)
            if publish_gripper
            else None
        )

    def send(self, command: SafeCommand, state: np.ndarray, frame_id: str) -> None:
        """The motion command for the current period (state: the measured state [>=6] it starts
        from)."""
        stamp = self._node.get_clock().now().to_msg()
        if self._mode == "twist":
            self._motion.publish(
                velocity_to_twist_msg(
                    command.linear_velocity, command.angular_velocity, stamp, frame_id
                )
            )
            return
        msg = PoseStamped()
        msg.header.stamp, msg.header.frame_id = stamp, frame_id
        position, orientation = msg.pose.position, msg.pose.orientation
        position.x, position.y, position.z = (float(v) for v in command.target_xyz)
        orientation.x, orientation.y, orientation.z, orientation.w = (
            float(v) for v in matrix_to_quaternion(target_orientation(state, command))
        )
        self._motion.publish(msg)

    def send_gripper(self, command: SafeCommand) -> None:
        if self._gripper is not None:
            self._gripper.publish(Float64(data=command.gripper_target))

    def send_zero(self, pose: np.ndarray | None, limits: SafetyLimits, frame_id: str) -> None:
        """Zero velocity (twist mode) or the measured pose [6] as target (pose mode; none if
        unknown)."""
        if self._mode == "twist":
            stamp = self._node.get_clock().now().to_msg()
            self._motion.publish(velocity_to_twist_msg(np.zeros(3), np.zeros(3), stamp, frame_id))
        elif pose is not None:
            state = np.concatenate([pose, [0.0]])
            self.send(limit_action(np.zeros(7), state, 1.0, limits), state, frame_id)

    def wait_delivered(self, timeout: float) -> None:
        """Block until the subscribers acknowledged the motion commands (reliable QoS) or
        timeout s."""
        self._motion.wait_for_all_acked(Duration(seconds=timeout))
