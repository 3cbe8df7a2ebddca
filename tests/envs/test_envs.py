"""The simulated tasks: gymnasium API, action convention, goal images, determinism, bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from envs.experts import make_policy
from envs.rotations import euler_to_matrix, matrix_to_euler, rotation_log

TASK_IDS = [i for i in envs.TASKS if i != "wm_control/OGBenchCubeSingle-v0"]
"""This project's arm tasks (OGBench's cube task has its own tests: test_ogbench_cube.py)."""
SIZE = 32


@pytest.fixture
def make():
    """gym.make with small images; closes every environment it made."""
    made: list[gym.Env] = []

    def _make(env_id: str, **kwargs) -> gym.Env:
        env = gym.make(env_id, **{"image_size": SIZE, **kwargs})
        made.append(env)
        return env

    yield _make
    for env in made:
        env.close()


def test_registered_ids():
    assert set(envs.TASKS) == {"wm_control/OGBenchCubeSingle-v0", *TASK_IDS}
    assert set(TASK_IDS) == {
        "wm_control/Reach-v2",
        "wm_control/Push-v2",
        "wm_control/Grasp-v2",
        "wm_control/PickPlace-v2",
    }
    assert all(env_id in gym.registry for env_id in envs.TASKS)


@pytest.mark.parametrize("env_id", TASK_IDS)
def test_check_env(make, env_id):
    env = make(env_id, render_mode="rgb_array", disable_env_checker=True)
    check_env(env.unwrapped)
    observation, info = env.reset(seed=1)
    assert env.observation_space.contains(observation)
    assert observation["pixels"].shape == (SIZE, SIZE, 3)
    assert observation["state"].dtype == np.float32
    assert env.render().shape == (SIZE, SIZE, 3)
    for key in ("success", "reward_terms", "distances", "goal_state", "action_clipped"):
        assert key in info
    _, reward, _, _, info = env.step(np.zeros(7, dtype=np.float32))
    assert reward == pytest.approx(sum(info["reward_terms"].values()))


@pytest.mark.parametrize("env_id", TASK_IDS)
def test_goal_images_are_renders_of_the_goal_configurations(make, env_id):
    env = make(env_id)
    observation, info = env.reset(seed=3)
    task = env.unwrapped
    goals = task.goal_configurations()
    images = task.goal_images()
    expected = {
        "wm_control/Reach-v2": 1,
        "wm_control/Push-v2": 4,
        "wm_control/Grasp-v2": 4,
        "wm_control/PickPlace-v2": 5,
    }[env_id]
    assert len(images) == len(goals) == expected
    assert (task.subgoal_steps is None) == (expected == 1)
    assert task.subgoal_steps is None or len(task.subgoal_steps) == expected
    for goal, image in zip(goals, images):
        assert image.shape == (SIZE, SIZE, 3) and image.dtype == np.uint8
        rendered = task.render_configuration(
            qpos=goal.arm_qpos, gripper=goal.gripper, object_poses=goal.object_poses
        )
        np.testing.assert_array_equal(image, rendered)
        assert np.abs(image.astype(int) - observation["pixels"].astype(int)).max() > 0
    np.testing.assert_allclose(info["goal_state"], goals[-1].state, atol=1e-6)


@pytest.mark.parametrize("env_id", TASK_IDS)
def test_goal_distance_measures_what_the_task_moves_to_its_goal(make, env_id):
    """info["goal_distance"]: the cube (Reach: the end effector) to where the final goal image shows
    it; the scripted expert brings it down to a few cm by the time it succeeds."""
    env = make(env_id)
    observation, info = env.reset(seed=5)
    moved = info.get("object_position", info["ee_position"])
    assert info["goal_distance"] == pytest.approx(
        float(np.linalg.norm(moved - info["goal_position"])), abs=1e-6
    )
    if (
        env_id == "wm_control/Push-v2"
    ):  # the cube rests at the goal's height: the planar distance success uses
        assert info["goal_distance"] == pytest.approx(info["distances"]["cube_to_goal"], abs=2e-3)
    start = info["goal_distance"]
    assert start > 0.05
    policy = make_policy("expert", env)
    policy.reset(5)
    for _ in range(env.spec.max_episode_steps):
        observation, _, _, _, info = env.step(policy(observation, info))
        if info["success"]:
            break
    assert info["success"]
    assert info["goal_distance"] < min(0.05, start / 2)


@pytest.mark.parametrize("env_id", ["wm_control/Push-v2", "wm_control/PickPlace-v2"])
def test_render_configuration_leaves_the_simulation_untouched(make, env_id):
    plain, probed = make(env_id), make(env_id)
    action = np.array([0.03, -0.02, -0.04, 0.0, 0.0, 0.1, 0.5], dtype=np.float32)
    for env in (plain, probed):
        env.reset(seed=5)
        env.step(action)
    before = probed.unwrapped.ee_state()
    probed.unwrapped.goal_images()
    probed.unwrapped.render_configuration(ee_position=[0.5, 0.1, 0.2], gripper=1.0)
    np.testing.assert_array_equal(probed.unwrapped.ee_state(), before)
    for _ in range(2):
        expected, *_ = plain.step(action)
        found, *_ = probed.step(action)
        np.testing.assert_array_equal(found["state"], expected["state"])
        np.testing.assert_array_equal(found["pixels"], expected["pixels"])


def test_render_configuration_from_an_end_effector_target(make):
    env = make("wm_control/Grasp-v2")
    env.reset(seed=0)
    task = env.unwrapped
    target = np.array([0.55, -0.1, 0.2])
    config = task.configuration(ee_position=target, ee_euler=[0.0, 0.0, 0.3], gripper=1.0)
    np.testing.assert_allclose(config.state[:3], target, atol=1e-3)
    np.testing.assert_allclose(config.state[3:6], [0.0, 0.0, 0.3], atol=1e-3)
    image = task.render_configuration(ee_position=target, ee_euler=[0.0, 0.0, 0.3], gripper=1.0)
    np.testing.assert_array_equal(
        image, task.render_configuration(qpos=config.arm_qpos, gripper=1.0)
    )
    with pytest.raises(ValueError, match="not reachable"):
        task.render_configuration(ee_position=[2.0, 0.0, 0.2])
    with pytest.raises(ValueError, match="unknown object"):
        task.render_configuration(object_poses={"ball": np.zeros(7)})


@pytest.mark.parametrize("env_id", ["wm_control/Push-v2", "wm_control/Grasp-v2"])
def test_same_seed_same_trajectory(make, env_id):
    actions = np.random.default_rng(0).uniform(-1, 1, (6, 7)).astype(np.float32) * 0.08

    def rollout(seed: int) -> list[dict[str, np.ndarray]]:
        env = make(env_id)
        observations = [env.reset(seed=seed)[0]]
        observations += [env.step(action)[0] for action in actions]
        return observations

    first, second, other = rollout(7), rollout(7), rollout(8)
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a["state"], b["state"])
        np.testing.assert_array_equal(a["pixels"], b["pixels"])
    assert not np.array_equal(first[0]["pixels"], other[0]["pixels"])


@pytest.mark.parametrize(
    "action, message",
    [
        (np.zeros(6), r"expected an action of shape \(7,\).*found shape \(6,\)"),
        (np.zeros((1, 7)), r"expected an action of shape \(7,\).*found shape \(1, 7\)"),
        ([0, 0, np.nan, 0, 0, 0, 0], r"expected finite action values, found NaN/inf in \['dz'\]"),
        ([np.inf, 0, 0, 0, 0, 0, -np.inf], r"found NaN/inf in \['dx', 'dgripper'\]"),
    ],
)
def test_bad_actions_raise_clear_errors(make, action, message):
    env = make("wm_control/Reach-v2")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=message):
        env.step(action)


def test_out_of_range_actions_are_clipped_and_reported(make):
    env = make("wm_control/Reach-v2")
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([0.01, 0, 0, 0, 0, 0, 0], dtype=np.float32))
    assert not info["action_clipped"]
    _, _, _, _, info = env.step(np.array([1.0, -1.0, 0, 0, 0, 5.0, 3.0], dtype=np.float32))
    assert info["action_clipped"]
    np.testing.assert_allclose(info["executed_action"], [0.075, -0.075, 0, 0, 0, 0.25, 1.0])


def test_action_convention_moves_the_end_effector_as_commanded(make):
    env = make("wm_control/Reach-v2")
    observation, _ = env.reset(seed=2)
    start = observation["state"]
    action = np.array([0.05, -0.03, 0.02, 0.0, 0.0, 0.2, 1.0], dtype=np.float32)
    observation, *_ = env.step(action)
    observation, *_ = env.step(np.zeros(7, dtype=np.float32))
    moved = observation["state"] - start
    np.testing.assert_allclose(moved[:3], action[:3], atol=0.005)
    np.testing.assert_allclose(moved[3:6], [0.0, 0.0, 0.2], atol=0.02)
    assert observation["state"][6] > 0.95  # closed: command 0 + 1 is integrated and held


def test_wrist_camera_and_bad_arguments(make):
    env = make("wm_control/Push-v2", wrist_camera=True)
    observation, _ = env.reset(seed=0)
    assert observation["wrist_pixels"].shape == (SIZE, SIZE, 3)
    assert not np.array_equal(observation["wrist_pixels"], observation["pixels"])
    with pytest.raises(ValueError, match="image_size"):
        gym.make("wm_control/Reach-v2", image_size=8)
    with pytest.raises(ValueError, match="substeps"):
        gym.make("wm_control/Reach-v2", control_hz=3.0, timestep=0.007)


def test_randomized_colors_change_the_scene_per_seed(make):
    env = make("wm_control/Push-v2", randomize_colors=True)
    first = env.reset(seed=0)[0]["pixels"]
    assert not np.array_equal(first, env.reset(seed=1)[0]["pixels"])
    np.testing.assert_array_equal(first, env.reset(seed=0)[0]["pixels"])


def test_euler_convention_round_trip():
    rng = np.random.default_rng(0)
    euler = rng.uniform([-3, -1.5, -3], [3, 1.5, 3], (50, 3))
    np.testing.assert_allclose(matrix_to_euler(euler_to_matrix(euler)), euler, atol=1e-9)
    roll, pitch, yaw = 0.3, -0.2, 1.1
    rx = euler_to_matrix(np.array([roll, 0, 0]))
    ry = euler_to_matrix(np.array([0, pitch, 0]))
    rz = euler_to_matrix(np.array([0, 0, yaw]))
    np.testing.assert_allclose(euler_to_matrix(np.array([roll, pitch, yaw])), rz @ ry @ rx)
    for angle in (1e-8, 0.5, np.pi - 1e-6, np.pi):
        axis = np.array([1.0, -2.0, 0.5]) / np.linalg.norm([1.0, -2.0, 0.5])
        vector = rotation_log(_axis_angle(axis, angle))
        assert np.linalg.norm(vector) == pytest.approx(angle, abs=1e-6)
        assert abs(vector @ axis) == pytest.approx(angle, abs=1e-6)


def _axis_angle(axis: np.ndarray, angle: float) -> np.ndarray:
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * k @ k


def _steer(env, obs, target: np.ndarray, steps: int):
    """Move the end effector to ``target`` (m), top-down at yaw 0, with bounded actions."""
    for _ in range(steps):
        delta = np.clip(target - obs["state"][:3], -0.075, 0.075)
        turn = np.clip(
            matrix_to_euler(euler_to_matrix(obs["state"][3:6].astype(np.float64)).T), -0.25, 0.25
        )
        obs, *_ = env.step(np.array([*delta, *turn, 0.0], np.float32))
    return obs


def test_arm_posture_depends_on_the_pose_not_the_path(make):
    """The 7-joint arm is redundant; its controller settles the spare freedom the same way every
    time (the null-space pull toward the rest posture runs to convergence), so an end-effector pose
    reached along different paths has the joints, and the image, of that pose's goal
    configuration."""
    env = make("wm_control/Reach-v2")
    task = env.unwrapped
    target = np.array([0.5, 0.1, 0.12])
    joints = []
    for seed, detour in ((0, (0.55, -0.2, 0.3)), (1, (0.35, 0.25, 0.05))):
        obs, _ = env.reset(seed=seed)
        obs = _steer(env, _steer(env, obs, np.array(detour), 6), target, 8)
        assert np.linalg.norm(obs["state"][:3] - target) < 2e-3
        joints.append(task.data.qpos[task._arm_qpos].copy())
    goal = task.configuration(ee_position=target, ee_euler=np.zeros(3)).arm_qpos
    assert np.abs(joints[0] - joints[1]).max() < 0.01
    assert np.abs(joints[0] - goal).max() < 0.01


def test_the_arm_holds_its_pose_when_told_to_stay(make):
    """Each action moves the target from the measured pose, so a controller that sags (the hand's
    weight on the joint servos) would drift a little further every step; the whole arm, hand
    included, is gravity-compensated, as a real arm's controller compensates its payload."""
    env = make("wm_control/Push-v2")
    obs, _ = env.reset(seed=3)
    start = obs["state"].copy()
    for _ in range(20):
        obs, *_ = env.step(np.zeros(7, np.float32))
    # measured: 3.5 mm and 0.0014 rad; with the hand's weight on the servos 17 mm and 0.058 rad
    assert np.abs(obs["state"][:3] - start[:3]).max() < 6e-3  # m
    assert np.abs(obs["state"][3:6] - start[3:6]).max() < 0.01  # rad
