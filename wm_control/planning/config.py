"""The planner configuration: which solver, its budget and the searched action box. One config for
``wm-control plan``, ``eval`` and ``landscape`` (the ``planner`` config group) and the ROS planner
node (whose parameters map onto it)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from ..world_model import WorldModel
from .action_spec import ActionSpec
from .mpc import MPCController
from .solvers import Solver, make_solver, solver_config
from .solvers.base import PREFIX
from .workspace import Workspace


@dataclass(frozen=True)
class PlannerConfig:
    """Solver, budget and the searched action box. Defaults: the paper's CEM budget (800 samples ×
    10 iterations, top-10, horizon 1, ±7.5 cm per coordinate, gripper ±0.75).

    ``solver``: ``cem`` (Meta's), ``icem``, ``mppi`` or ``gd`` (:mod:`.solvers`). ``samples`` ×
    ``iterations`` is the budget of every solver (for ``gd``: starts × Adam steps); the other
    fields are read by the solvers that declare them: ``elites`` (cem, icem), ``momentum_mean``,
    ``momentum_std`` (cem, icem, mppi), ``noise_beta``, ``keep_elites``, ``sample_decay`` (icem),
    ``temperature`` (mppi), ``lr`` (gd).

    ``clip_to_workspace``: given the arm's workspace box, the model imagines each action as the
    arm's controller carries it out (targets moved onto the box); Meta's planner does not.

    ``goal_state_weight``: where the task gives the goal's state (proprioception) with its goal
    image, the energy adds this weight times the imagined state's mean absolute distance to it
    (m, rad, closure), as stable-worldmodel's DINO-WM cost adds the goal's proprioception; 0 plans
    toward the image alone (Meta's energy)."""

    solver: str = "cem"
    samples: int = 800
    iterations: int = 10
    elites: int = 10
    horizon: int = 1
    momentum_mean: float = 0.15
    momentum_std: float = 0.15
    seed: int = 0
    noise_beta: float = 2.0
    keep_elites: float = 0.3
    sample_decay: float = 1.0
    temperature: float = 0.5
    lr: float = 0.1
    max_step: float = 0.075
    gripper_limit: float = 0.75
    gripper_round: float = 0.25
    search_rotation: bool = False
    max_rotation: float = 0.2
    search_yaw: bool = False
    discount: float | None = None
    warm_start: bool = True
    clip_to_workspace: bool = True
    goal_state_weight: float = 0.0

    def __post_init__(self) -> None:
        """Checks every field under the name the user sets it by (``planner.<field>`` in the
        ``planner`` config group): the chosen solver's config validates its own fields."""
        self.solver_config()
        for name in ("max_step", "gripper_limit"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{PREFIX}{name}: expected a value > 0, found {value}")
        if (self.search_rotation or self.search_yaw) and not self.max_rotation > 0:
            raise ValueError(
                f"{PREFIX}max_rotation: expected a value > 0 when rotation is searched, "
                f"found {self.max_rotation}"
            )
        if not self.gripper_round >= 0:
            raise ValueError(
                f"{PREFIX}gripper_round: expected a value >= 0, found {self.gripper_round}"
            )
        if not (math.isfinite(self.goal_state_weight) and self.goal_state_weight >= 0):
            raise ValueError(
                f"{PREFIX}goal_state_weight: expected a finite value >= 0, "
                f"found {self.goal_state_weight}"
            )
        if self.discount is not None and not 0.0 < self.discount <= 1.0:
            raise ValueError(
                f"{PREFIX}discount: expected null or a value in (0, 1], found {self.discount}"
            )
        self.action_spec()

    def solver_config(self) -> Any:
        """The chosen solver's config (``CEMConfig``, ``ICEMConfig``, ``MPPIConfig``, ...)."""
        return solver_config(self.solver, self)

    def planner(self) -> Solver:
        """The chosen solver, configured."""
        return make_solver(self.solver, self)

    def describe(self) -> str:
        """One line for logs: the solver and the budget it spends, e.g. ``cem 800 samples x 10
        iterations, horizon 1 (elites 10)``."""
        config = self.solver_config()
        extra = [
            f"{f.name} {getattr(config, f.name)}"
            for f in fields(config)
            if f.name not in ("samples", "iterations", "horizon", "seed")
        ]
        return (
            f"{self.solver} {self.samples} samples x {self.iterations} iterations, "
            f"horizon {self.horizon} "
            f"({', '.join(extra)})"
        )

    def action_spec(self, layout: str = "droid") -> ActionSpec:
        """The searched action space for a model of the given action layout (``model.layout.name``;
        ``max_step`` (m), ``max_rotation`` (rad) and ``gripper_limit`` bound the physical motion
        of one step in any layout, see :meth:`ActionSpec.for_layout`)."""
        return ActionSpec.for_layout(
            layout,
            max_step=self.max_step,
            gripper_limit=self.gripper_limit,
            gripper_round=self.gripper_round,
            search_rotation=self.search_rotation,
            max_rotation=self.max_rotation,
            search_yaw=self.search_yaw,
        )

    def controller(self, model: WorldModel, workspace: Workspace | None = None) -> MPCController:
        """A receding-horizon controller for ``model`` with this solver, budget, box and options;
        ``workspace``: the arm's (used with ``clip_to_workspace``)."""
        return MPCController(
            model,
            self.planner(),
            self.action_spec(model.layout.name),
            discount=self.discount,
            warm_start=self.warm_start,
            workspace=workspace if self.clip_to_workspace else None,
            state_weight=self.goal_state_weight,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlannerConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"planner: unknown keys {unknown}; expected a subset of {sorted(known)}"
            )
        return cls(**data)
