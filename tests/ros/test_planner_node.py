"""The planner node over real DDS, with a fake controller: watchdog, goals, NaN, services,
shutdown."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image as PILImage
from rcl_interfaces.msg import Parameter as ParameterMsg
from rcl_interfaces.msg import ParameterType, ParameterValue
from rcl_interfaces.srv import SetParameters
from ros_helpers import FakeController, InputStream, Probe, spinning, wait_for
from sensor_msgs.msg import Image

from wm_control_ros.conversions import array_to_image
from wm_control_ros.planner import HeldCommand, PlannerNode
from wm_control_ros.safety import SafetyLimits, limit_action

STATE = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0], np.float32)
FRAME = np.full((32, 32, 3), 90, np.uint8)
GOAL = np.full((32, 32, 3), 200, np.uint8)
TIMEOUT = 0.3  # the default watchdog timeout
MOVE = np.array([0.01, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])


def _planner(context, ns, controller, **overrides) -> PlannerNode:
    # tests that are not about the watchdog give it slack: a loaded CI machine can stall the
    # 30 Hz input thread for longer than the 0.3 s default
    parameters = {"control_rate": 10.0, "autostart": True, "watchdog_timeout": 2.0, **overrides}
    return PlannerNode(
        context=context,
        namespace=ns,
        controller_factory=lambda config: controller,
        parameter_overrides=parameters,
    )


def _moving(probe: Probe, since: float) -> int:
    return sum(bool(np.any(v)) for _, v in probe.twists_since(since))


def _running_with_goal(context, ns, controller, **overrides):
    planner = _planner(context, ns, controller, **overrides)
    probe = Probe(context, ns)
    return planner, probe


class ManualClock:
    """A steady clock the test steps by hand: the watchdog's decisions become exact."""

    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _holds_still(probe: Probe) -> float:
    """Assert that the planner's last command was zero and that it publishes nothing more (a
    halted planner does not republish); returns the receive time of that zero."""
    time.sleep(0.2)  # what was on the wire arrives
    with probe.lock:
        count, (last_time, last) = len(probe.twists), probe.twists[-1]
    assert not np.any(last), f"the last command was not zero: {last.tolist()}"
    time.sleep(0.4)
    assert len(probe.twists) == count, f"commands after the halt: {probe.twists[count:]}"
    return last_time


def test_watchdog_zero_command_and_pause_until_started(ros_context, ns):
    """Inputs one tick younger than the timeout keep the arm moving; one tick older stop it."""
    clock = ManualClock()
    controller = FakeController(lambda state: MOVE)
    planner = PlannerNode(
        context=ros_context,
        namespace=ns,
        controller_factory=lambda config: controller,
        watchdog_clock=clock,
        # planning on inputs as they age (not only on those newer than the last command)
        parameter_overrides={
            "control_rate": 10.0,
            "autostart": True,
            "watchdog_timeout": TIMEOUT,
            "wait_for_outcome": False,
        },
    )
    probe = Probe(ros_context, ns)
    with spinning(ros_context, planner, probe):
        probe.goal_pub.publish(array_to_image(GOAL, probe.get_clock().now().to_msg(), "camera"))
        stream = InputStream(probe, FRAME, STATE)
        assert wait_for(lambda: _moving(probe, 0.0) >= 3, 15.0), probe.last_status()
        linear = probe.twists_since(0.0)[-1][1]
        np.testing.assert_allclose(linear, [0.1, 0, 0, 0, 0, 0], atol=1e-9)  # 0.01 m per 0.1 s
        stream.stop()  # every input arrived at clock time 100.0
        time.sleep(0.1)  # none still in flight

        clock.now = 100.0 + TIMEOUT - 1e-3  # not stale yet: ~6 watchdog checks later still running
        checked = time.monotonic()
        assert wait_for(lambda: _moving(probe, checked) >= 2, 5.0), "stopped before the timeout"
        assert planner._state == "running"

        clock.now = 100.0 + TIMEOUT + 1e-3  # stale: the next check pauses and sends zero
        assert wait_for(lambda: planner._state == "paused", 2.0), planner._reason
        assert "watchdog: no camera for 0.30 s" in planner._reason, planner._reason
        zero = _holds_still(probe)

        stream = InputStream(probe, FRAME, STATE)  # fresh inputs again: still paused until asked
        assert wait_for(lambda: planner._fresh_reason() == "", 2.0)
        time.sleep(0.3)
        assert planner._state == "paused" and _moving(probe, zero) == 0, "moved without start"
        resumed = time.monotonic()
        response = probe.call("planner/start")
        assert response.success, response.message
        assert wait_for(lambda: _moving(probe, resumed) >= 2, 5.0)
        stream.stop()


