"""Scripted experts and the random exploration policy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs.episode import run_episode
from envs.experts import RandomPolicy, make_policy, success_rate


ARM_TASKS = [
    env_id for env_id in envs.TASKS if env_id.startswith("wm_control/") and "OGBench" not in env_id
]
"""This project's arm tasks, whose experts are the waypoint experts here (OGBench's oracles are
tested with its adapter and protocols)."""


@pytest.mark.parametrize("env_id", ARM_TASKS)
def test_expert_succeeds(env_id):
    env = gym.make(env_id, image_size=32)
    try:
        policy = make_policy("expert", env)
        results = [
            run_episode(env, policy, seed=seed, stop_at_success=False).success
            for seed in (11, 12, 13)
        ]
    finally:
        env.close()
    assert all(results), f"{env_id}: expert success per seed {results}"


def test_expert_reaches_its_goal_state():
    env = gym.make("wm_control/Reach-v2", image_size=32)
    try:
        observation, info = env.reset(seed=4)
        policy = make_policy("expert", env, seed=4)
        for _ in range(15):
            observation, _, _, _, info = env.step(policy(observation, info))
    finally:
        env.close()
    np.testing.assert_allclose(observation["state"], info["goal_state"], atol=0.02)


def test_noise_knob_perturbs_the_expert():
    env = gym.make("wm_control/Push-v2", image_size=32)
    try:
        observation, info = env.reset(seed=0)
        clean = make_policy("expert", env, noise=0.0, seed=0)(observation, info)
        noisy = make_policy("expert", env, noise=0.3, seed=0)(observation, info)
        assert env.action_space.contains(noisy)
        assert np.abs(noisy - clean).max() > 1e-3
        with pytest.raises(ValueError, match="noise"):
            make_policy("expert", env, noise=-1.0)
        with pytest.raises(ValueError, match="policy must be"):
            make_policy("teleop", env)
    finally:
        env.close()


def test_random_policy_is_seeded_and_in_bounds():
    space = gym.spaces.Box(-np.ones(7, np.float32), np.ones(7, np.float32))
    first, second = RandomPolicy(space, seed=3), RandomPolicy(space, seed=3)
    actions = [first({}, {}) for _ in range(20)]
    assert all(space.contains(a) for a in actions)
    np.testing.assert_array_equal(actions, [second({}, {}) for _ in range(20)])
    assert np.std(np.array(actions)[:, :3]) > 0.05


def test_success_rate_reports_a_fraction():
    assert success_rate("wm_control/Reach-v2", episodes=2) == 1.0


def test_success_table_covers_the_tasks_with_a_scripted_expert(capsys):
    from envs.experts import main

    main(["--episodes", "1"])
    rows = [
        line for line in capsys.readouterr().out.splitlines() if line.startswith("| wm_control/")
    ]
    assert [row.split(" | ")[0][2:] for row in rows] == [
        "wm_control/Reach-v2",
        "wm_control/Push-v2",
        "wm_control/Grasp-v2",
        "wm_control/PickPlace-v2",
    ]
