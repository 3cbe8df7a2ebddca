"""Declared action and state layouts: what a model's action and state vectors mean.

A world model is trained on one robot's actions and states; the predictor's config names its
layout (``PredictorConfig.layout``, recorded in checkpoints; checkpoints without one are DROID's).
The layout says how the rollout advances the state between imagined steps, how actions are derived
from recorded states, and which action space the planner searches (``ActionSpec.for_layout``). A
task declares the layout of its own actions and states (``layout`` on the environment; this
project's arm tasks use DROID's), and planning a task with a model of another layout is refused
(:func:`check_layouts`).

Layouts:

* ``droid``: DROID / V-JEPA 2-AC end-effector deltas. Action (7) ``[dx, dy, dz, droll, dpitch,
  dyaw, dgripper]`` (m, rad, closure change), state (7) ``[x, y, z, roll, pitch, yaw, gripper]``.
* ``ogbench``: OGBench's manipulation layout as this stack runs it, at 4 Hz: action (5) ``[x, y, z,
  yaw, gripper]`` in [−1, 1] held for 5 of OGBench's 20 Hz control steps (scaled Δxyz: a target
  0.05 m per unit and step ahead, Δyaw: 0.3 rad, gripper: target closure = measured + a), state
  (5) ``[x, y, z, yaw, gripper]``; states advance as OGBench's controller tracks those targets
  (:func:`wm_control.pose.integrate_ogbench_state`).
* ``ogbench_20hz``: the same at OGBench's own rate (each action one control step).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch

from .pose import (
    actions_from_states,
    integrate_ogbench_state,
    integrate_state,
    ogbench_actions_from_states,
    ogbench_motion_per_unit,
)

DEFAULT_LAYOUT = "droid"
"""The layout of models and checkpoints that declare none (all made before layouts existed)."""


ANGLE_NAMES = frozenset({"roll", "pitch", "yaw"})
"""State entries that are angles (rad)."""


class LayoutMismatchError(ValueError):
    """A model and a task (or dataset) with different action/state layouts."""


@dataclass(frozen=True)
class ControlLayout:
    """One action/state layout.

    Attributes:
        name: the registry name recorded in model configs.
        action_names: the action's dimensions, in order (``A = len``).
        state_names: the state's dimensions, in order (``P = len``).
        integrate: ``(state [..., P], action [..., A]) -> next state [..., P]``, what the rollout
            feeds the predictor for imagined steps.
        from_states: ``states [..., T, P] -> actions [..., T-1, A]``, actions derived from
            recorded states.
        description: one line for error messages and docs.
        translation_per_unit: how far (m) one unit of a translation action moves the effector in
            one step (DROID: 1, its actions are metres), so planners can bound actions in metres.
        rotation_per_unit: likewise for rotation actions (rad).
    """

    name: str
    action_names: tuple[str, ...]
    state_names: tuple[str, ...]
    integrate: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    from_states: Callable[[torch.Tensor], torch.Tensor]
    description: str
    translation_per_unit: float = 1.0
    rotation_per_unit: float = 1.0

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("ControlLayout.name: expected a non-empty name, found ''")
        for field in ("action_names", "state_names"):
            names = getattr(self, field)
            if not names or len(set(names)) != len(names):
                raise ValueError(f"ControlLayout.{field}: expected distinct names, found {names!r}")
        for field in ("translation_per_unit", "rotation_per_unit"):
            if not getattr(self, field) > 0:
                raise ValueError(
                    f"ControlLayout.{field}: expected > 0, found {getattr(self, field)}"
                )

    @property
    def action_dim(self) -> int:
        return len(self.action_names)

    @property
    def state_dim(self) -> int:
        return len(self.state_names)

    @property
    def angular_states(self) -> tuple[bool, ...]:
        """Per state entry: whether it is an angle (rad), whose differences wrap around."""
        return tuple(name in ANGLE_NAMES for name in self.state_names)


LAYOUTS: dict[str, ControlLayout] = {
    "droid": ControlLayout(
        name="droid",
        action_names=("dx", "dy", "dz", "droll", "dpitch", "dyaw", "dgripper"),
        state_names=("x", "y", "z", "roll", "pitch", "yaw", "gripper"),
        integrate=integrate_state,
        from_states=actions_from_states,
        description="DROID end-effector deltas: Δxyz (m), Δ extrinsic Euler xyz (rad), Δgripper",
    ),
    "ogbench": ControlLayout(
        name="ogbench",
        action_names=("x", "y", "z", "yaw", "gripper"),
        state_names=("x", "y", "z", "yaw", "gripper"),
        integrate=partial(integrate_ogbench_state, block=5),
        from_states=partial(ogbench_actions_from_states, block=5),
        description="OGBench at 4 Hz: [-1, 1] scaled Δxyz, Δyaw, gripper target, held 5 steps",
        translation_per_unit=ogbench_motion_per_unit(block=5)[0],
        rotation_per_unit=ogbench_motion_per_unit(block=5)[1],
    ),
    "ogbench_20hz": ControlLayout(
        name="ogbench_20hz",
        action_names=("x", "y", "z", "yaw", "gripper"),
        state_names=("x", "y", "z", "yaw", "gripper"),
        integrate=partial(integrate_ogbench_state, block=1),
        from_states=partial(ogbench_actions_from_states, block=1),
        description="OGBench at 20 Hz: [-1, 1] scaled Δxyz, Δyaw, gripper target, one step",
        translation_per_unit=ogbench_motion_per_unit(block=1)[0],
        rotation_per_unit=ogbench_motion_per_unit(block=1)[1],
    ),
}


def get_layout(name: str) -> ControlLayout:
    """The layout registered as ``name``; an unknown name lists the known ones."""
    if name not in LAYOUTS:
        raise ValueError(f"unknown action/state layout {name!r}; expected one of {sorted(LAYOUTS)}")
    return LAYOUTS[name]


def task_layout(env) -> str:
    """The layout a task (a gymnasium env, possibly wrapped) declares: its ``layout`` attribute,
    DROID's for tasks that declare none (this project's arm tasks)."""
    return str(getattr(env.unwrapped, "layout", DEFAULT_LAYOUT))


def check_layouts(model_layout: str, task_layout_name: str, *, task: str = "the task") -> None:
    """Refuse to plan ``task`` (layout ``task_layout_name``) with a model of another layout."""
    if model_layout != task_layout_name:
        model, other = get_layout(model_layout), get_layout(task_layout_name)
        raise LayoutMismatchError(
            f"the model's action/state layout is {model.name!r} ({model.description}; actions "
            f"{list(model.action_names)}), but {task} uses {other.name!r} ({other.description}; "
            f"actions {list(other.action_names)}): plan it with a model trained on "
            f"{other.name!r} data"
        )