@pytest.mark.parametrize("wait_for_outcome", [True, False])
def test_each_plan_sees_the_outcome_of_the_last_command(ros_context, ns, wait_for_outcome):
    """With ``wait_for_outcome`` (the default) every plan starts from a camera frame and a pose
    that arrived after the last command ended, so it sees that command's outcome; without it, a
    tick plans on the latest inputs while the last command still moves the arm."""
    seen = []  # per plan: (last input arrival, end of the command before) (time.monotonic())
    node: list[PlannerNode] = []

    def act(state):
        generation, end = node[0]._last_command_end
        seen.append((min(node[0]._received.values()), end if generation >= 0 else -np.inf))
        return MOVE

    controller = FakeController(act)
    planner = _planner(ros_context, ns, controller, wait_for_outcome=wait_for_outcome)
    node.append(planner)
    probe = Probe(ros_context, ns)
    with spinning(ros_context, planner, probe):
        probe.goal_pub.publish(array_to_image(GOAL, probe.get_clock().now().to_msg(), "camera"))
        stream = InputStream(probe, FRAME, STATE)
        assert wait_for(lambda: len(seen) >= 6, 15.0), probe.last_status()
        stream.stop()
    stale = [arrived < ended for arrived, ended in seen[1:6]]
    if wait_for_outcome:
        assert not any(stale), seen
    else:
        assert any(stale), seen


def _set_goal_paths(probe: Probe, paths: list[str]):
    client = probe.create_client(SetParameters, "planner/set_parameters")
    assert client.wait_for_service(timeout_sec=5.0)
    value = ParameterValue(type=ParameterType.PARAMETER_STRING_ARRAY, string_array_value=paths)
    future = client.call_async(
        SetParameters.Request(parameters=[ParameterMsg(name="goal_image_paths", value=value)])
    )
    assert wait_for(future.done, 5.0)
    return future.result().results[0]


def test_bad_goal_images_are_rejected_and_the_node_keeps_running(ros_context, ns, tmp_path):
    controller = FakeController(lambda state: MOVE)
    planner, probe = _running_with_goal(ros_context, ns, controller)
    with spinning(ros_context, planner, probe):
        probe.goal_pub.publish(array_to_image(GOAL, probe.get_clock().now().to_msg(), "camera"))
        stream = InputStream(probe, FRAME, STATE)
        assert wait_for(lambda: planner._counters["step"] >= 2, 15.0), probe.last_status()

        wrong_encoding = Image(height=4, width=4, encoding="32FC1", step=16, data=bytes(64))
        probe.goal_pub.publish(wrong_encoding)
        assert wait_for(lambda: planner._counters["rejected_goals"] == 1, 5.0)
        probe.goal_pub.publish(Image(encoding="rgb8"))  # empty
        assert wait_for(lambda: planner._counters["rejected_goals"] == 2, 5.0)

        def rejected(text: str) -> bool:
            return any(
                text in s["event"] for s in probe.statuses if s["event"].startswith("goal rejected")
            )

        assert wait_for(lambda: rejected("32FC1") and rejected("non-empty"), 5.0), probe.statuses

        (tmp_path / "empty.png").write_bytes(b"")
        result = _set_goal_paths(probe, [str(tmp_path / "missing.png")])
        assert not result.successful and "no file" in result.reason
        result = _set_goal_paths(probe, [str(tmp_path / "empty.png")])
        assert not result.successful and "readable image" in result.reason

        steps = planner._counters["step"]
        assert wait_for(lambda: planner._counters["step"] >= steps + 3, 5.0), (
            "the node stopped planning"
        )
        assert planner._state == "running" and len(controller.goals) == 1
        np.testing.assert_array_equal(controller.goals[0], GOAL)

        PILImage.fromarray(np.full((16, 16, 3), 33, np.uint8)).save(tmp_path / "new.png")
        assert _set_goal_paths(probe, [str(tmp_path / "new.png")]).successful
        assert wait_for(lambda: len(controller.goals) == 2, 5.0)
        assert controller.goals[1][0, 0, 0] == 33
        stream.stop()


