"""The task interface: what an environment gives the stack, and a contract check for it.

Any gymnasium environment becomes a task of this stack (``collect``, ``train``, ``plan``, ``eval``,
``landscape``) when its unwrapped env provides what :class:`Task` lists: pixels and the robot state
in a declared layout, goal images with their sub-goal schedule, success and distances in ``info``,
the workspace box, and a scripted policy for data. :func:`check_task` verifies it, in the spirit of
gymnasium's ``check_env``; the test suite runs it on every registered task. This project's arm
tasks (:mod:`envs.base`) and the OGBench adapter (:mod:`envs.ogbench_cube`) both implement it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

JAW_STATES = ("open", "closed", "search", "carry", "pick")
"""Entries of ``Task.subgoal_jaws``: the planner holds the jaws open or closed on that goal,
searches them, carries what they hold to the goal state's hand position before it may open them
(``"carry"``), or grasps under the goal's hand first where the goal holds something (``"pick"``);
see ``wm_control.episode.SCHEDULE_JAWS``."""


@runtime_checkable
class Task(Protocol):
    """What the stack reads from a task (``env.unwrapped``), next to the gymnasium API.

    Observations are dicts: ``"pixels"`` uint8 ``[S, S, 3]`` (the exterior camera; the world model
    sees these) and ``"state"`` float32 ``[P]`` in the task's layout. ``step`` refuses NaN/inf and
    wrong-shape actions with ``ValueError`` (an arm must never be sent them) and clips values
    outside ``action_space``. Every ``info`` (from ``reset`` and ``step``) holds ``"success"``
    (bool: the task's own success test) and ``"distances"`` (``{name: metres}``, finite, >= 0:
    what evaluation tables report next to success).
    """

    layout: str
    """Name of the action/state layout (``wm_control.layouts``: ``"droid"``, ``"ogbench"``, ...);
    planning with a model of another layout is refused."""
    action_names: tuple[str, ...]
    """The action's dimensions in order (``len == action_space.shape[0]``)."""
    state_names: tuple[str, ...]
    """The state's dimensions in order (``len == observation_space["state"].shape[0]``); the
    first three are the end-effector position (m)."""
    workspace: tuple[tuple[float, float, float], tuple[float, float, float]]
    """``(low, high)``: the box (m) the task's controller keeps end-effector targets in; planners
    imagine actions through it."""
    cameras: tuple[str, ...]
    """Rendered cameras, ``"exterior"`` first."""
    subgoal_steps: tuple[int, ...] | None
    """Control steps a planner spends on each goal image in turn, or ``None`` (final goal only)."""
    subgoal_jaws: tuple[str, ...] | None
    """``"open"``/``"closed"`` per goal image where its jaws matter, or ``None``."""

    def goal_images(self, camera: str = "exterior") -> list[np.ndarray]:
        """The episode's goal images (after ``reset``), uint8 like ``"pixels"``, last = final."""
        ...


def checked_action(action: Any, names: Sequence[str], owner: str, domain: str = "") -> np.ndarray:
    """``action`` as float64 ``[len(names)]``, or ``ValueError`` naming what was expected and what
    was found: the shape (with the dimension names and, e.g. ``" in [-1, 1]"``, the ``domain``),
    or which dimensions are NaN/inf. ``owner``: the env class, as errors name ``<owner>.step``."""
    array = np.asarray(action, dtype=np.float64)
    if array.shape != (len(names),):
        raise ValueError(
            f"{owner}.step: expected an action of shape ({len(names)},) {list(names)}{domain}, "
            f"found shape {array.shape}"
        )
    bad = ~np.isfinite(array)
    if bad.any():
        raise ValueError(
            f"{owner}.step: expected finite action values, found NaN/inf in "
            f"{[names[i] for i in np.flatnonzero(bad)]}: {array.tolist()}"
        )
    return array


class TaskContractError(AssertionError):
    """A task that breaks the interface; the message names the part and what was found."""


def _fail(task_name: str, part: str, message: str) -> None:
    raise TaskContractError(f"{task_name}: {part}: {message}")


