"""The nodes' main() as separate processes (what ``ros2 run`` and the console scripts start):
messages cross process boundaries over DDS, and Ctrl-C / SIGTERM end them with a zero command, also
when they were started with SIGINT ignored (from a script's background job)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from geometry_msgs.msg import PoseStamped
from ros_helpers import InputStream, Probe, spinning, wait_for

from wm_control_ros.conversions import array_to_image
from wm_control_ros.qos import COMMAND_QOS

STATE = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0], np.float32)


@contextlib.contextmanager
def _sigint_ignored():
    """Processes started inside inherit SIGINT ignored, as every job a script starts in the
    background does (POSIX shells without job control): nodes must still stop on SIGINT."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _start(module: str, ns: str, *ros_args: str, unset: tuple[str, ...] = ()) -> subprocess.Popen:
    # The whole environment is inherited: the ROS wheels' bootstrap flag and LD_LIBRARY_PATH must
    # travel together (and ROS_DOMAIN_ID / ROS_LOG_DIR keep the child in this test session).
    env = {k: v for k, v in os.environ.items() if k not in unset}
    with _sigint_ignored():
        return subprocess.Popen(
            [sys.executable, "-m", module, "--ros-args", "-r", f"__ns:={ns}", *ros_args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )


def _stop(process: subprocess.Popen, sig: int) -> tuple[int, str]:
    process.send_signal(sig)
    try:
        output, _ = process.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        output, _ = process.communicate()
    return process.returncode, output


@pytest.mark.slow
def test_planner_process_sends_zero_on_ctrl_c(ros_context, ns, tiny_checkpoint):
    process = _start(
        "wm_control_ros.planner",
        ns,
        "-p",
        f"checkpoint:={tiny_checkpoint}",
        "-p",
        "device:=cpu",
        "-p",
        "torch_threads:=1",
        "-p",
        "cem_samples:=16",
        "-p",
        "cem_iterations:=1",
        "-p",
        "cem_elites:=4",
        "-p",
        "autostart:=true",
        "-p",
        "watchdog_timeout:=1.0",
    )
    probe = Probe(ros_context, ns)
    stream = None
    try:
        with spinning(ros_context, probe):
            probe.goal_pub.publish(
                array_to_image(
                    np.full((64, 64, 3), 150, np.uint8), probe.get_clock().now().to_msg(), "camera"
                )
            )
            stream = InputStream(probe, np.full((64, 64, 3), 60, np.uint8), STATE)
            moving = lambda: any(np.any(v) for _, v in probe.twists_since(0.0))  # noqa: E731
            started = time.monotonic()
            assert wait_for(moving, 60.0), process.poll() or probe.last_status()
            print(
                f"planner process: first motion command {time.monotonic() - started:.1f} s after "
                "start"
            )
            code, output = _stop(process, signal.SIGINT)
            assert wait_for(lambda: not np.any(probe.twists[-1][1]), 2.0), (
                "last command is not zero"
            )
            stream.stop()
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0, output


@pytest.mark.slow
def test_sim_arm_process_publishes_and_stops_on_sigterm(ros_context, ns):
    # Started as from a shell without a display or rendering settings: it must pick headless EGL
    # itself.
    process = _start(
        "wm_control_ros.sim_arm",
        ns,
        "-p",
        "image_size:=32",
        "-p",
        "publish_rate:=20.0",
        unset=("MUJOCO_GL", "PYOPENGL_PLATFORM", "DISPLAY"),
    )
    probe = Probe(ros_context, ns)
    poses: list[PoseStamped] = []
    probe.create_subscription(PoseStamped, "ee_pose", poses.append, COMMAND_QOS)
    try:
        with spinning(ros_context, probe):
            assert wait_for(lambda: len(poses) >= 3, 30.0), process.poll()
            time.sleep(0.1)
            code, output = _stop(process, signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
    assert code == 0, output
    assert poses[-1].header.frame_id == "base"


def _children(pid: int) -> list[int]:
    return [int(child) for child in open(f"/proc/{pid}/task/{pid}/children").read().split()]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_launch_runner_stops_its_nodes_on_sigterm(ros_context, ns, tmp_path):
    """`python launch/sim_launch.py` killed by a supervisor (SIGTERM) must not orphan its nodes."""
    script = (
        "import sys; from wm_control_ros.launch_specs import NodeSpec, run; "
        "sys.exit(run([NodeSpec(executable='sim_arm', name='sim_arm', "
        "parameters={'image_size': 32}, "
        f"remappings=(('__ns', '{ns}'),))]))"
    )
    log = (tmp_path / "runner.log").open("w")  # not a pipe: an orphaned node would hold it open
    with _sigint_ignored():
        runner = subprocess.Popen(
            [sys.executable, "-c", script], stdout=log, stderr=subprocess.STDOUT
        )
    probe = Probe(ros_context, ns)
    poses: list[PoseStamped] = []
    probe.create_subscription(PoseStamped, "ee_pose", poses.append, COMMAND_QOS)
    nodes: list[int] = []
    try:
        with spinning(ros_context, probe):
            assert wait_for(lambda: len(poses) >= 3, 30.0), runner.poll()
            nodes = _children(runner.pid)
            assert len(nodes) == 1
            runner.send_signal(signal.SIGTERM)
            code = runner.wait(timeout=20)
    finally:
        for pid in [runner.pid, *nodes]:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        log.close()
    assert code == 0, (tmp_path / "runner.log").read_text()
    assert not _alive(nodes[0]), "the node outlived its launcher"


def test_node_process_stops_on_sigint_and_freezes_its_startup_heap():
    """run_node: SIGINT ends the node even when the process was started with it ignored, and the
    heap built before spinning is out of the garbage collector's reach (no long collector
    pauses)."""
    script = (
        "import gc, os, signal\n"
        "from rclpy.executors import SingleThreadedExecutor\n"
        "from rclpy.node import Node\n"
        "from wm_control_ros.node_main import run_node\n"
        "class Once(Node):\n"
        "    def __init__(self):\n"
        "        super().__init__('freeze_probe')\n"
        "        self.create_timer(0.05, self.report)\n"
        "    def report(self):\n"
        "        print('frozen objects', gc.get_freeze_count(), flush=True)\n"
        "        os.kill(os.getpid(), signal.SIGINT)\n"
        "run_node(Once, SingleThreadedExecutor, [])\n"
        "print('stopped', flush=True)\n"
    )
    with _sigint_ignored():
        process = subprocess.Popen(
            [sys.executable, "-c", script],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    try:
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "stopped" in output, output
    frozen = int(output.split("frozen objects", 1)[1].split()[0])
    assert frozen > 10_000, output  # rclpy, numpy and the node itself
