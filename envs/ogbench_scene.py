"""OGBench's cube scene (its own ``CubeEnv``), extended only where this project needs it.

:class:`OGBenchCubeScene` is OGBench's ``ogbench.manipspace.envs.cube_env.CubeEnv`` built with the
keyword arguments of a registered OGBench id (``visual-cube-single-v0`` by default), so the scene,
physics, controller, tasks and success test are OGBench's. It changes three things:

* **CPU rendering.** Shadows, reflections, the skybox and multisampling are switched off on its
  model and renderer, as for this project's own tasks (:mod:`envs.rendering`): with OGBench's
  default visuals one 64 x 64 frame takes ~0.4 s on a 2-core machine without a GPU, the shadow map
  being most of it (``bench/bench_ogbench.py`` measures both).
* **Seeded goal settling.** In its ``task`` mode OGBench renders the goal after two random actions
  drawn from a fresh, unseeded ``Box`` each time; here they come from the environment's own seeded
  generator, so the same seed gives the same goal image.
* **The goal configuration is kept** (``goal_qpos``/``goal_qvel``, the state the goal image shows),
  so the goal can be rendered again and its robot state read.
* **Pixels on request.** With ``skip_pixels`` set, a step computes no image (its observation is
  ``None``): the adapter renders only the last of the OGBench control steps one action lasts.
"""

from __future__ import annotations

import gymnasium as gym
import mujoco
import numpy as np
from ogbench.manipspace.envs.cube_env import CubeEnv

_DISABLED_FLAGS = (
    mujoco.mjtRndFlag.mjRND_SHADOW,
    mujoco.mjtRndFlag.mjRND_REFLECTION,
    mujoco.mjtRndFlag.mjRND_SKYBOX,
)


def fast_rendering(model: mujoco.MjModel, renderer: mujoco.Renderer | None = None) -> None:
    """Switch off what makes CPU rendering slow: multisampling and shadow casting on ``model``
    (read when a renderer's OpenGL context is made) and shadows, reflections and the skybox on
    ``renderer``'s scene (read at every render)."""
    model.vis.quality.offsamples = 0
    model.light_castshadow[:] = 0
    if renderer is not None:
        for flag in _DISABLED_FLAGS:
            renderer.scene.flags[flag] = 0


def ogbench_kwargs(ogbench_id: str) -> dict:
    """The constructor keyword arguments OGBench registers ``ogbench_id`` with."""
    import ogbench  # noqa: F401  (registers OGBench's gymnasium ids)

    spec = gym.spec(ogbench_id)
    if spec.entry_point != "ogbench.manipspace.envs.cube_env:CubeEnv":
        raise ValueError(
            f"expected an OGBench cube id (entry point ogbench.manipspace.envs.cube_env:CubeEnv), "
            f"found {ogbench_id!r} with entry point {spec.entry_point!r}"
        )
    return dict(spec.kwargs)


class OGBenchCubeScene(CubeEnv):
    """OGBench's ``CubeEnv`` with fast CPU rendering, seeded goal settling and the goal kept.

    Args:
        fast_render: switch off shadows, reflections, skybox and multisampling (default); False
            renders with OGBench's own visuals (for the benchmark that compares them).
        **kwargs: ``CubeEnv``'s arguments (see :func:`ogbench_kwargs`).
    """

    def __init__(self, *, fast_render: bool = True, **kwargs) -> None:
        self._fast_render = fast_render
        self._capturing_goal = False
        self._settle_space = gym.spaces.Box(-1.0, 1.0, (5,), dtype=np.float32)
        self.goal_qpos: np.ndarray | None = None
        self.goal_qvel: np.ndarray | None = None
        self.skip_pixels = False
        super().__init__(**kwargs)

    def _initialize_renderer(self) -> None:
        if self._fast_render:
            fast_rendering(self._model)
        super()._initialize_renderer()
        if self._fast_render:
            fast_rendering(self._model, self._renderer)

    @property
    def action_space(self) -> gym.spaces.Box:
        # OGBench samples the goal's settling actions from this space; one seeded Box (reseeded
        # from the scene's generator at each reset) keeps the goal image a function of the seed.
        return self._settle_space

    def initialize_episode(self) -> None:
        self._settle_space.seed(int(self.np_random.integers(2**31)))
        self.goal_qpos = self.goal_qvel = None
        self._capturing_goal = self._mode == "task"
        try:
            super().initialize_episode()
        finally:
            self._capturing_goal = False

    def compute_observation(self):
        if self._capturing_goal:
            # In task mode OGBench computes the goal observation last, at the goal configuration.
            self.goal_qpos = self._data.qpos.copy()
            self.goal_qvel = self._data.qvel.copy()
        if self.skip_pixels and not self._capturing_goal:
            return None
        return super().compute_observation()
