"""The shared episode runner (:func:`envs.episode.run_episode`): when it stops, how it judges."""

from __future__ import annotations

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the ids)
from envs.episode import run_episode
from envs.experts import make_policy


class _ReachThenLeave:
    """The Reach expert until the task first succeeds, then away from the goal at full speed: a
    success if judged at the first success, a failure if judged at the time limit."""

    def __init__(self, env: gym.Env) -> None:
        self._expert = make_policy("expert", env)
        self._left = False

    def reset(self, seed: int | None = None) -> None:
        self._expert.reset(seed)
        self._left = False

    def __call__(self, observation: dict[str, np.ndarray], info: dict) -> np.ndarray:
        self._left |= bool(info["success"])
        if not self._left:
            return self._expert(observation, info)
        away = np.sign(np.asarray(info["ee_position"]) - np.asarray(info["goal_position"]))  # [3]
        return np.concatenate([away, np.zeros(4)]).astype(np.float32)  # env clips to its bounds


def test_stops_at_the_first_success_or_plays_to_the_time_limit():
    env = gym.make("wm_control/Reach-v2", image_size=32)
    try:
        policy = _ReachThenLeave(env)
        early = run_episode(env, policy, seed=3)
        full = run_episode(env, policy, seed=3, stop_at_success=False)
        short = run_episode(env, policy, seed=3, max_steps=2, stop_at_success=False)
    finally:
        env.close()
    limit = env.spec.max_episode_steps
    assert early.success and len(early.steps) < limit
    assert not full.success and len(full.steps) == limit and len(full.frames) == limit + 1
    np.testing.assert_array_equal(  # the same episode up to the first success
        [s.action for s in early.steps], [s.action for s in full.steps[: len(early.steps)]]
    )
    assert len(short.steps) == 2