def test_nan_or_inf_actions_never_leave_the_planner(ros_context, ns):
    actions = iter([MOVE, MOVE, MOVE, np.array([np.nan, 0, 0, 0, 0, 0, 0]), MOVE, MOVE])
    controller = FakeController(lambda state: next(actions))
    planner, probe = _running_with_goal(ros_context, ns, controller)
    with spinning(ros_context, planner, probe):
        probe.goal_pub.publish(array_to_image(GOAL, probe.get_clock().now().to_msg(), "camera"))
        stream = InputStream(probe, FRAME, STATE)
        assert wait_for(lambda: planner._state == "paused", 15.0), probe.last_status()
        assert "unsafe command" in planner._reason and planner._counters["rejected_commands"] == 1
        time.sleep(0.2)
        stream.stop()
    twists = np.array([v for _, v in probe.twists])
    assert len(twists) > 3 and np.all(np.isfinite(twists)) and np.all(np.isfinite(probe.grippers))
    assert not np.any(twists[-1]), "the last command is not zero"


def test_pose_frame_mismatch_blocks_start(ros_context, ns):
    controller = FakeController(lambda state: MOVE)
    planner = _planner(ros_context, ns, controller, command_frame="base", autostart=False)
    probe = Probe(ros_context, ns)
    with spinning(ros_context, planner, probe):
        probe.goal_pub.publish(array_to_image(GOAL, probe.get_clock().now().to_msg(), "camera"))
        for _ in range(10):
            probe.publish_inputs(FRAME, STATE, frame_id="world")
            time.sleep(0.02)
        response = probe.call("planner/start")
        assert not response.success and "no pose yet" in response.message
        assert controller.calls == 0


def test_subgoal_sequence_then_done_and_zero_on_shutdown(ros_context, ns, tmp_path):
    paths = []
    for value in (10, 20):
        paths.append(str(tmp_path / f"goal{value}.png"))
        PILImage.fromarray(np.full((8, 8, 3), value, np.uint8)).save(paths[-1])
    controller = FakeController(lambda state: MOVE)
    planner = _planner(
        ros_context,
        ns,
        controller,
        goal_image_paths=paths,
        subgoal_steps=2,
        subgoal_jaws=["closed"],
    )
    probe = Probe(ros_context, ns)
    with spinning(ros_context, planner, probe):
        stream = InputStream(probe, FRAME, STATE)
        assert wait_for(lambda: planner._state == "done", 15.0), probe.last_status()
        assert [int(g[0, 0, 0]) for g in controller.goals] == [10, 20] and planner._counters[
            "step"
        ] == 4
        # jaws held closed for the first sub-goal, the gripper planned for the second (past the
        # list)
        assert controller.holds == [{"dgripper": 0.75}, {}]
        assert controller.resets >= 2  # fresh warm start for each sub-goal
        assert wait_for(lambda: probe.twists and not np.any(probe.twists[-1][1]), 2.0)

        started = time.monotonic()
        assert probe.call("planner/start").success  # restarts the sequence
        assert wait_for(lambda: _moving(probe, started) >= 1, 5.0)
        assert probe.call("planner/pause").success
        zero = _holds_still(probe)
        assert probe.call("planner/start").success
        assert wait_for(lambda: _moving(probe, zero) >= 1, 5.0)
        planner.close()  # shutdown: zero command delivered before returning
        assert wait_for(lambda: not np.any(probe.twists[-1][1]), 2.0)
        stream.stop()