def check_task(env: gym.Env, seeds: Sequence[int] = (0, 1), steps: int = 3) -> None:
    """Check that ``env`` (as made by ``gym.make``) implements :class:`Task`; raises
    :class:`TaskContractError` naming the first part that does not.

    Resets with ``seeds`` (each twice: same seed, same episode), takes ``steps`` random actions,
    and checks spaces, ``info``, goal images, the declared layout's widths, the workspace box and
    the refusal of NaN and wrong-shape actions.
    """
    task = env.unwrapped
    name = env.spec.id if env.spec is not None else type(task).__name__
    _check_declarations(task, name)
    action_dim = int(env.action_space.shape[0])
    state_space = env.observation_space["state"]
    for seed in seeds:
        observation, info = env.reset(seed=seed)
        _check_observation(env, observation, name, f"reset(seed={seed})")
        _check_info(info, name, f"reset(seed={seed}) info")
        goals = task.goal_images()
        _check_goals(task, goals, observation["pixels"], name)
        again, _ = env.reset(seed=seed)
        if not (
            np.array_equal(again["pixels"], observation["pixels"])
            and np.array_equal(again["state"], observation["state"])
        ):
            _fail(name, "reset", f"seed {seed} gave two different first observations")
        if not all(np.array_equal(a, b) for a, b in zip(task.goal_images(), goals, strict=True)):
            _fail(name, "goal_images", f"seed {seed} gave two different goal image sets")
        low, high = (np.asarray(corner) for corner in task.workspace)
        position = observation["state"][:3]
        if np.any(position < low - 0.02) or np.any(position > high + 0.02):
            _fail(
                name,
                "workspace",
                f"the first state's position {position.tolist()} is outside "
                f"the declared box {low.tolist()} .. {high.tolist()}",
            )
        env.action_space.seed(seed)
        for step in range(steps):
            result = env.step(env.action_space.sample())
            if len(result) != 5:
                _fail(
                    name,
                    "step",
                    f"expected (observation, reward, terminated, truncated, info), "
                    f"found {len(result)} values",
                )
            observation, reward, terminated, truncated, info = result
            where = f"step {step + 1} after reset(seed={seed})"
            _check_observation(env, observation, name, where)
            _check_info(info, name, f"{where} info")
            if not (isinstance(reward, (int, float, np.floating)) and math.isfinite(float(reward))):
                _fail(name, "step", f"{where}: expected a finite float reward, found {reward!r}")
            if not isinstance(terminated, (bool, np.bool_)) or not isinstance(
                truncated, (bool, np.bool_)
            ):
                _fail(
                    name,
                    "step",
                    f"{where}: terminated/truncated must be bools, found "
                    f"{terminated!r}, {truncated!r}",
                )
    for bad, what in (
        (np.full(action_dim, np.nan, np.float32), "a NaN action"),
        (np.zeros(action_dim + 1, np.float32), f"an action of width {action_dim + 1}"),
    ):
        try:
            env.step(bad)
        except ValueError:
            continue
        _fail(name, "step", f"expected ValueError for {what}, found it accepted")
    if state_space.shape != (len(task.state_names),):
        _fail(
            name,
            "state_names",
            f"{len(task.state_names)} names for a state of shape {state_space.shape}",
        )


