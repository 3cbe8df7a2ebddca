"""Launch files: node specs, parameter files and the node graph they create (built with rclpy here;
with ``launch``/``launch_ros`` where a ROS 2 distribution provides them)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import yaml
from ros_helpers import FakeController

from wm_control_ros import params
from wm_control_ros.launch_specs import NodeSpec, parse_launch_arguments
from wm_control_ros.planner import PlannerNode
from wm_control_ros.planner_config import PLANNER_PARAMS, PlannerConfig
from wm_control_ros.sim_arm import SIM_ARM_PARAMS, SimArmNode

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "launch" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SIM_LAUNCH, ARM_LAUNCH = _load("sim_launch"), _load("arm_launch")


@pytest.mark.parametrize(
    "path", sorted((ROOT / "configs" / "robot").glob("*.yaml")), ids=lambda p: p.name
)
def test_robot_parameter_files_are_valid_planner_configs(path):
    values = yaml.safe_load(path.read_text())["planner"]["ros__parameters"]
    declared = {spec.name: spec for spec in PLANNER_PARAMS}
    assert set(values) <= set(declared), set(values) - set(declared)
    for name, value in values.items():  # rclpy refuses e.g. an int for a double parameter
        kind = declared[name].kind
        expected = {"bool": bool, "int": int, "float": float, "str": str}.get(kind)
        if expected is not None:
            assert type(value) is expected, f"{path.name}: {name} is {value!r}, expected {kind}"
        elif kind == "float_array":
            assert all(type(v) is float for v in value), f"{path.name}: {name} needs floats"
    config = params.build_config(
        PlannerConfig, PLANNER_PARAMS, {**params.defaults(PLANNER_PARAMS), **values}
    )
    assert config.watchdog_timeout <= 0.5 and config.command_mode == "twist"


def test_sim_launch_specs():
    sim, planner = SIM_LAUNCH.node_specs(
        checkpoint="/models/reach", env_id="wm_control/Push-v2", goal_image_paths="a.png, b.png"
    )
    assert (sim.executable, planner.executable) == ("sim_arm", "planner")
    assert set(sim.parameters) <= {s.name for s in SIM_ARM_PARAMS}
    assert set(planner.parameters) <= {s.name for s in PLANNER_PARAMS}
    assert (
        sim.parameters["env_id"] == "wm_control/Push-v2" and planner.parameters["autostart"] is True
    )
    assert planner.parameters["goal_image_paths"] == ["a.png", "b.png"]
    assert Path(planner.parameter_files[0]).name == "sim.yaml"
    assert sim.parameters["control_rate"] == planner.parameters["control_rate"] == 4.0
    args = planner.ros_args()
    assert (
        args[:3] == ["--ros-args", "-r", "__node:=planner"]
        and "goal_image_paths:=[a.png,b.png]" in args
    )
    with pytest.raises(SystemExit, match="checkpont"):
        SIM_LAUNCH.node_specs(checkpont="typo")


def test_sim_launch_defaults_to_the_shipped_model():
    from wm_control import WorldModel

    _, planner = SIM_LAUNCH.node_specs()
    path = Path(planner.parameters["checkpoint"])
    assert path.is_file() and path.parent.name == "sim_default"
    assert WorldModel.read_metadata(path)["producer"] == "wm-control train"


def test_arm_launch_specs_remap_every_interface():
    (planner,) = ARM_LAUNCH.node_specs(
        checkpoint="/models/droid", camera_topic="/cam/rgb", command_topic="/servo/delta_twist_cmds"
    )
    remaps = dict(planner.remappings)
    assert (
        remaps["camera/image_raw"] == "/cam/rgb"
        and remaps["delta_twist_cmds"] == "/servo/delta_twist_cmds"
    )
    assert set(remaps) == {
        "camera/image_raw",
        "ee_pose",
        "delta_twist_cmds",
        "target_pose",
        "gripper/command",
        "gripper/state",
        "goal_image",
    }
    assert Path(planner.parameter_files[0]).name == "franka_moveit_servo.yaml"
    assert planner.parameters["autostart"] is False
    with pytest.raises(ValueError, match="parameter file"):
        NodeSpec(executable="planner", name="planner", parameter_files=("/missing.yaml",))
    assert parse_launch_arguments(["autostart:=true"], {"autostart": "false"}) == {
        "autostart": "true"
    }


def _topics(entities) -> set[str]:
    return {entity.topic_name for entity in entities}


def test_sim_launch_graph_connects_the_nodes(ros_context, tiny_checkpoint):
    """Both nodes built from the launch file's own --ros-args: parameters and topics line up."""
    sim_spec, planner_spec = SIM_LAUNCH.node_specs(checkpoint=str(tiny_checkpoint), image_size="64")
    sim = SimArmNode(context=ros_context, cli_args=sim_spec.ros_args())
    planner = PlannerNode(
        context=ros_context,
        cli_args=planner_spec.ros_args(),
        controller_factory=lambda config: FakeController(lambda state: state * 0),
    )
    try:
        assert sim.config.image_size == 64 and sim.config.env_id == "wm_control/Reach-v2"
        assert planner.config.checkpoint == str(tiny_checkpoint) and planner.config.autostart
        assert planner.config.command_frame == sim.config.base_frame == "base"  # from sim.yaml
        assert planner.config.watchdog_timeout == 0.5  # sim.yaml (the default is 0.3)
        assert {"/camera/image_raw", "/ee_pose", "/goal_image"} <= _topics(sim.publishers)
        assert _topics(planner.subscriptions) <= _topics(sim.publishers) | {"/parameter_events"}
        assert {"/delta_twist_cmds", "/gripper/command"} <= _topics(planner.publishers)
        assert {"/delta_twist_cmds", "/gripper/command"} <= _topics(sim.subscriptions)
    finally:
        planner.destroy_node()
        sim.destroy_node()


