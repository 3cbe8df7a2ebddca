"""Planning: the action spec, the CEM optimiser and the receding-horizon controller."""

from .action_spec import ActionSpec
from .cem import CEMConfig, CEMPlanner, PlanResult, WarmStart, shift_warm_start
from .mpc import MPCController, MPCStep
from .workspace import Workspace

__all__ = [
    "ActionSpec", "CEMConfig", "CEMPlanner", "MPCController", "MPCStep", "PlanResult", "WarmStart",
    "Workspace", "shift_warm_start",
]