def _check_declarations(task: Any, name: str) -> None:
    for attribute in (
        "layout",
        "action_names",
        "state_names",
        "workspace",
        "cameras",
        "subgoal_steps",
        "subgoal_jaws",
        "goal_images",
    ):
        if not hasattr(task, attribute):
            _fail(name, attribute, "missing (see envs.task.Task)")
    if not isinstance(task.layout, str) or not task.layout:
        _fail(name, "layout", f"expected a layout name, found {task.layout!r}")
    if len(task.action_names) != task.action_space.shape[0]:
        _fail(
            name,
            "action_names",
            f"{len(task.action_names)} names for an action space of shape "
            f"{task.action_space.shape}",
        )
    if not isinstance(task.observation_space, gym.spaces.Dict) or not {"pixels", "state"} <= set(
        task.observation_space.spaces
    ):
        _fail(
            name,
            "observation_space",
            f"expected a Dict with 'pixels' and 'state', found {task.observation_space}",
        )
    pixels = task.observation_space["pixels"]
    if (
        pixels.dtype != np.uint8
        or len(pixels.shape) != 3
        or pixels.shape[2] != 3
        or pixels.shape[0] != pixels.shape[1]
    ):
        _fail(
            name,
            "observation_space['pixels']",
            f"expected uint8 [S, S, 3], found {pixels.dtype} {pixels.shape}",
        )
    low, high = (np.asarray(corner, np.float64) for corner in task.workspace)
    if low.shape != (3,) or high.shape != (3,) or not np.all(low < high):
        _fail(
            name,
            "workspace",
            f"expected (low xyz, high xyz) with low < high, found {task.workspace}",
        )
    if not task.cameras or task.cameras[0] != "exterior":
        _fail(name, "cameras", f"expected 'exterior' first, found {task.cameras!r}")
    if task.subgoal_steps is not None and not all(
        isinstance(s, (int, np.integer)) and s >= 1 for s in task.subgoal_steps
    ):
        _fail(
            name,
            "subgoal_steps",
            f"expected positive integers or None, found {task.subgoal_steps!r}",
        )
    if task.subgoal_jaws is not None and not all(j in JAW_STATES for j in task.subgoal_jaws):
        _fail(
            name,
            "subgoal_jaws",
            f"expected entries from {JAW_STATES} or None, found {task.subgoal_jaws!r}",
        )


def _check_observation(env: gym.Env, observation: Any, name: str, where: str) -> None:
    if not isinstance(observation, dict) or not {"pixels", "state"} <= set(observation):
        _fail(
            name,
            where,
            "expected an observation dict with 'pixels' and 'state', found "
            f"{type(observation).__name__} "
            f"{sorted(observation) if isinstance(observation, dict) else ''}",
        )
    pixels, state = observation["pixels"], observation["state"]
    expected = env.observation_space["pixels"].shape
    if pixels.dtype != np.uint8 or pixels.shape != expected:
        _fail(
            name, where, f"pixels: expected uint8 {expected}, found {pixels.dtype} {pixels.shape}"
        )
    if (
        state.dtype != np.float32
        or state.shape != env.observation_space["state"].shape
        or not np.all(np.isfinite(state))
    ):
        _fail(
            name,
            where,
            f"state: expected finite float32 {env.observation_space['state'].shape}, "
            f"found {state.dtype} {state.shape} {state.tolist()}",
        )
    if pixels.std() == 0:
        _fail(name, where, "pixels: a constant image (is rendering working?)")


def _check_info(info: dict[str, Any], name: str, where: str) -> None:
    if not isinstance(info.get("success"), (bool, np.bool_)):
        _fail(name, where, f"expected a bool 'success', found {info.get('success')!r}")
    distances = info.get("distances")
    if not isinstance(distances, dict) or not distances:
        _fail(name, where, f"expected 'distances' {{name: metres}}, found {distances!r}")
    for key, value in distances.items():
        if not (isinstance(value, (float, np.floating)) and math.isfinite(value) and value >= 0):
            _fail(name, where, f"distances[{key!r}]: expected a finite float >= 0, found {value!r}")


def _check_goals(task: Any, goals: list[np.ndarray], pixels: np.ndarray, name: str) -> None:
    if not goals:
        _fail(name, "goal_images", "expected at least one goal image after reset, found none")
    for index, goal in enumerate(goals):
        if goal.dtype != np.uint8 or goal.shape != pixels.shape:
            _fail(
                name,
                "goal_images",
                f"image {index}: expected uint8 {pixels.shape} like the "
                f"pixels, found {goal.dtype} {goal.shape}",
            )
    for attribute in ("subgoal_steps", "subgoal_jaws"):
        schedule = getattr(task, attribute)
        if schedule is not None and len(schedule) != len(goals):
            _fail(name, attribute, f"{len(schedule)} entries for {len(goals)} goal images")
