"""Simulated table-top manipulation tasks (MuJoCo + gymnasium) for wm-control.

``import envs`` registers the gymnasium ids ``wm_control/Reach-v2``, ``wm_control/Push-v2``,
``wm_control/Grasp-v2``, ``wm_control/PickPlace-v2`` and ``wm_control/OGBenchCubeSingle-v0``
(OGBench's pixel-based single-cube task, :mod:`envs.ogbench_cube`; its 40 steps at 4 Hz are
OGBench's 200 at 20 Hz). Each task documents its action, observation, rewards and episode end
in its class docstring; the arm tasks' shared action/state convention (DROID's) is in
:mod:`envs.base`, OGBench's in :mod:`envs.ogbench_cube`. Goal images:
``env.unwrapped.goal_images()``; images of any configuration:
``env.unwrapped.render_configuration(...)``; scripted experts: :mod:`envs.experts`.

On a machine without a display, importing the package selects headless rendering (EGL, or OSMesa)
before MuJoCo is loaded; see :mod:`envs.headless`.
"""

from __future__ import annotations

from .headless import headless_rendering_default

headless_rendering_default()  # before any task module imports MuJoCo

import gymnasium as gym  # noqa: E402

SIMULATOR_VERSION = 2
"""Raised whenever a change makes an episode of a given seed play differently for the same actions
(2: the arm's posture settled by the IK and the hand gravity-compensated). The arm tasks' gymnasium
ids carry it as their version (``-v2``), so an id names the dynamics it plays (gymnasium answers an
older version with the current id); evaluations record it and refuse to reuse episodes played on
another version."""

TASKS: dict[str, tuple[str, int]] = {
    "wm_control/Reach-v2": ("envs.reach:ReachEnv", 30),
    "wm_control/Push-v2": ("envs.push:PushEnv", 40),
    "wm_control/Grasp-v2": ("envs.grasp:GraspEnv", 30),
    "wm_control/PickPlace-v2": ("envs.pick_place:PickPlaceEnv", 50),
    "wm_control/OGBenchCubeSingle-v0": ("envs.ogbench_cube:OGBenchCubeEnv", 40),
}
"""Registered id -> (entry point, default max_episode_steps at 4 Hz)."""
DATA_COLLECTION_MODE = frozenset({"wm_control/OGBenchCubeSingle-v0"})
"""Tasks with a separate data-collection mode (random scenes and targets for scripted play data:
``EnvConfig.mode``)."""

for _env_id, (_entry_point, _max_steps) in TASKS.items():
    if _env_id not in gym.registry:
        gym.register(id=_env_id, entry_point=_entry_point, max_episode_steps=_max_steps)
