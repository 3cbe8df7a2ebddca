"""The OGBench cube adapter: action mapping, state layout, goal images, success, bad actions,
fast rendering, OGBench's oracles. One environment per mode for the module (making one is slow)."""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np
import pytest
import torch
from gymnasium.utils.env_checker import check_env

import envs  # noqa: F401  (registers the ids)
from envs.ogbench_cube import (
    ACTION_SCALE,
    SUCCESS_DISTANCE,
    OGBenchCubeEnv,
    action_to_delta,
    delta_to_action,
)
from envs.ogbench_oracles import OGBenchOracle
from wm_control.layouts import get_layout
from wm_control.pose import OGBENCH_SCALE

ENV_ID = "wm_control/OGBenchCubeSingle-v0"


@pytest.fixture(scope="module")
def task_env():
    env = gym.make(ENV_ID, disable_env_checker=True)
    yield env
    env.close()


@pytest.fixture(scope="module")
def play_env():
    env = gym.make(ENV_ID, mode="data_collection", disable_env_checker=True)
    yield env
    env.close()


def test_action_mapping_both_ways_is_ogbenchs(task_env):
    scene = task_env.unwrapped.scene
    action = np.array([0.3, -1.0, 0.5, 0.2, -0.4])
    delta = action_to_delta(action)
    assert np.allclose(delta, scene.unnormalize_action(action))
    assert np.allclose(delta_to_action(delta), action)
    assert np.allclose(delta_to_action(delta), scene.normalize_action(delta))
    assert np.allclose(delta_to_action(np.array([0.2, 0, 0, 0, 0]))[0], 1.0)  # clipped to [-1, 1]
    assert np.allclose(ACTION_SCALE[:4], OGBENCH_SCALE)  # the model's layout uses the same scale


def test_held_actions_move_the_state_as_the_layout_integrates(task_env):
    env = task_env.unwrapped
    observation, _ = env.reset(seed=3, options={"task_id": 2})
    layout = get_layout(env.layout)  # "ogbench": each action held for 5 control steps
    assert env.block == 5 and env.layout == "ogbench"
    state = torch.from_numpy(observation["state"]).double()
    start = observation["state"].copy()
    toward_centre = np.sign(np.array([0.425, 0.0, 0.2]) - start[:3])  # away from the box's walls
    actions = np.array(
        [[0.4, 0.4, 0.2, 0.5, 1.0], [0.4, 0.4, 0.2, 0.5, 1.0], [-0.3, -0.2, -0.2, -0.5, -1.0]],
        dtype=np.float32,
    )
    actions[:, :3] *= toward_centre
    for action in actions:
        observation, _, _, _, info = env.step(action)
        assert np.allclose(info["executed_action"], action)
        state = layout.integrate(state, torch.from_numpy(action).double())
        error = np.abs(observation["state"] - state.numpy())
        # m, of moves up to 4.3 cm per axis and action (the targets alone: 10 cm); z tracks
        # less evenly (down faster than up: the arm's weight)
        assert error[:2].max() < 0.015 and error[2] < 0.035, error
        assert error[3] < 0.07 and error[4] < 0.1, error  # rad of 0.16 per action; closure
    moved = (observation["state"] - start)[:3] * toward_centre
    assert moved[0] > 0.03 and moved[1] > 0.03 and moved[2] > 0.01  # the controller did move


def test_state_layout_is_ogbenchs_proprio(task_env):
    env = task_env.unwrapped
    observation, info = env.reset(seed=0)
    expected = np.concatenate(
        [
            info["proprio/effector_pos"],
            info["proprio/effector_yaw"],
            info["proprio/gripper_opening"],
        ]
    )
    assert observation["state"].dtype == np.float32 and observation["state"].shape == (5,)
    assert np.allclose(observation["state"], expected, atol=1e-6)
    assert env.state_names == get_layout("ogbench").state_names == ("x", "y", "z", "yaw", "gripper")
    assert env.action_names == get_layout("ogbench").action_names
    assert observation["pixels"].shape == (64, 64, 3) and observation["pixels"].dtype == np.uint8
    check_env(env, skip_render_check=True)