def test_arm_launch_graph_uses_the_franka_parameters_and_remaps(ros_context):
    (spec,) = ARM_LAUNCH.node_specs(checkpoint="/models/droid")
    planner = PlannerNode(
        context=ros_context,
        cli_args=spec.ros_args(),
        controller_factory=lambda config: FakeController(lambda state: state * 0),
    )
    try:
        config = planner.config
        assert (config.command_frame, config.command_rate, config.publish_gripper) == (
            "fr3_link0",
            100.0,
            False,
        )
        assert (
            config.max_linear_speed == 0.1
            and config.watchdog_timeout == 0.3
            and not config.autostart
        )
        assert {
            "/camera/color/image_raw",
            "/franka_robot_state_broadcaster/current_pose",
            "/goal_image",
            "/gripper/state",
        } <= _topics(planner.subscriptions)
        assert {"/servo_node/delta_twist_cmds", "/planner/status"} <= _topics(planner.publishers)
        assert "/gripper/command" not in _topics(planner.publishers)  # publish_gripper: false
    finally:
        planner.destroy_node()


def test_launch_descriptions_build_where_launch_is_installed(tiny_checkpoint):
    if importlib.util.find_spec("launch_ros") is None:
        pytest.skip(
            "launch/launch_ros need a ROS 2 distribution (no wheels); the node graph is tested "
            "above"
        )
    from launch import LaunchContext
    from launch.actions import DeclareLaunchArgument, OpaqueFunction

    for module in (SIM_LAUNCH, ARM_LAUNCH):
        description = module.generate_launch_description()
        declared = [e for e in description.entities if isinstance(e, DeclareLaunchArgument)]
        assert [a.name for a in declared] == list(module.ARGUMENTS)
        (setup,) = [e for e in description.entities if isinstance(e, OpaqueFunction)]
        context = LaunchContext()
        context.launch_configurations.update({n: d for n, (d, _) in module.ARGUMENTS.items()})
        nodes = setup.execute(context)
        assert len(nodes) == len(module.node_specs())


def test_readme_documents_every_parameter_topic_and_launch_argument():
    readme = (ROOT / "ros_nodes" / "README.md").read_text()
    for spec in (*PLANNER_PARAMS, *SIM_ARM_PARAMS):
        assert f"| `{spec.name}` |" in readme, spec.name
        if spec.kind in ("int", "float", "str"):  # the documented default is the declared one
            shown = spec.default if spec.default != "" else "''"
            assert f"| `{spec.name}` | {spec.kind} | `{shown}` |" in readme, spec.name
    for topic in (
        "camera/image_raw",
        "ee_pose",
        "delta_twist_cmds",
        "gripper/command",
        "goal_image",
        "planner/status",
        "target_pose",
        "joint_states",
        "camera/camera_info",
        "gripper/state",
    ):
        assert f"| `{topic}` |" in readme, topic
    for module in (SIM_LAUNCH, ARM_LAUNCH):
        for name in module.ARGUMENTS:
            assert f"`{name}`" in readme, name


def test_built_controller_imagines_actions_through_the_workspace_box(
    tiny_checkpoint, one_torch_thread
):
    from wm_control.planning import Workspace
    from wm_control_ros.controller import build_controller

    values = {
        **params.defaults(PLANNER_PARAMS),
        "checkpoint": str(tiny_checkpoint),
        "device": "cpu",
        "torch_threads": 1,
        "workspace_min": (0.3, -0.2, 0.05),
        "workspace_max": (0.7, 0.2, 0.5),
    }
    controller = build_controller(params.build_config(PlannerConfig, PLANNER_PARAMS, values))
    assert controller.workspace == Workspace((0.3, -0.2, 0.05), (0.7, 0.2, 0.5))
    controller.set_goal(np.full((64, 64, 3), 200, np.uint8))
    on_floor = np.array([0.5, 0.0, 0.05, 0.0, 0.0, 0.0, 0.0], np.float32)
    step = controller.act(np.full((64, 64, 3), 90, np.uint8), on_floor)
    assert step.action[2] >= -1e-6  # never below the box's floor
