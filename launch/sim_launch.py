"""Simulated arm + planner: watch the MuJoCo arm reach the goal of its task through ROS 2.

With a ROS 2 distribution (after ``colcon build`` and sourcing the workspace)::

    ros2 launch wm_control_ros sim_launch.py [checkpoint:=/path/to/model]

Without one (the project's install provides rclpy and the console scripts)::

    python launch/sim_launch.py [checkpoint:=/path/to/model]

Without ``checkpoint`` the planner uses the default world model shipped with ``wm_control``.

``sim_arm`` publishes its episode's goal image on ``goal_image``; the planner starts by itself
(``autostart``) once it has the goal, an image and a pose. Arguments: see ``ARGUMENTS``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from wm_control_ros.launch_specs import (
    NodeSpec,
    launch_description,
    parse_launch_arguments,
    run_from_command_line,
    shipped_model_path,
)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "robot"

ARGUMENTS: dict[str, tuple[str, str]] = {
    "checkpoint": (
        shipped_model_path(),
        "World model checkpoint (directory, .safetensors, Meta .pt or HF "
        "directory); default: the shipped default model.",
    ),
    "env_id": ("wm_control/Reach-v2", "Gymnasium id of the simulated task."),
    "seed": ("0", "Seed of the first episode."),
    "image_size": ("128", "Camera image size (px)."),
    "control_rate": ("4.0", "Control rate of the simulator and the planner (Hz)."),
    "params_file": (str(CONFIG_DIR / "sim.yaml"), "Planner parameters file."),
    "goal_image_paths": (
        "",
        "Comma-separated goal image files (a sub-goal sequence); "
        "empty: the simulator's goal image.",
    ),
    "autostart": ("true", "Start planning as soon as goal, image and pose are available."),
}


def node_specs(**arguments: str) -> list[NodeSpec]:
    """The nodes this launch file starts, for the given launch arguments (strings)."""
    values = parse_launch_arguments(
        [f"{k}:={v}" for k, v in arguments.items()],
        {name: default for name, (default, _) in ARGUMENTS.items()},
    )
    control_rate = float(values["control_rate"])
    sim = NodeSpec(
        executable="sim_arm",
        name="sim_arm",
        parameters={
            "env_id": values["env_id"],
            "seed": int(values["seed"]),
            "image_size": int(values["image_size"]),
            "control_rate": control_rate,
            "base_frame": "base",
            "publish_goal_image": True,
        },
    )
    planner_parameters = {
        "checkpoint": values["checkpoint"],
        "control_rate": control_rate,
        "autostart": values["autostart"].lower() == "true",
    }
    if values["goal_image_paths"]:
        planner_parameters["goal_image_paths"] = [
            p.strip() for p in values["goal_image_paths"].split(",")
        ]
    planner = NodeSpec(
        executable="planner",
        name="planner",
        parameter_files=(values["params_file"],),
        parameters=planner_parameters,
    )
    return [sim, planner]


# returns a launch.LaunchDescription (needs a ROS 2 distribution)
def generate_launch_description():  # noqa: ANN201
    """``ros2 launch`` entry point."""
    return launch_description(ARGUMENTS, node_specs)


if __name__ == "__main__":
    sys.exit(run_from_command_line(ARGUMENTS, node_specs, sys.argv[1:]))