def test_goal_images_are_renders_of_the_goal(task_env):
    env = task_env.unwrapped
    _, info = env.reset(seed=1, options={"task_id": 4})
    (goal,) = env.goal_configurations()
    (image,) = env.goal_images()
    assert np.array_equal(image, info["goal"])  # OGBench's own goal image
    # OGBench renders right after its physics steps, with the body positions of the step's last
    # 2 ms substep not yet recomputed: a render of the goal configuration itself differs by that
    # much motion (the arm still settling), far less than from any other configuration
    render = env.render_configuration(goal.qpos, goal.qvel).astype(int)
    assert np.abs(render - image).mean() < 0.2  # 0.08 (a control step earlier: 0.33)
    assert np.abs(env.scene.render().astype(int) - image).mean() > 1.5  # the start, elsewhere
    cube = goal.qpos[env.scene._model.joint("object_joint_0").qposadr[0] :][:3]
    assert np.linalg.norm(cube - np.array([0.50, 0.2, 0.02])) < 0.01  # task 4's goal position
    assert np.allclose(info["goal_state"], goal.state)
    # the same seed gives the same goal image (OGBench's settling actions are seeded here)
    env.reset(seed=1, options={"task_id": 4})
    assert np.array_equal(env.goal_images()[0], image)


def test_success_is_ogbenchs_test(task_env):
    env = task_env.unwrapped
    _, info = env.reset(seed=2, options={"task_id": 1})
    assert not info["success"] and info["goal_distance"] > 0.1
    qpos, qvel = env.scene._data.qpos.copy(), env.scene._data.qvel.copy()
    cube = env.scene._model.joint("object_joint_0").qposadr[0]
    qpos[cube : cube + 3] = info["goal_position"] + np.array([0.0, 0.0, 0.001])
    env.scene.set_state(qpos, qvel)
    _, _, _, _, info = env.step(np.zeros(5, dtype=np.float32))
    assert info["success"] and info["goal_distance"] <= SUCCESS_DISTANCE


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (np.array([0.0, np.nan, 0.0, 0.0, 0.0]), r"NaN/inf in \['y'\]"),
        (np.array([0.0, 0.0, 0.0, np.inf, 0.0]), r"NaN/inf in \['yaw'\]"),
        (np.zeros(7), r"shape \(5,\)"),
        (np.zeros((1, 5)), r"shape \(5,\)"),
    ],
)
def test_bad_actions_are_refused(task_env, action, message):
    task_env.reset(seed=0)
    before = task_env.unwrapped.scene._data.qpos.copy()
    with pytest.raises(ValueError, match=message):
        task_env.step(action)
    assert np.array_equal(task_env.unwrapped.scene._data.qpos, before)  # nothing was executed


def test_out_of_range_actions_are_clipped_and_reported(task_env):
    task_env.reset(seed=0)
    _, _, _, _, info = task_env.step(np.array([3.0, 0, 0, 0, 0], dtype=np.float32))
    assert info["action_clipped"] and info["executed_action"][0] == 1.0


def test_rendering_is_set_up_for_cpus(task_env):
    scene = task_env.unwrapped.scene
    scene.render()
    assert scene._model.vis.quality.offsamples == 0
    assert not scene._model.light_castshadow.any()
    for flag in (
        mujoco.mjtRndFlag.mjRND_SHADOW,
        mujoco.mjtRndFlag.mjRND_REFLECTION,
        mujoco.mjtRndFlag.mjRND_SKYBOX,
    ):
        assert scene._renderer.scene.flags[flag] == 0


def test_ogbenchs_oracle_drives_blocks_reproducibly(play_env):
    env = play_env.unwrapped
    oracle = OGBenchOracle(play_env, kind="oracle", seed=7)
    global_state = np.random.get_state()[1].copy()
    runs = []
    for _ in range(2):
        observation, _ = env.reset(seed=11)
        oracle.reset(11)
        states, actions = [], []
        for _ in range(6):
            observation, _, _, _, info = env.step_block(oracle)
            states.append(observation["state"])
            actions.append(info["executed_action"])
        runs.append((np.array(states), np.array(actions)))
    assert np.array_equal(runs[0][0], runs[1][0]) and np.array_equal(runs[0][1], runs[1][1])
    assert np.array_equal(np.random.get_state()[1], global_state)  # NumPy's global RNG untouched
    assert np.abs(runs[0][1]).max() <= 1.0 and np.abs(runs[0][1]).max() > 0.1
    assert "privileged/target_block_pos" in info  # data-collection mode: OGBench's target


def _actions_per_call(env, oracle, blocks: int) -> np.ndarray:
    """The oracle's action at each of its calls over ``blocks`` blocks: ``[blocks, block, 5]``."""
    calls: list[np.ndarray] = []

    def policy(raw):
        calls.append(oracle(raw))
        return calls[-1]

    env.reset(seed=5)
    oracle.reset(5)
    for _ in range(blocks):
        env.step_block(policy)
    return np.array(calls).reshape(blocks, env.block, -1)


