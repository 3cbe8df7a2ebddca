"""Helpers of the ROS node tests: spinning nodes in a thread, waiting, a probe node, a fake
controller."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from geometry_msgs.msg import PoseStamped, TwistStamped
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import Image
from std_msgs.msg import Float64, String
from std_srvs.srv import Trigger

from wm_control_ros.conversions import array_to_image, state_to_pose
from wm_control_ros.qos import COMMAND_QOS, GOAL_QOS, SENSOR_QOS


@contextlib.contextmanager
def spinning(context, *nodes: Node) -> Iterator[MultiThreadedExecutor]:
    """Spin ``nodes`` on a MultiThreadedExecutor in a background thread."""
    executor = MultiThreadedExecutor(num_threads=4, context=context)
    for node in nodes:
        executor.add_node(node)
    thread = threading.Thread(target=executor.spin, daemon=True)
    thread.start()
    try:
        yield executor
    finally:
        executor.shutdown(timeout_sec=5.0)
        thread.join(timeout=5.0)
        for node in nodes:
            node.destroy_node()


def wait_for(predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


class Probe(Node):
    """Records what the planner publishes and plays camera, pose and goal publishers."""

    def __init__(self, context, namespace: str) -> None:
        super().__init__("probe", context=context, namespace=namespace)
        self.lock = threading.Lock()
        self.twists: list[tuple[float, np.ndarray]] = []  # (monotonic receive time, [6])
        self.grippers: list[float] = []
        self.targets: list[PoseStamped] = []
        self.statuses: list[dict] = []
        self.create_subscription(TwistStamped, "delta_twist_cmds", self._on_twist, COMMAND_QOS)
        self.create_subscription(
            Float64, "gripper/command", lambda m: self.grippers.append(m.data), COMMAND_QOS
        )
        self.create_subscription(PoseStamped, "target_pose", self.targets.append, COMMAND_QOS)
        self.create_subscription(
            String,
            "planner/status",
            lambda m: self.statuses.append(json.loads(m.data)),
            COMMAND_QOS,
        )
        self.camera_pub = self.create_publisher(Image, "camera/image_raw", SENSOR_QOS)
        self.pose_pub = self.create_publisher(PoseStamped, "ee_pose", COMMAND_QOS)
        self.goal_pub = self.create_publisher(Image, "goal_image", GOAL_QOS)
        self.twist_pub = self.create_publisher(TwistStamped, "delta_twist_cmds", COMMAND_QOS)

    def _on_twist(self, msg: TwistStamped) -> None:
        t, a = msg.twist.linear, msg.twist.angular
        with self.lock:
            self.twists.append((time.monotonic(), np.array([t.x, t.y, t.z, a.x, a.y, a.z])))

    def twists_since(self, start: float) -> list[tuple[float, np.ndarray]]:
        with self.lock:
            return [(t, v) for t, v in self.twists if t >= start]

    def publish_inputs(self, frame: np.ndarray, state: np.ndarray, frame_id: str = "base") -> None:
        stamp = self.get_clock().now().to_msg()
        self.camera_pub.publish(array_to_image(frame, stamp, "camera"))
        pose = PoseStamped()
        pose.header.stamp, pose.header.frame_id = stamp, frame_id
        pose.pose = state_to_pose(state)
        self.pose_pub.publish(pose)

    def call(self, service: str, timeout: float = 5.0) -> Trigger.Response:
        client = self.create_client(Trigger, service)
        assert client.wait_for_service(timeout_sec=timeout), f"service {service} not available"
        future = client.call_async(Trigger.Request())
        assert wait_for(future.done, timeout), f"service {service} did not answer"
        self.destroy_client(client)
        return future.result()

    def last_status(self) -> dict:
        return self.statuses[-1] if self.statuses else {}


class InputStream:
    """Publishes a camera frame and a pose at ``rate`` Hz from a thread until stopped."""

    def __init__(
        self, probe: Probe, frame: np.ndarray, state: np.ndarray, rate: float = 30.0
    ) -> None:
        self.probe, self.frame, self.state, self.period = probe, frame, state, 1.0 / rate
        self.last_publish = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set() and self.probe.context.ok():
            try:
                self.probe.publish_inputs(self.frame, self.state)
            except Exception:  # noqa: BLE001 - the test ended (context shut down) while publishing
                return
            self.last_publish = time.monotonic()
            self._stop.wait(self.period)

    def stop(self) -> float:
        """Stop publishing; returns the monotonic time of the last message."""
        self._stop.set()
        self._thread.join()
        return self.last_publish


@dataclass
class FakeStep:
    action: np.ndarray
    energy: float
    planning_seconds: float
    observed_energy: float


class FakeController:
    """Stands in for MPCController where the test is about the node, not the model."""

    def __init__(
        self,
        action_fn: Callable[[np.ndarray], np.ndarray],
        observed_energy: Callable[[int], float] = lambda call: 1.0,
    ) -> None:
        """``observed_energy(call)``: the observed energy reported by the ``call``-th act
        (1-based)."""
        self.action_fn = action_fn
        self.observed_energy = observed_energy
        self.goals: list[np.ndarray] = []
        self.holds: list[dict[str, float]] = []  # what hold() was given, after each set_goal
        self.workspace = None  # set by the node when the workspace parameters change
        self.calls = 0
        self.resets = 0

    def set_goal(self, goal_image: np.ndarray) -> None:
        self.goals.append(goal_image)

    def hold(self, values: dict[str, float]) -> None:
        self.holds.append(dict(values))

    def act(self, frame: np.ndarray, state: np.ndarray) -> FakeStep:
        self.calls += 1
        return FakeStep(
            np.asarray(self.action_fn(state), np.float32),
            energy=1.0,
            planning_seconds=0.001,
            observed_energy=float(self.observed_energy(self.calls)),
        )

    def reset(self) -> None:
        self.resets += 1
