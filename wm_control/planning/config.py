"""One typed config for the planner (CEM budget + DROID action bounds), shared by the CLI and ROS."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from ..world_model import WorldModel
from .action_spec import ActionSpec
from .cem import CEMConfig, CEMPlanner
from .mpc import MPCController
from .workspace import Workspace

PREFIX = "planner."  # how errors name a field: the key of the `planner` config group


@dataclass(frozen=True)
class PlannerConfig:
    """CEM budget and the searched action box. Defaults: the paper's budget (800 samples ×
    10 iterations, top-10, horizon 1, ±7.5 cm per coordinate, gripper ±0.75).

    ``clip_to_workspace``: given the arm's workspace box, the model imagines each action as the
    arm's controller carries it out (targets moved onto the box); Meta's planner does not."""

    samples: int = 800
    iterations: int = 10
    elites: int = 10
    horizon: int = 1
    momentum_mean: float = 0.15
    momentum_std: float = 0.15
    seed: int = 0
    max_step: float = 0.075
    gripper_limit: float = 0.75
    gripper_round: float = 0.25
    search_rotation: bool = False
    max_rotation: float = 0.2
    search_yaw: bool = False
    discount: float | None = None
    warm_start: bool = True
    clip_to_workspace: bool = True

    def __post_init__(self) -> None:
        """Checks every field under the name the user sets it by (``planner.<field>`` in the
        ``planner`` config group), before the CEM config and the action box are built from them."""
        for name in ("samples", "iterations", "elites", "horizon"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{PREFIX}{name}: expected an int >= 1, found {value!r}")
        if not 2 <= self.elites <= self.samples:
            raise ValueError(
                f"{PREFIX}elites: expected 2 <= elites <= samples ({self.samples}), found {self.elites}"
            )
        for name in ("momentum_mean", "momentum_std"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{PREFIX}{name}: expected a value in [0, 1), found {value}")
        for name in ("max_step", "gripper_limit"):
            value = getattr(self, name)
            if not value > 0:
                raise ValueError(f"{PREFIX}{name}: expected a value > 0, found {value}")
        if (self.search_rotation or self.search_yaw) and not self.max_rotation > 0:
            raise ValueError(
                f"{PREFIX}max_rotation: expected a value > 0 when rotation is searched, found {self.max_rotation}"
            )
        if not self.gripper_round >= 0:
            raise ValueError(f"{PREFIX}gripper_round: expected a value >= 0, found {self.gripper_round}")
        if self.discount is not None and not 0.0 < self.discount <= 1.0:
            raise ValueError(f"{PREFIX}discount: expected null or a value in (0, 1], found {self.discount}")
        self.cem()
        self.action_spec()

    def cem(self) -> CEMConfig:
        return CEMConfig(
            samples=self.samples, iterations=self.iterations, elites=self.elites, horizon=self.horizon,
            momentum_mean=self.momentum_mean, momentum_std=self.momentum_std, seed=self.seed,
        )

    def planner(self) -> CEMPlanner:
        return CEMPlanner(self.cem())

    def action_spec(self, layout: str = "droid") -> ActionSpec:
        """The searched action space for a model of the given action layout (``model.layout.name``;
        ``max_step`` and ``gripper_limit`` are in that layout's units: m for DROID, [-1, 1] for
        OGBench's)."""
        return ActionSpec.for_layout(
            layout, max_step=self.max_step, gripper_limit=self.gripper_limit, gripper_round=self.gripper_round,
            search_rotation=self.search_rotation, max_rotation=self.max_rotation, search_yaw=self.search_yaw,
        )

    def controller(self, model: WorldModel, workspace: Workspace | None = None) -> MPCController:
        """A receding-horizon controller for ``model`` with this budget, box and options; ``workspace``:
        the arm's (used with ``clip_to_workspace``)."""
        return MPCController(model, self.planner(), self.action_spec(model.layout.name), discount=self.discount,
                             warm_start=self.warm_start, workspace=workspace if self.clip_to_workspace else None)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlannerConfig:
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"planner: unknown keys {unknown}; expected a subset of {sorted(known)}")
        return cls(**data)
