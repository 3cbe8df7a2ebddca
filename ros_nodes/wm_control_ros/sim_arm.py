"""``sim_arm`` node: a MuJoCo arm task from ``envs`` as a ROS 2 robot.

Publishes ``camera/image_raw`` (sensor_msgs/Image rgb8, sensor-data QoS), ``camera/camera_info``,
``joint_states``, ``ee_pose`` (PoseStamped), ``gripper/state`` (Float64, 0 open .. 1 closed) and the
episode's goal image on ``goal_image`` (transient local). Accepts ``delta_twist_cmds``
(TwistStamped, MoveIt Servo convention: a velocity held until the next one or ``command_timeout``),
``target_pose`` (PoseStamped) and ``gripper/command`` (Float64). Service ``~/reset`` (Trigger)
starts a new episode.

The simulation runs in its own thread in real time: every control period it integrates the
received twists into a commanded end-effector pose and steps once with the Δ action that leads
from the measured pose to it (clipped to the action bounds); between steps the (static) scene
is republished at ``publish_rate``. MuJoCo's OpenGL context lives in that thread only.
"""

from __future__ import annotations

from envs.headless import headless_rendering_default

headless_rendering_default()  # MuJoCo picks its OpenGL backend when it is first imported (below)

import math  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from typing import Any  # noqa: E402

import gymnasium as gym  # noqa: E402
import mujoco  # noqa: E402
import numpy as np  # noqa: E402
from geometry_msgs.msg import PoseStamped, TwistStamped  # noqa: E402
from rclpy.executors import SingleThreadedExecutor  # noqa: E402
from rclpy.node import Node  # noqa: E402
from sensor_msgs.msg import CameraInfo, Image, JointState  # noqa: E402
from std_msgs.msg import Float64  # noqa: E402
from std_srvs.srv import Trigger  # noqa: E402

import envs  # noqa: E402,F401  (registers the wm_control/* gymnasium ids)
from envs.base import ORIENTATION_LIMIT, WORKSPACE_HIGH, WORKSPACE_LOW  # noqa: E402
from envs.rotations import euler_to_matrix, matrix_to_euler  # noqa: E402

from . import params  # noqa: E402
from .node_main import run_node  # noqa: E402
from .conversions import (  # noqa: E402
    array_to_image,
    camera_info_for,
    pose_msg_to_state,
    state_to_pose,
    twist_msg_to_velocity,
)
from .params import ParamSpec  # noqa: E402
from .qos import COMMAND_QOS, GOAL_QOS, SENSOR_QOS  # noqa: E402
from .twist_integrator import TwistIntegrator  # noqa: E402

SIM_ARM_PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec("env_id", "str", "wm_control/Reach-v2", "Gymnasium id of the task.", read_only=True),
    ParamSpec(
        "seed",
        "int",
        0,
        "Seed of the first episode (each reset adds 1).",
        0,
        2**31 - 1,
        read_only=True,
    ),
    ParamSpec("image_size", "int", 128, "Camera image size (px, square).", 16, 512, read_only=True),
    ParamSpec(
        "control_rate",
        "float",
        4.0,
        "Simulation steps per second (one Δ action each, real time).",
        0.5,
        100.0,
        read_only=True,
    ),
    ParamSpec(
        "publish_rate",
        "float",
        15.0,
        "Rate (Hz) of camera, pose, gripper and joint-state messages.",
        1.0,
        200.0,
        read_only=True,
    ),
    ParamSpec(
        "command_timeout",
        "float",
        0.5,
        "A twist is held at most this long (s) without a new one.",
        0.01,
        10.0,
        read_only=True,
    ),
    ParamSpec(
        "base_frame",
        "str",
        "base",
        "frame_id of ee_pose; commands must use it (or '').",
        read_only=True,
    ),
    ParamSpec(
        "camera_frame", "str", "exterior_camera", "frame_id of the camera messages.", read_only=True
    ),
    ParamSpec("camera", "str", "exterior", "Camera of the scene to publish.", read_only=True),
    ParamSpec(
        "publish_goal_image",
        "bool",
        True,
        "Publish the episode's goal image on goal_image.",
        read_only=True,
    ),
    ParamSpec(
        "goal_index",
        "int",
        -1,
        "Which goal image of the episode to publish (-1 = the final one).",
        -100,
        100,
        read_only=True,
    ),
)


