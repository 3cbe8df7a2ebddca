"""The tasks and baseline agents of ``wm-control eval``.

A task name is a config of ``configs/env/`` (this project's tasks: Reach, Push, Grasp, PickPlace),
or one of OGBench's cube evaluation protocols (:mod:`envs.ogbench_protocol`), both played on the
OGBench adapter's task ``configs/env/ogbench_cube_single.yaml``:

* ``ogbench_cube_single``: stable-worldmodel's protocol (a), start and goal 25 control steps apart
  on an expert trajectory, 50 control steps (settings under ``ogbench`` in ``configs/eval.yaml``);
* ``ogbench_cube_single_tasks``: OGBench's five evaluation tasks (b), task ``1 + seed % 5``.

The baselines ``random`` and ``expert``/``oracle`` are each task's own: on this project's tasks the
exploration policy and the scripted expert of :mod:`envs.experts`; on the OGBench protocols
stable-worldmodel's uniform random policy and OGBench's closed-loop oracle told the goal
(:mod:`envs.ogbench_agents`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import OmegaConf

from .main import config_dir

OGBENCH_PROTOCOL_TASKS = {
    "ogbench_cube_single": "trajectory_goals",
    "ogbench_cube_single_tasks": "ogbench_tasks",
}
"""Evaluation task name -> protocol of :func:`envs.ogbench_protocol.make_protocol_env`."""
OGBENCH_ENV_CONFIG = "ogbench_cube_single"
"""The env config (``configs/env/``) the OGBench protocols play."""


def env_config(task: str, overrides: dict):
    """The ``EnvConfig`` a task name is played with (``overrides``: ``env_overrides``)."""
    from envs.config import EnvConfig

    name = OGBENCH_ENV_CONFIG if task in OGBENCH_PROTOCOL_TASKS else task
    path = config_dir() / "env" / f"{name}.yaml"
    if not path.is_file():
        available = sorted(
            [*(p.stem for p in (config_dir() / "env").glob("*.yaml")), *OGBENCH_PROTOCOL_TASKS]
        )
        raise ValueError(f"eval.tasks: unknown task {task!r}; expected one of {available}")
    if task in OGBENCH_PROTOCOL_TASKS and overrides.get("max_episode_steps") is not None:
        raise ValueError(
            f"env_overrides.max_episode_steps: task {task} has its protocol's budget "
            f"(ogbench.eval_budget for ogbench_cube_single); leave it null"
        )
    values = {**OmegaConf.to_container(OmegaConf.load(path), resolve=True), **overrides}
    return EnvConfig(**values)


def task_factory(task: str, config, ogbench: dict[str, Any]) -> Callable[[], object]:
    """A function that makes the environment of ``task`` (its protocol's, for OGBench's)."""
    from envs.config import make_env

    protocol = OGBENCH_PROTOCOL_TASKS.get(task)
    if protocol is None:
        return lambda: make_env(config)
    from envs.ogbench_protocol import PROTOCOL_JAWS, TrajectoryGoalProtocol, make_protocol_env

    settings = dict(ogbench)
    subgoals = bool(settings.pop("task_subgoals", False))
    jaws = settings.pop("jaws", PROTOCOL_JAWS[0])
    for planner_setting in ("grasp_lift", "locator"):  # the planner's (cli.eval), not the episodes'
        settings.pop(planner_setting, None)
    trajectory_goals = TrajectoryGoalProtocol(**settings)
    return lambda: make_protocol_env(config, protocol, trajectory_goals, subgoals, jaws)


def is_ogbench(env) -> bool:
    from envs.ogbench_cube import OGBenchCubeEnv

    return isinstance(env.unwrapped, OGBenchCubeEnv)


def baseline_agent(name: str, env, seed: int):
    """``random`` or ``expert``/``oracle`` for ``env`` (see the module docstring)."""
    if is_ogbench(env):
        from envs.ogbench_agents import OGBenchGoalOracle, OGBenchRandomAgent

        return OGBenchRandomAgent(env, seed) if name == "random" else OGBenchGoalOracle(env, seed)
    from envs.experts import make_policy

    if name == "random":
        return make_policy("random", env, seed=seed)
    return make_policy("expert", env, noise=0.0, seed=seed)
