"""The planner node's controller: ``wm_control``'s MPC, built from the node's parameters."""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from .planner_config import PlannerConfig


class Controller(Protocol):
    """What the node needs from ``wm_control.planning.MPCController``."""

    workspace: Any  # wm_control.planning.Workspace the model imagines actions through, or None

    def set_goal(self, goal_image: np.ndarray) -> None: ...  # uint8 [H, W, 3]

    def hold(self, values: dict[str, float]) -> None: ...  # action dimensions held, not searched

    def act(self, frame: np.ndarray, state: np.ndarray) -> Any: ...  # -> MPCStep (action [7], energy, ...)

    def reset(self) -> None: ...


def build_controller(config: PlannerConfig) -> Controller:
    """World model (checkpoint) + CEM (budget) + MPC (DROID action spec), imagining each action as
    the safety filter lets it through the workspace box."""
    import torch

    from wm_control import WorldModel
    from wm_control.planning.config import PlannerConfig as PlanningConfig

    if not config.checkpoint:
        raise ValueError("checkpoint: expected the path of a world model checkpoint, found ''")
    if config.torch_threads:
        torch.set_num_threads(config.torch_threads)
    device = config.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model = WorldModel.from_pretrained(config.checkpoint, device=device)
    planning = PlanningConfig(samples=config.cem_samples, iterations=config.cem_iterations,
                              elites=config.cem_elites, horizon=config.horizon, seed=config.seed,
                              max_step=config.max_step, gripper_limit=config.gripper_limit)
    return planning.controller(model, workspace=planning_workspace(config))


def planning_workspace(config: PlannerConfig) -> Any:
    """The safety filter's workspace box as the planner's ``Workspace`` (torch imported here)."""
    from wm_control.planning import Workspace

    return Workspace(config.workspace_min, config.workspace_max)
