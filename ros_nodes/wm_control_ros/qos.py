"""QoS profiles of the wm_control_ros topics.

- Camera images and camera info: ``SENSOR_QOS`` (rclpy's sensor-data profile: best effort,
  volatile, keep last 5). The planner also reads ``ee_pose`` and ``gripper/state`` best effort,
  which matches reliable and best-effort publishers alike.
- Commands, robot state and status: ``COMMAND_QOS`` (reliable, volatile, keep last 10), what MoveIt
  Servo and most robot drivers use.
- Goal images: ``GOAL_QOS`` (reliable, transient local, keep last 1), so a goal published once
  reaches a planner that starts later. Publishers must be transient local too.
"""

from __future__ import annotations

from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy, qos_profile_sensor_data

SENSOR_QOS: QoSProfile = qos_profile_sensor_data
COMMAND_QOS = QoSProfile(
    depth=10, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE
)
GOAL_QOS = QoSProfile(
    depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
)