def test_pose_mode_targets_stay_in_the_workspace(ros_context, ns):
    controller = FakeController(lambda state: np.array([0.3, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0]))
    near_edge = STATE.copy()
    near_edge[0] = 0.89
    planner = _planner(ros_context, ns, controller, command_mode="pose")
    probe = Probe(ros_context, ns)
    with spinning(ros_context, planner, probe):
        probe.goal_pub.publish(array_to_image(GOAL, probe.get_clock().now().to_msg(), "camera"))
        stream = InputStream(probe, FRAME, near_edge)
        assert wait_for(lambda: len(probe.targets) >= 3, 15.0), probe.last_status()
        stream.stop()
    for target in probe.targets:
        p = target.pose.position
        assert p.x <= 0.9 + 1e-9 and p.z <= 0.7 + 1e-9 and target.header.frame_id == "base"
        step = np.linalg.norm([p.x - near_edge[0], p.y - near_edge[1], p.z - near_edge[2]])
        assert step <= 0.05 + 1e-9


def test_planner_imagines_actions_through_the_workspace_set_at_run_time(ros_context, ns):
    from rclpy.parameter import Parameter

    from wm_control.planning import Workspace

    controller = FakeController(lambda state: MOVE)
    planner = _planner(ros_context, ns, controller)
    probe = Probe(ros_context, ns)
    with spinning(ros_context, planner, probe):
        probe.goal_pub.publish(array_to_image(GOAL, probe.get_clock().now().to_msg(), "camera"))
        stream = InputStream(probe, FRAME, STATE)
        assert wait_for(lambda: controller.calls >= 2, 15.0), probe.last_status()
        assert controller.workspace is None  # the box the controller was built with is kept
        result = planner.set_parameters(
            [
                Parameter("workspace_min", Parameter.Type.DOUBLE_ARRAY, [0.3, -0.2, 0.1]),
                Parameter("workspace_max", Parameter.Type.DOUBLE_ARRAY, [0.6, 0.2, 0.5]),
            ]
        )
        assert all(r.successful for r in result)
        assert wait_for(lambda: controller.workspace is not None, 15.0), probe.last_status()
        stream.stop()
    assert controller.workspace == Workspace((0.3, -0.2, 0.1), (0.6, 0.2, 0.5))
    assert planner._limits.workspace_min == (0.3, -0.2, 0.1)  # the safety filter uses the same box


def test_parameters_are_declared_with_descriptions_and_ranges(ros_context, ns):
    planner = PlannerNode(
        context=ros_context,
        namespace=ns,
        controller_factory=lambda config: FakeController(lambda s: MOVE),
    )
    descriptor = planner.describe_parameter("watchdog_timeout")
    assert "steady clock" in descriptor.description and descriptor.read_only
    assert planner.get_parameter("watchdog_timeout").value == pytest.approx(0.3)
    from rclpy.parameter import Parameter

    result = planner.set_parameters([Parameter("max_linear_speed", Parameter.Type.DOUBLE, -1.0)])[0]
    assert not result.successful
    result = planner.set_parameters(
        [Parameter("workspace_min", Parameter.Type.DOUBLE_ARRAY, [2.0, 0.0, 0.0])]
    )[0]
    assert not result.successful and "workspace_min < workspace_max" in result.reason
    result = planner.set_parameters(
        [Parameter("subgoal_jaws", Parameter.Type.STRING_ARRAY, ["open", "shut"])]
    )[0]
    assert (
        not result.successful
        and "subgoal_jaws: expected entries from" in result.reason
        and "'shut'" in result.reason
    )
    assert planner.set_parameters([Parameter("max_linear_speed", Parameter.Type.DOUBLE, 0.05)])[
        0
    ].successful
    assert planner._limits.max_linear_speed == 0.05
    planner.destroy_node()


