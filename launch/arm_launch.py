"""Planner against a physical arm (MoveIt Servo twist commands, a camera, an end-effector pose).

With a ROS 2 distribution (after ``colcon build`` and sourcing the workspace)::

    ros2 launch wm_control_ros arm_launch.py checkpoint:=/path/to/model \\
        camera_topic:=/camera/color/image_raw \\
        pose_topic:=/franka_robot_state_broadcaster/current_pose

Without one: ``python launch/arm_launch.py checkpoint:=... camera_topic:=...``.

The planner stays stopped until ``ros2 service call /planner/start std_srvs/srv/Trigger`` (unless
``autostart:=true``). Parameters: ``params_file`` (default: the Franka + MoveIt Servo example).
"""

from __future__ import annotations

import sys
from pathlib import Path

from wm_control_ros.launch_specs import (
    NodeSpec,
    launch_description,
    parse_launch_arguments,
    run_from_command_line,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "robot"

ARGUMENTS: dict[str, tuple[str, str]] = {
    "checkpoint": (
        "",
        "World model checkpoint (directory, .safetensors, Meta .pt or HF directory).",
    ),
    "params_file": (str(CONFIG_DIR / "franka_moveit_servo.yaml"), "Planner parameters file."),
    "camera_topic": ("/camera/color/image_raw", "sensor_msgs/Image of the exterior camera."),
    "pose_topic": (
        "/franka_robot_state_broadcaster/current_pose",
        "geometry_msgs/PoseStamped of the end effector in the robot base frame.",
    ),
    "command_topic": ("/servo_node/delta_twist_cmds", "MoveIt Servo's TwistStamped command topic."),
    "target_pose_topic": ("/target_pose", "PoseStamped target topic (command_mode pose)."),
    "gripper_command_topic": (
        "/gripper/command",
        "std_msgs/Float64 gripper command (0 open .. 1 closed).",
    ),
    "gripper_state_topic": (
        "/gripper/state",
        "std_msgs/Float64 measured gripper closure (optional).",
    ),
    "goal_image_topic": ("/goal_image", "sensor_msgs/Image goal (transient local)."),
    "goal_image_paths": ("", "Comma-separated goal image files (a sub-goal sequence)."),
    "autostart": ("false", "Start planning without the start service."),
}


def node_specs(**arguments: str) -> list[NodeSpec]:
    """The nodes this launch file starts, for the given launch arguments (strings)."""
    values = parse_launch_arguments(
        [f"{k}:={v}" for k, v in arguments.items()],
        {name: default for name, (default, _) in ARGUMENTS.items()},
    )
    parameters: dict[str, object] = {
        "checkpoint": values["checkpoint"],
        "autostart": values["autostart"].lower() == "true",
    }
    if values["goal_image_paths"]:
        parameters["goal_image_paths"] = [p.strip() for p in values["goal_image_paths"].split(",")]
    planner = NodeSpec(
        executable="planner",
        name="planner",
        parameter_files=(values["params_file"],),
        parameters=parameters,
        remappings=(
            ("camera/image_raw", values["camera_topic"]),
            ("ee_pose", values["pose_topic"]),
            ("delta_twist_cmds", values["command_topic"]),
            ("target_pose", values["target_pose_topic"]),
            ("gripper/command", values["gripper_command_topic"]),
            ("gripper/state", values["gripper_state_topic"]),
            ("goal_image", values["goal_image_topic"]),
        ),
    )
    return [planner]


# returns a launch.LaunchDescription (needs a ROS 2 distribution)
def generate_launch_description():  # noqa: ANN201
    """``ros2 launch`` entry point."""
    return launch_description(ARGUMENTS, node_specs)


if __name__ == "__main__":
    sys.exit(run_from_command_line(ARGUMENTS, node_specs, sys.argv[1:]))
