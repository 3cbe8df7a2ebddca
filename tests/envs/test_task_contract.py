"""Every registered task implements the task interface (envs.task.check_task), declares a layout
the stack knows with matching widths, and has a scripted policy that moves it without errors.
And check_task itself catches each kind of breach."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs
from envs.task import Task, TaskContractError, check_task
from wm_control.layouts import get_layout

OGBENCH = "wm_control/OGBenchCubeSingle-v0"
TASK_IDS = [pytest.param(i, marks=pytest.mark.slow) if i == OGBENCH else i for i in envs.TASKS]


@pytest.fixture(scope="module", params=TASK_IDS)
def env(request):
    env = gym.make(request.param, image_size=64)
    yield env
    env.close()


def test_every_registered_task_passes_the_contract(env):
    check_task(env)
    task = env.unwrapped
    assert isinstance(task, Task)
    layout = get_layout(task.layout)
    assert task.action_names == layout.action_names and task.state_names == layout.state_names
    assert env.action_space.shape == (layout.action_dim,)
    assert env.observation_space["state"].shape == (layout.state_dim,)


def _scripted_policy(env):
    if env.spec.id == OGBENCH:
        from envs.ogbench_oracles import OGBenchOracle

        oracle = OGBenchOracle(env.unwrapped, kind="oracle", seed=0)
        return oracle, lambda observation, info: oracle(info)
    from envs.experts import make_policy

    expert = make_policy("expert", env, seed=0)
    return expert, expert


def test_every_registered_task_has_a_scripted_policy(env):
    if env.spec.id == OGBENCH:  # OGBench's oracles collect in its data-collection mode
        env = gym.make(OGBENCH, image_size=64, mode="data_collection")
    policy, act = _scripted_policy(env)
    observation, info = env.reset(seed=3)
    policy.reset(seed=3)
    for _ in range(4):
        action = np.asarray(act(observation, info), np.float32)
        assert action.shape == env.action_space.shape and np.all(np.isfinite(action))
        observation, _, _, _, info = env.step(action)


class _Broken(gym.Wrapper):
    """Reach with one part of the interface broken at a time."""

    def __init__(self, env, breach):
        super().__init__(env)
        self.breach = breach

    def reset(self, **kwargs):
        observation, info = self.env.reset(**kwargs)
        if self.breach == "nondeterministic":
            observation = {
                **observation,
                "state": observation["state"] + np.random.rand(7).astype(np.float32),
            }
        if self.breach == "no_success":
            info = {k: v for k, v in info.items() if k != "success"}
        return observation, info

    def step(self, action):
        if self.breach == "accepts_nan":
            action = np.nan_to_num(np.asarray(action, np.float32))[:7]
            if action.shape != (7,):
                action = np.zeros(7, np.float32)
        return self.env.step(action)


@pytest.mark.parametrize(
    ("breach", "message"),
    [
        ("nondeterministic", "two different first observations"),
        ("no_success", "expected a bool 'success'"),
        ("accepts_nan", "expected ValueError for a NaN action"),
    ],
)
def test_check_task_names_each_breach(breach, message):
    env = _Broken(gym.make("wm_control/Reach-v2", image_size=32), breach)
    try:
        with pytest.raises(TaskContractError, match=message):
            check_task(env, seeds=(0,), steps=1)
    finally:
        env.close()


def test_check_task_refuses_a_schedule_that_does_not_match_the_goals(monkeypatch):
    env = gym.make("wm_control/Reach-v2", image_size=32)
    monkeypatch.setattr(type(env.unwrapped), "subgoal_steps", (3, 4))  # Reach has one goal image
    try:
        with pytest.raises(TaskContractError, match="subgoal_steps: 2 entries for 1 goal images"):
            check_task(env, seeds=(0,), steps=1)
    finally:
        env.close()


def test_arm_task_ids_carry_the_simulator_version():
    arm = [i for i in envs.TASKS if i != OGBENCH]
    assert arm and all(i.endswith(f"-v{envs.SIMULATOR_VERSION}") for i in arm), arm
    with pytest.raises(gym.error.DeprecatedEnv, match=f"Reach-v{envs.SIMULATOR_VERSION}"):
        gym.make("wm_control/Reach-v0")


def test_the_tasks_jaw_entries_are_the_planners_jaw_schedule_entries():
    """``envs`` cannot import ``wm_control``, so a task's ``subgoal_jaws`` vocabulary is written
    twice: the contract's and the agent's must be the same entries."""
    from envs.task import JAW_STATES
    from wm_control.episode import SCHEDULE_JAWS

    assert sorted(JAW_STATES) == sorted(SCHEDULE_JAWS)