@dataclass(frozen=True)
class SimArmConfig:
    """Validated sim_arm parameters (see SIM_ARM_PARAMS)."""

    env_id: str
    seed: int
    image_size: int
    control_rate: float
    publish_rate: float
    command_timeout: float
    base_frame: str
    camera_frame: str
    camera: str
    publish_goal_image: bool
    goal_index: int

    def __post_init__(self) -> None:
        if self.env_id not in gym.registry:
            known = sorted(k for k in gym.registry if k.startswith("wm_control/"))
            raise ValueError(f"env_id: expected one of {known}, found {self.env_id!r}")
        for name in ("control_rate", "publish_rate", "command_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"{name}: expected a finite number > 0, found {value!r}")


class SimArmNode(Node):
    """See the module docstring."""

    def __init__(
        self,
        *,
        node_name: str = "sim_arm",
        parameter_overrides: dict[str, Any] | None = None,
        **node_kwargs: Any,
    ) -> None:
        super().__init__(node_name, **node_kwargs)
        self.fatal_error: str | None = None  # set when the simulation stops; ends the process
        try:
            self._build(parameter_overrides)
        except BaseException:
            # Half built: the base class's destroy_node releases the ROS entities, so the
            # context's shutdown does not destroy this node a second time.
            Node.destroy_node(self)
            raise

    def _build(self, parameter_overrides: dict[str, Any] | None) -> None:
        params.declare(self, SIM_ARM_PARAMS, parameter_overrides)
        self.config: SimArmConfig = params.read_config(self, SimArmConfig, SIM_ARM_PARAMS)
        self._lock = threading.Lock()
        self._integrator = TwistIntegrator(self.config.command_timeout)
        self._pose_target: np.ndarray | None = None  # [6] xyz + Euler
        self._gripper_target = 0.0
        self._gripper_command = 0.0  # mirrors the env's integrated gripper command
        self._reset_requested = False
        self.counters = {"steps": 0, "rejected_commands": 0, "twists": 0, "successes": 0}
        self._episode_steps = 0
        self._episode_succeeded = False
        self.last_info: dict[str, Any] = {}

        self._image_pub = self.create_publisher(Image, "camera/image_raw", SENSOR_QOS)
        self._info_pub = self.create_publisher(CameraInfo, "camera/camera_info", SENSOR_QOS)
        self._joint_pub = self.create_publisher(JointState, "joint_states", COMMAND_QOS)
        self._pose_pub = self.create_publisher(PoseStamped, "ee_pose", COMMAND_QOS)
        self._gripper_pub = self.create_publisher(Float64, "gripper/state", COMMAND_QOS)
        self._goal_pub = self.create_publisher(Image, "goal_image", GOAL_QOS)
        self.create_subscription(TwistStamped, "delta_twist_cmds", self._on_twist, COMMAND_QOS)
        self.create_subscription(PoseStamped, "target_pose", self._on_target_pose, COMMAND_QOS)
        self.create_subscription(Float64, "gripper/command", self._on_gripper, COMMAND_QOS)
        self.create_service(Trigger, "~/reset", self._srv_reset)

        self._stop = threading.Event()
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="sim-arm", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise self._startup_error

    # ------------------------------------------------------------------ commands (executor thread)
    def _check_frame(self, frame_id: str, what: str) -> bool:
        if frame_id in ("", self.config.base_frame):
            return True
        self._reject(
            f"{what}: expected frame_id {self.config.base_frame!r} (or ''), found {frame_id!r}"
        )
        return False

    def _reject(self, reason: str) -> None:
        self.counters["rejected_commands"] += 1
        self.get_logger().error(f"command rejected: {reason}", throttle_duration_sec=1.0)

    def _on_twist(self, msg: TwistStamped) -> None:
        linear, angular = twist_msg_to_velocity(msg)
        now = time.monotonic()
        if not (np.all(np.isfinite(linear)) and np.all(np.isfinite(angular))):
            with self._lock:
                self._integrator.stop(now)
            self._reject(
                f"delta_twist_cmds: non-finite twist {linear.tolist()} {angular.tolist()}; holding "
                "still"
            )
            return
        if not self._check_frame(msg.header.frame_id, "delta_twist_cmds"):
            return
        with self._lock:
            self._pose_target = None
            self._integrator.add(linear, angular, now)
            self.counters["twists"] += 1

    def _on_target_pose(self, msg: PoseStamped) -> None:
        if not self._check_frame(msg.header.frame_id, "target_pose"):
            return
        try:
            target = pose_msg_to_state(msg, 0.0)[:6].astype(np.float64)
        except ValueError as error:
            self._reject(f"target_pose: {error}")
            return
        if not np.all(np.isfinite(target)):
            self._reject(f"target_pose: non-finite pose {target.tolist()}")
            return
        with self._lock:
            self._integrator.stop(time.monotonic())
            self._pose_target = target

    def _on_gripper(self, msg: Float64) -> None:
        if not math.isfinite(msg.data):
            self._reject(f"gripper/command: non-finite value {msg.data}")
            return
        with self._lock:
            self._gripper_target = float(np.clip(msg.data, 0.0, 1.0))

    def _srv_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        with self._lock:
            self._reset_requested = True
        response.success, response.message = True, "reset requested (next control step)"
        return response

    # ------------------------------------------------------------------ simulation (sim thread)
    def _run(self) -> None:
        try:
            env = gym.make(
                self.config.env_id,
                image_size=self.config.image_size,
                control_hz=self.config.control_rate,
            )
            if env.unwrapped.layout != "droid":
                env.close()
                raise ValueError(
                    f"env_id: {self.config.env_id} acts in the {env.unwrapped.layout!r} action "
                    f"layout; sim_arm turns twists into DROID end-effector deltas and runs the "
                    f"tasks of that layout (wm_control/Reach-v2, Push-v2, Grasp-v2, PickPlace-v2)"
                )
        except BaseException as error:  # noqa: BLE001 - reported to the constructor
            self._startup_error = error
            self._ready.set()
            return
        try:
            self._episode = 0
            self._reset(env)
            self._ready.set()
            self._loop(env)
        except BaseException as error:  # noqa: BLE001 - reported to the constructor or logged
            if not self._ready.is_set():
                self._startup_error = error
                self._ready.set()
            else:
                self.fatal_error = f"simulation stopped: {error!r}"
        finally:
            env.close()

    def _reset(self, env: gym.Env) -> None:
        self._obs, info = env.reset(seed=self.config.seed + self._episode)
        self._episode += 1
        self._episode_steps, self._episode_succeeded = 0, False
        self.last_info = info
        state = self._obs["state"].astype(np.float64)
        self._target_xyz, self._target_rot = state[:3], euler_to_matrix(state[3:6])
        with self._lock:
            self._integrator.take(time.monotonic())
            self._integrator.stop(time.monotonic())
            self._pose_target = None
            self._gripper_target = self._gripper_command = 0.0
        model = env.unwrapped.model
        moving = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
        self._joints = [
            (joint.name, int(joint.qposadr[0]), int(joint.dofadr[0]))
            for joint in (model.joint(i) for i in range(model.njnt))
            if int(joint.type[0]) in moving
        ]
        self._fovy = float(model.camera(self.config.camera).fovy[0])
        if self.config.publish_goal_image:
            goals = env.unwrapped.goal_images(self.config.camera)
            goal = goals[self.config.goal_index]
            self._goal_pub.publish(
                array_to_image(goal, self.get_clock().now().to_msg(), self.config.camera_frame)
            )

    def _loop(self, env: gym.Env) -> None:
        step_period, publish_period = 1.0 / self.config.control_rate, 1.0 / self.config.publish_rate
        next_step = time.monotonic() + step_period
        next_publish = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_step:
                next_step = max(next_step + step_period, now)
                self._step(env, now)
                next_publish = now
            if now >= next_publish:
                next_publish = max(next_publish + publish_period, now)
                self._publish(env)
            self._stop.wait(max(0.0, min(next_step, next_publish) - time.monotonic()))

    def _step(self, env: gym.Env, now: float) -> None:
        with self._lock:
            if self._reset_requested:
                self._reset_requested = False
                reset = True
            else:
                reset = False
                delta_xyz, delta_rot = self._integrator.take(now)
                target = self._pose_target
                gripper_delta = self._gripper_target - self._gripper_command
        if reset:
            self._reset(env)
            return
        state = self._obs["state"].astype(np.float64)
        if target is not None:
            self._target_xyz, self._target_rot = target[:3], euler_to_matrix(target[3:6])
        else:
            self._target_xyz = self._target_xyz + delta_xyz
            self._target_rot = delta_rot @ self._target_rot
        # The commanded pose is integrated here (as MoveIt Servo integrates twists into joint
        # targets): holding still does not accumulate the arm's tracking error.
        self._target_xyz = np.clip(self._target_xyz, WORKSPACE_LOW, WORKSPACE_HIGH)
        euler = np.clip(matrix_to_euler(self._target_rot), -ORIENTATION_LIMIT, ORIENTATION_LIMIT)
        self._target_rot = euler_to_matrix(euler)
        correction = self._target_rot @ euler_to_matrix(state[3:6]).T
        action = np.concatenate(
            [self._target_xyz - state[:3], matrix_to_euler(correction), [gripper_delta]]
        )
        if not np.all(np.isfinite(action)):
            self.get_logger().error(f"non-finite action {action.tolist()} not applied")
            return
        action = np.clip(action, env.action_space.low, env.action_space.high).astype(np.float32)
        self._obs, _, _, _, self.last_info = env.step(action)
        with self._lock:
            self._gripper_command = float(np.clip(self._gripper_command + action[6], 0.0, 1.0))
        self.counters["steps"] += 1
        self._episode_steps += 1
        if self.last_info["success"] and not self._episode_succeeded:  # said once per episode
            self._episode_succeeded = True
            self.counters["successes"] += 1
            distances = ", ".join(
                f"{name} {value * 100:.1f} cm"
                for name, value in self.last_info["distances"].items()
            )
            self.get_logger().info(
                f"episode {self._episode} (seed {self.config.seed + self._episode - 1}): "
                f"task success after {self._episode_steps} steps ({distances})"
            )

    def _publish(self, env: gym.Env) -> None:
        stamp = self.get_clock().now().to_msg()
        frame = self._obs["pixels"]
        self._image_pub.publish(array_to_image(frame, stamp, self.config.camera_frame))
        self._info_pub.publish(
            camera_info_for(
                frame.shape[0], frame.shape[1], self._fovy, stamp, self.config.camera_frame
            )
        )
        state = self._obs["state"]
        pose = PoseStamped()
        pose.header.stamp, pose.header.frame_id = stamp, self.config.base_frame
        pose.pose = state_to_pose(state)
        self._pose_pub.publish(pose)
        self._gripper_pub.publish(Float64(data=float(state[6])))
        data = env.unwrapped.data
        joints = JointState()
        joints.header.stamp = stamp
        joints.name = [name for name, _, _ in self._joints]
        joints.position = [float(data.qpos[q]) for _, q, _ in self._joints]
        joints.velocity = [float(data.qvel[v]) for _, _, v in self._joints]
        self._joint_pub.publish(joints)

    def ee_state(self) -> np.ndarray:
        """The latest measured 7-D state (float32), for tests and tools in the same process."""
        return self._obs["state"].copy()

    def close(self) -> None:
        """Stop the simulation thread (closes the renderer in its own thread)."""
        self._stop.set()
        self._thread.join(timeout=5.0)

    def destroy_node(self) -> None:
        """Stop the simulation thread first (it publishes), then the ROS entities."""
        self.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> None:
    """Entry point of ``ros2 run wm_control_ros sim_arm`` and ``wm-sim-arm``."""
    run_node(SimArmNode, lambda: SingleThreadedExecutor(), args)


if __name__ == "__main__":
    main()
