"""OGBench's own scripted oracles, with OGBench's own noise, as data-collection policies.

Settings follow OGBench's data-generation script (``data_gen_scripts/generate_manipspace.py`` and
``commands.sh`` in ``seohongpark/ogbench``), which makes its cube datasets in the environment's
``data_collection`` mode, chaining a new random target whenever the oracle's task is done:

* ``oracle`` (OGBench's *play* datasets, ``--dataset_type=play``): ``CubePlanOracle`` follows a
  pre-computed keyframe plan (above the cube, grasp, clearance, above the target, release, a random
  final pose) with temporally correlated plan noise, ``noise=0.1``, ``noise_smoothing=0.5``.
* ``oracle_noisy`` (its *noisy* datasets, ``--dataset_type=noisy --p_random_action=0.1``):
  ``CubeMarkovOracle(min_norm=0.4)``, closed loop, plus Gaussian action noise of standard deviation
  ``xi * [1, 1, 1, 3, 10]`` with ``xi ~ U(0, 0.1)`` drawn per episode, and a uniformly random action
  with probability 0.1.

With ``noise_per="block"`` the noisy oracle draws its noise (and its random actions) once per
recorded block of control steps and holds the draw through the block, instead of at every 20 Hz
step as OGBench does. A block's recorded action is the mean of its executed actions; per-step
draws make that mean a poor description of the block (``bench/oracle_block_noise.py``: the cube
ends over 1 cm from where the mean action held would put it in about a fifth of the noisy
blocks). A held draw halves that; what remains is the Markov oracle's own switching within a
block.

Actions are clipped to [-1, 1] as in the script. OGBench's oracles draw from NumPy's global random
generator; each oracle here keeps its own generator state, seeded by ``reset(seed)``, and swaps
it in only around the oracle's calls, so episodes are reproducible and the global generator is
left as it was.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from envs.ogbench_cube import OGBenchCubeEnv

ORACLES = ("oracle", "oracle_noisy")
NOISE_PER = ("step", "block")
PLAN_NOISE = 0.1
PLAN_NOISE_SMOOTHING = 0.5
MARKOV_MIN_NORM = 0.4
MARKOV_MAX_NOISE = 0.1
MARKOV_NOISE_SCALE = np.array([1.0, 1.0, 1.0, 3.0, 10.0])
MARKOV_P_RANDOM_ACTION = 0.1


class OGBenchOracle:
    """OGBench's cube oracle as ``oracle(ogbench_info) -> action [5]``, called at every OGBench
    control step (20 Hz) through :meth:`~envs.ogbench_cube.OGBenchCubeEnv.step_block`.

    Args:
        env: an :class:`~envs.ogbench_cube.OGBenchCubeEnv` (possibly wrapped) in
            ``data_collection`` mode.
        kind: ``"oracle"`` (play data) or ``"oracle_noisy"`` (noisy data), see the module docstring.
        seed: seed of the policy's own random generator (``reset(seed)`` reseeds it).
        p_random_action: ``"oracle_noisy"`` only: probability of a uniformly random action
            (``None``: OGBench's 0.1; stable-worldmodel's expert data uses 0).
        noise_per: ``"oracle_noisy"`` only: ``"step"`` (OGBench's: a new draw of noise and of
            the random-action choice at every call) or ``"block"`` (one draw per ``env.block``
            consecutive calls, i.e. per recorded block when driven by ``step_block``, held
            through it; see the module docstring).
    """

    def __init__(
        self,
        env,
        kind: str = "oracle",
        seed: int | None = None,
        p_random_action: float | None = None,
        noise_per: str = "step",
    ) -> None:
        task = env.unwrapped
        if not isinstance(task, OGBenchCubeEnv):
            raise ValueError(
                f"the OGBench oracles drive the OGBench cube task, found {type(task).__name__}"
            )
        if task.mode != "data_collection":
            raise ValueError(
                "the OGBench oracles need the task in OGBench's data-collection mode "
                f"(mode='data_collection'), found mode={task.mode!r}"
            )
        if kind not in ORACLES:
            raise ValueError(f"kind must be one of {ORACLES}, found {kind!r}")
        if p_random_action is None:
            p_random_action = MARKOV_P_RANDOM_ACTION
        if kind != "oracle_noisy" and p_random_action != MARKOV_P_RANDOM_ACTION:
            raise ValueError(
                f"p_random_action: only kind='oracle_noisy' takes random actions, "
                f"found kind={kind!r}"
            )
        if not 0.0 <= p_random_action <= 1.0:
            raise ValueError(f"p_random_action must be in [0, 1], found {p_random_action}")
        if noise_per not in NOISE_PER:
            raise ValueError(f"noise_per must be one of {NOISE_PER}, found {noise_per!r}")
        if kind != "oracle_noisy" and noise_per != "step":
            raise ValueError(
                f"noise_per: only kind='oracle_noisy' adds noise to hold, found kind={kind!r}"
            )
        self.p_random_action = float(p_random_action)
        self.noise_per = noise_per
        self._hold = task.block if noise_per == "block" else 1
        self.task, self.kind = task, kind
        self._oracle = None
        self._xi = 0.0
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Start an episode (call right after ``env.reset``): a fresh oracle, reseeded noise."""
        self._state = np.random.RandomState(seed).get_state()
        self._oracle = None
        self._calls = 0
        self._random_action = False
        self._draw = np.zeros(5)  # the noise, or the random action, in force

    def __call__(self, info: dict[str, Any]) -> np.ndarray:
        with self._own_numpy_random():
            if self._oracle is None:
                self._oracle = self._make_oracle()
                self._oracle.reset(None, info)
                if self.kind == "oracle_noisy":
                    self._xi = np.random.uniform(0, MARKOV_MAX_NOISE)
            elif self._oracle.done:
                info = self.task.set_new_target()
                self._oracle.reset(None, info)
            noisy = self.kind == "oracle_noisy"
            fresh = self._calls % self._hold == 0  # a new draw (every call for "step")
            self._calls += 1
            if noisy and fresh:
                self._random_action = np.random.rand() < self.p_random_action
                if self._random_action:
                    self._draw = np.random.uniform(-1.0, 1.0, 5)
            if noisy and self._random_action:
                action = self._draw
            else:
                action = np.asarray(self._oracle.select_action(None, info), np.float64)
                if noisy:
                    if fresh:
                        self._draw = np.random.normal(0, self._xi * MARKOV_NOISE_SCALE, 5)
                    action = action + self._draw
        return np.clip(action, -1.0, 1.0).astype(np.float32)

    def _make_oracle(self):
        scene = self.task.scene
        if self.kind == "oracle":
            from ogbench.manipspace.oracles.plan.cube_plan import CubePlanOracle

            return CubePlanOracle(env=scene, noise=PLAN_NOISE, noise_smoothing=PLAN_NOISE_SMOOTHING)
        from ogbench.manipspace.oracles.markov.cube_markov import CubeMarkovOracle

        return CubeMarkovOracle(env=scene, min_norm=MARKOV_MIN_NORM)

    @contextmanager
    def _own_numpy_random(self) -> Iterator[None]:
        saved = np.random.get_state()
        np.random.set_state(self._state)
        try:
            yield
        finally:
            self._state = np.random.get_state()
            np.random.set_state(saved)