def test_planning_error_sends_zero_and_waits_for_start(ros_context, ns):
    def action(state):
        if controller.calls == 4:
            raise RuntimeError("CUDA out of memory")
        return MOVE

    controller = FakeController(action)
    planner, probe = _running_with_goal(ros_context, ns, controller)
    with spinning(ros_context, planner, probe):
        probe.goal_pub.publish(array_to_image(GOAL, probe.get_clock().now().to_msg(), "camera"))
        stream = InputStream(probe, FRAME, STATE)
        assert wait_for(lambda: planner._state == "error", 15.0), probe.last_status()
        assert "CUDA out of memory" in planner._reason
        assert wait_for(lambda: not np.any(probe.twists[-1][1]), 2.0)
        calls = controller.calls
        time.sleep(0.3)
        assert controller.calls == calls, "planning went on after the error"

        captured = probe.call("planner/capture_goal")  # the current camera image as the new goal
        assert captured.success, captured.message
        restarted = time.monotonic()
        assert probe.call("planner/start").success
        assert wait_for(lambda: _moving(probe, restarted) >= 2, 5.0)
        np.testing.assert_array_equal(controller.goals[-1], FRAME)
        stream.stop()


def test_a_held_command_is_repeated_only_in_its_run_and_before_its_deadline():
    """The planner repeats its last command at command_rate: never one planned in an earlier run
    (a halt or restart moves the generation on) and never past its deadline."""
    command = limit_action(MOVE, STATE, 0.1, SafetyLimits())
    held = HeldCommand(command, STATE, deadline=10.0, generation=3)
    assert held.is_live(3, 9.999)
    assert not held.is_live(2, 9.0) and not held.is_live(4, 9.0), "another run's command"
    assert not held.is_live(3, 10.0) and not held.is_live(3, 11.0), "an expired command"


def test_planner_process_hands_the_gil_back_quickly():
    """The node's worker returns from every torch operation to the GIL; with the default 5 ms
    switch interval the executor threads kept it long enough to starve the inputs (watchdog)."""
    script = (
        "import sys; from wm_control_ros.planner import GIL_SWITCH_INTERVAL, configure_process; "
        "configure_process(); print(sys.getswitchinterval(), GIL_SWITCH_INTERVAL)"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    interval, expected = map(float, output.split())
    assert interval == pytest.approx(expected) and interval <= 0.001


def test_done_when_the_camera_sees_the_goal_then_zero_and_hold(ros_context, ns):
    """Observed energy below the threshold for subgoal_energy_steps consecutive steps: done, zero
    command, no motion after it; one step below (then above) does not count."""
    energies = [
        0.3,
        0.04,
        0.2,
        0.04,
        0.04,
        0.04,
    ]  # below 0.05 at calls 2, 4, 5, 6: done after call 6
    controller = FakeController(
        lambda state: MOVE, observed_energy=lambda call: energies[min(call, 6) - 1]
    )
    planner, probe = _running_with_goal(
        ros_context, ns, controller, subgoal_energy_threshold=0.05, subgoal_energy_steps=3
    )
    with spinning(ros_context, planner, probe):
        probe.goal_pub.publish(array_to_image(GOAL, probe.get_clock().now().to_msg(), "camera"))
        stream = InputStream(probe, FRAME, STATE)
        assert wait_for(lambda: planner._state == "done", 15.0), probe.last_status()
        assert controller.calls == 6 and planner._counters["step"] == 6
        assert "observed energy 0.0400 < 0.05 for 3 steps" in planner._reason, planner._reason
        _holds_still(probe)  # inputs keep coming: the planner holds still
        assert controller.calls == 6, "planned after done"
        assert wait_for(lambda: probe.last_status().get("state") == "done", 2.0)
        assert probe.last_status()["observed_energy"] == pytest.approx(0.04)
        stream.stop()


def test_gripper_state_assumed_open_is_reported(ros_context, ns):
    controller = FakeController(lambda state: MOVE)
    planner, probe = _running_with_goal(ros_context, ns, controller)
    with spinning(ros_context, planner, probe):
        probe.goal_pub.publish(array_to_image(GOAL, probe.get_clock().now().to_msg(), "camera"))
        stream = InputStream(probe, FRAME, STATE)
        assert wait_for(lambda: planner._counters["step"] >= 1, 15.0), probe.last_status()
        assert wait_for(
            lambda: probe.last_status().get("gripper_state") == "assumed open (no gripper/state)",
            2.0,
        ), probe.last_status()
        stream.stop()
