"""Safety filter, watchdog, twist integration, goal sequences and parameter validation (no ROS
graph)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PIL import Image as PILImage

from wm_control_ros import params
from wm_control_ros.goals import GoalError, GoalSequence, load_goal_image
from wm_control_ros.planner_config import PLANNER_PARAMS, PlannerConfig
from wm_control_ros.safety import SafetyLimits, UnsafeCommandError, limit_action
from wm_control_ros.twist_integrator import TwistIntegrator
from wm_control_ros.watchdog import Watchdog

LIMITS = SafetyLimits(
    workspace_min=(0.2, -0.5, 0.0),
    workspace_max=(0.9, 0.5, 0.7),
    max_linear_speed=0.2,
    max_angular_speed=0.8,
    max_step_translation=0.05,
    max_step_rotation=0.2,
    max_gripper_step=0.5,
)
STATE = np.array([0.5, 0.0, 0.3, 0.0, 0.0, 0.0, 0.0])


def test_small_action_passes_unchanged():
    cmd = limit_action(np.array([0.01, -0.02, 0.0, 0, 0, 0.05, 0.2]), STATE, 0.25, LIMITS)
    np.testing.assert_allclose(cmd.delta_xyz, [0.01, -0.02, 0.0])
    np.testing.assert_allclose(cmd.linear_velocity, [0.04, -0.08, 0.0])
    np.testing.assert_allclose(cmd.angular_velocity, [0, 0, 0.2])
    assert cmd.gripper_target == pytest.approx(0.2) and cmd.limited == ()


def test_speed_and_step_limits_scale_keeping_direction():
    action = np.array([0.3, 0.4, 0.0, 0, 0, 0, 0])  # 0.5 m: far above 0.05 m / step
    cmd = limit_action(action, STATE, 0.25, LIMITS)
    assert np.linalg.norm(cmd.delta_xyz) == pytest.approx(0.05)
    np.testing.assert_allclose(cmd.delta_xyz / np.linalg.norm(cmd.delta_xyz), [0.6, 0.8, 0])
    assert "translation" in cmd.limited
    # a short period makes the speed limit the binding one: 0.2 m/s * 0.1 s = 0.02 m
    cmd = limit_action(action, STATE, 0.1, LIMITS)
    assert np.linalg.norm(cmd.linear_velocity) == pytest.approx(0.2)
    cmd = limit_action(np.array([0, 0, 0, 0, 0, 1.0, 0]), STATE, 0.25, LIMITS)
    assert np.linalg.norm(cmd.angular_velocity) == pytest.approx(0.8) and "rotation" in cmd.limited


def test_workspace_box_is_never_left():
    at_edge = STATE.copy()
    at_edge[0] = 0.89
    cmd = limit_action(np.array([0.05, 0, 0, 0, 0, 0, 0]), at_edge, 0.25, LIMITS)
    assert cmd.target_xyz[0] == pytest.approx(0.9) and "workspace" in cmd.limited
    for _ in range(200):
        state = STATE.copy()
        state[:3] = np.random.default_rng(_).uniform(LIMITS.workspace_min, LIMITS.workspace_max)
        action = np.random.default_rng(1000 + _).uniform(-1, 1, 7)
        target = limit_action(action, state, 0.25, LIMITS).target_xyz
        assert np.all(target >= np.array(LIMITS.workspace_min) - 1e-12)
        assert np.all(target <= np.array(LIMITS.workspace_max) + 1e-12)


def test_outside_the_box_only_motion_towards_it():
    outside = STATE.copy()
    outside[2] = 0.9  # 0.2 m above the box
    cmd = limit_action(np.array([0, 0, 0.05, 0, 0, 0, 0]), outside, 0.25, LIMITS)
    assert cmd.delta_xyz[2] < 0 and np.linalg.norm(cmd.delta_xyz) <= 0.05 + 1e-12


def test_gripper_step_and_range():
    cmd = limit_action(np.array([0, 0, 0, 0, 0, 0, 1.0]), STATE, 0.25, LIMITS)
    assert cmd.gripper_target == pytest.approx(0.5) and "gripper" in cmd.limited
    closed = STATE.copy()
    closed[6] = 0.9
    assert (
        limit_action(np.array([0, 0, 0, 0, 0, 0, 0.4]), closed, 0.25, LIMITS).gripper_target == 1.0
    )


@pytest.mark.parametrize("index", range(7))
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_action_or_state_is_refused(index, bad):
    action = np.zeros(7)
    action[index] = bad
    with pytest.raises(UnsafeCommandError, match="action"):
        limit_action(action, STATE, 0.25, LIMITS)
    state = STATE.copy()
    state[index] = bad
    with pytest.raises(UnsafeCommandError, match="state"):
        limit_action(np.zeros(7), state, 0.25, LIMITS)


@pytest.mark.parametrize(
    "field,value,match",
    [
        ("workspace_min", (1.0, 0.0, 0.0), "workspace_min < workspace_max"),
        ("max_linear_speed", 0.0, "max_linear_speed"),
        ("max_step_rotation", float("nan"), "max_step_rotation"),
    ],
)
def test_limits_validation_names_the_field(field, value, match):
    with pytest.raises(ValueError, match=match):
        dataclasses.replace(LIMITS, **{field: value})


def test_watchdog_on_an_injected_steady_clock():
    now = [100.0]
    dog = Watchdog(("camera", "pose"), timeout=0.3, clock=lambda: now[0])
    assert set(dog.stale()) == {"camera", "pose"} and "no camera yet" in dog.describe_stale()
    dog.feed("camera")
    dog.feed("pose")
    now[0] += 0.29
    assert dog.stale() == {}
    dog.feed("pose")
    now[0] += 0.02
    assert list(dog.stale()) == ["camera"] and "no camera for 0.31 s" in dog.describe_stale()
    with pytest.raises(KeyError):
        dog.feed("lidar")
    with pytest.raises(ValueError, match="timeout"):
        Watchdog(("camera",), timeout=0.0)


def test_twist_integrator_holds_until_timeout_and_composes_segments():
    integ = TwistIntegrator(timeout=0.5)
    integ.add([0.1, 0, 0], [0, 0, 0], now=0.0)
    integ.add([0, 0.2, 0], [0, 0, 0], now=0.1)  # replaces the first after 0.1 s
    dxyz, _ = integ.take(now=2.0)  # the second one expires at 0.6 s
    np.testing.assert_allclose(dxyz, [0.01, 0.1, 0.0])
    dxyz, drot = integ.take(now=3.0)
    np.testing.assert_allclose(dxyz, 0.0)
    np.testing.assert_allclose(drot, np.eye(3))
    integ.add([0.1, 0, 0], [0, 0, 0], now=3.0)
    integ.stop(now=3.1)
    np.testing.assert_allclose(integ.take(now=4.0)[0], [0.01, 0, 0])
    with pytest.raises(ValueError, match="finite"):
        integ.add([np.nan, 0, 0], [0, 0, 0], now=5.0)


def test_goal_sequence_advances_by_steps_and_energy():
    goals = GoalSequence()
    goals.replace([np.zeros((2, 2, 3), np.uint8)] * 3)
    version = goals.version
    assert goals.after_step(5.0, steps_per_goal=2, energy_threshold=0.0) == "continue"
    assert goals.after_step(5.0, steps_per_goal=2, energy_threshold=0.0) == "next"
    assert goals.index == 1 and goals.version == version + 1
    assert goals.after_step(0.1, steps_per_goal=0, energy_threshold=0.5) == "next"
    # the last goal needs 2 consecutive steps below the threshold; one above starts the count again
    assert (
        goals.after_step(0.1, steps_per_goal=0, energy_threshold=0.5, energy_steps=2) == "continue"
    )
    assert (
        goals.after_step(0.9, steps_per_goal=0, energy_threshold=0.5, energy_steps=2) == "continue"
    )
    assert (
        goals.after_step(0.1, steps_per_goal=0, energy_threshold=0.5, energy_steps=2) == "continue"
    )
    assert goals.after_step(0.1, steps_per_goal=0, energy_threshold=0.5, energy_steps=2) == "done"
    goals.restart()
    assert goals.index == 0 and goals.steps_on_goal == 0 and goals.steps_below == 0
    with pytest.raises(ValueError, match="energy_steps"):
        goals.after_step(0.1, steps_per_goal=0, energy_threshold=0.5, energy_steps=0)


def test_goal_image_files(tmp_path):
    path = tmp_path / "goal.png"
    PILImage.fromarray(np.full((8, 10, 3), 7, np.uint8)).save(path)
    frame = load_goal_image(path)
    assert frame.shape == (8, 10, 3) and frame.dtype == np.uint8 and frame[0, 0, 0] == 7
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(GoalError, match="readable image"):
        load_goal_image(tmp_path / "empty.png")
    with pytest.raises(GoalError, match="no file"):
        load_goal_image(tmp_path / "missing.png")


def _planner_values(**changes):
    values = params.defaults(PLANNER_PARAMS)
    values.update(changes)
    return values


def test_planner_defaults_are_valid_and_documented():
    config = params.build_config(PlannerConfig, PLANNER_PARAMS, _planner_values())
    assert (
        config.watchdog_timeout == 0.3
        and config.command_mode == "twist"
        and config.goal_files == ()
    )
    assert {f.name for f in dataclasses.fields(PlannerConfig)} == {s.name for s in PLANNER_PARAMS}
    for spec in PLANNER_PARAMS:
        descriptor = spec.descriptor()
        assert descriptor.description and descriptor.name == spec.name


@pytest.mark.parametrize(
    "changes,match",
    [
        ({"command_mode": "joint"}, "command_mode"),
        ({"cem_elites": 500}, "cem_elites"),
        ({"workspace_min": (0.5, 0.0, 0.0), "workspace_max": (0.4, 1.0, 1.0)}, "workspace_min"),
        ({"workspace_max": (1.0, 1.0)}, "workspace_max"),
        ({"command_rate": 2.0}, "command_rate"),
    ],
)
def test_planner_config_rejects_bad_values(changes, match):
    with pytest.raises(ValueError, match=match):
        params.build_config(PlannerConfig, PLANNER_PARAMS, _planner_values(**changes))