class _StandingOracle:
    """Stands in for OGBench's Markov oracle: always the zero action, so what the noisy oracle
    returns is its noise alone."""

    done = False

    def reset(self, ob, info) -> None:
        pass

    def select_action(self, ob, info) -> np.ndarray:
        return np.zeros(5)


@pytest.mark.parametrize("noise_per", ["step", "block"])
def test_noisy_oracle_draws_its_random_actions_per_step_or_per_block(play_env, noise_per):
    oracle = OGBenchOracle(
        play_env, kind="oracle_noisy", seed=2, p_random_action=1.0, noise_per=noise_per
    )
    actions = _actions_per_call(play_env.unwrapped, oracle, blocks=3)  # all random
    changes_within = np.abs(np.diff(actions, axis=1)).max()
    if noise_per == "block":  # held through each block, a new one for the next
        assert changes_within == 0.0
        assert np.abs(np.diff(actions[:, 0], axis=0)).min() > 0.0
    else:
        assert changes_within > 0.1


@pytest.mark.parametrize("noise_per", ["step", "block"])
def test_noisy_oracle_draws_its_gaussian_noise_per_step_or_per_block(
    play_env, monkeypatch, noise_per
):
    monkeypatch.setattr(OGBenchOracle, "_make_oracle", lambda self: _StandingOracle())
    oracle = OGBenchOracle(
        play_env, kind="oracle_noisy", seed=4, p_random_action=0.0, noise_per=noise_per
    )
    noise = _actions_per_call(play_env.unwrapped, oracle, blocks=3)  # zero action + noise
    assert np.abs(noise).max() > 0.0
    changes_within = np.abs(np.diff(noise, axis=1)).max()
    if noise_per == "block":
        assert changes_within == 0.0 and np.abs(np.diff(noise[:, 0], axis=0)).max() > 0.0
    else:
        assert changes_within > 0.0


def test_only_the_noisy_oracle_holds_noise(play_env):
    with pytest.raises(ValueError, match="only kind='oracle_noisy' adds noise to hold"):
        OGBenchOracle(play_env, kind="oracle", noise_per="block")
    with pytest.raises(ValueError, match=r"noise_per must be one of \('step', 'block'\)"):
        OGBenchOracle(play_env, kind="oracle_noisy", noise_per="episode")


def test_oracles_refuse_a_task_mode_env(task_env):
    with pytest.raises(ValueError, match="data-collection mode"):
        OGBenchOracle(task_env, kind="oracle")


def test_task_mode_has_no_oracle_targets_and_collection_mode_no_goal_image(play_env):
    with pytest.raises(RuntimeError, match="'task' mode"):
        play_env.unwrapped.goal_images()
    with pytest.raises(ValueError, match="control_hz must divide"):
        OGBenchCubeEnv(control_hz=3)


def _tiny_model(layout: str):
    from wm_control import WorldModel
    from wm_control.models.config import WorldModelConfig
    from wm_control.models.presets import encoder_preset, predictor_preset

    torch.manual_seed(0)
    encoder = encoder_preset("vit_tiny")
    predictor = predictor_preset("ac_mini", encoder, layout=layout)
    return WorldModel(WorldModelConfig(encoder=encoder, predictor=predictor)).eval()


def test_planning_the_task_needs_a_model_of_its_layout(task_env):
    from wm_control.episode import MPCAgent
    from wm_control.layouts import LayoutMismatchError
    from wm_control.planning.config import PlannerConfig

    from wm_control.planning.workspace import Workspace

    budget = dict(samples=8, iterations=1, elites=2)
    droid = PlannerConfig(**budget).controller(_tiny_model("droid"))
    with pytest.raises(LayoutMismatchError, match=r"'droid'.*OGBenchCubeSingle-v0 uses 'ogbench'"):
        MPCAgent(task_env, droid)
    planner = PlannerConfig(**budget, max_step=1.0, gripper_limit=1.0)
    box = Workspace(*task_env.unwrapped.workspace)  # imagined moves clipped as OGBench clips them
    agent = MPCAgent(task_env, planner.controller(_tiny_model("ogbench"), workspace=box))
    observation, info = task_env.reset(seed=0)
    agent.reset(0)
    action = agent(observation, info)
    assert action.shape == (5,) and np.abs(action).max() <= 1.0
    task_env.step(action)
