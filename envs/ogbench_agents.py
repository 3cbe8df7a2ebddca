"""Baseline agents on the OGBench cube task's evaluation episodes (:mod:`envs.ogbench_protocol`).

Both act at OGBench's own 20 Hz, closed loop, inside each action block: called with the
observation and ``info`` before a block, an agent returns a policy ``raw_info -> action [5]`` that
:meth:`~envs.ogbench_cube.OGBenchCubeEnv.step_block` calls before every OGBench control step
(:func:`envs.episode.run_episode` does so for any agent that returns a callable).

* :class:`OGBenchGoalOracle`: OGBench's scripted closed-loop oracle (``CubeMarkovOracle``, the one
  that made its noisy datasets and stable-worldmodel's expert data), without noise, told the
  episode's goal (the cube target of OGBench's success test) and acting from the start state:
  the upper bound of both protocols.
* :class:`OGBenchRandomAgent`: a uniformly random action at every control step, as
  stable-worldmodel's ``RandomPolicy`` samples the action space at every environment step.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.episode import BlockPolicy
from envs.ogbench_cube import OGBenchCubeEnv

MARKOV_MIN_NORM = 0.4
"""``CubeMarkovOracle``'s smallest action norm in OGBench's data generation."""


def _ogbench_task(env) -> OGBenchCubeEnv:
    task = env.unwrapped
    if not isinstance(task, OGBenchCubeEnv):
        raise ValueError(
            f"the OGBench agents act on the OGBench cube task, found {type(task).__name__}"
        )
    return task


class OGBenchGoalOracle:
    """OGBench's ``CubeMarkovOracle`` (no noise) driving the cube to the episode's goal; see the
    module docstring. The oracle draws the arm's resting pose after placing from NumPy's global
    generator: a generator of its own, seeded by ``reset(seed)``, is swapped in around its calls."""

    def __init__(self, env, seed: int | None = None) -> None:
        self.task = _ogbench_task(env)
        self._oracle = None
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Start an episode (after ``env.reset``): a fresh oracle toward the current goal."""
        from ogbench.manipspace import lie
        from ogbench.manipspace.oracles.markov.cube_markov import CubeMarkovOracle

        position, quaternion = self.task.cube_target
        yaw = lie.SO3(wxyz=quaternion).compute_yaw_radians()
        self._target = {
            "privileged/target_block": 0,
            "privileged/target_block_pos": position,
            "privileged/target_block_yaw": np.array([yaw]),
        }
        self._random = np.random.RandomState(seed)
        self._oracle = CubeMarkovOracle(env=self.task.scene, min_norm=MARKOV_MIN_NORM)
        self._started = False

    def __call__(self, observation: dict[str, np.ndarray], info: dict[str, Any]) -> BlockPolicy:
        return self._control

    def _control(self, raw: dict[str, Any]) -> np.ndarray:
        raw = {**raw, **self._target}  # the goal, as OGBench's data-collection mode reports it
        saved = np.random.get_state()
        np.random.set_state(self._random.get_state())
        try:
            if not self._started:
                self._oracle.reset(None, raw)
                self._started = True
            action = np.asarray(self._oracle.select_action(None, raw), np.float64)
        finally:
            self._random.set_state(np.random.get_state())
            np.random.set_state(saved)
        return np.clip(action, -1.0, 1.0).astype(np.float32)


class OGBenchRandomAgent:
    """Uniform random actions in ``[-1, 1]^5``, a new one at every OGBench control step (seeded
    by ``reset(seed)``)."""

    def __init__(self, env, seed: int | None = None) -> None:
        _ogbench_task(env)
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        self._rng = np.random.default_rng(seed)

    def __call__(self, observation: dict[str, np.ndarray], info: dict[str, Any]) -> BlockPolicy:
        return self._control

    def _control(self, raw: dict[str, Any]) -> np.ndarray:
        return self._rng.uniform(-1.0, 1.0, 5).astype(np.float32)
