"""The planner node's controller: ``wm_control``'s MPC, built from the node's parameters."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .planner_config import PlannerConfig


class Controller(Protocol):
    """What the node needs from ``wm_control.planning.MPCController``."""

    workspace: Any  # wm_control.planning.Workspace the model imagines actions through, or None

    def set_goal(self, goal_image: np.ndarray) -> None: ...  # uint8 [H, W, 3]

    def hold(self, values: dict[str, float]) -> None: ...  # action dimensions held, not searched

    def act(
        self, frame: np.ndarray, state: np.ndarray
    ) -> Any: ...  # -> MPCStep (action [7], energy, ...)

    def reset(self) -> None: ...


def build_controller(config: PlannerConfig) -> Controller:
    """World model (checkpoint; device and dtype chosen as ``wm-control`` chooses them: CUDA in
    bfloat16 when present, else CPU in float32) + the planner config the parameters map onto
    (solver, budget, action box) + MPC, imagining each action as the safety filter lets it through
    the workspace box. Torch's threads are set first (``torch_threads``; 0: one per physical
    core); ``compile_model`` compiles the predictor's blocks."""
    from wm_control.model_source import ModelSource
    from wm_control.runtime import set_torch_threads

    if not config.checkpoint:
        raise ValueError("checkpoint: expected the path of a world model checkpoint, found ''")
    set_torch_threads(config.torch_threads or None, key="torch_threads")
    source = ModelSource(
        path=config.checkpoint, device=config.device or "auto", compile=config.compile_model
    )
    model = source.load(Path.cwd())
    if model.layout.name != "droid":
        raise ValueError(
            f"checkpoint: the model acts in the {model.layout.name!r} layout "
            f"({model.layout.description}); the planner node reads ee_pose as a DROID state and "
            "publishes DROID deltas as twists, so it needs a model of the 'droid' layout"
        )
    return config.planning().controller(model, workspace=planning_workspace(config))


def planning_workspace(config: PlannerConfig) -> Any:
    """The safety filter's workspace box as the planner's ``Workspace`` (torch imported here)."""
    from wm_control.planning import Workspace

    return Workspace(config.workspace_min, config.workspace_max)
