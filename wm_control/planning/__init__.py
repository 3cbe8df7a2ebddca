"""Planning: the action spec, the CEM optimiser and the receding-horizon controller."""

from .action_spec import ActionSpec
from .cem import CEMConfig, CEMPlanner, PlanResult, WarmStart, shift_warm_start
from .mpc import MPCController, MPCStep

__all__ = [
    "ActionSpec", "CEMConfig", "CEMPlanner", "MPCController", "MPCStep", "PlanResult", "WarmStart",
    "shift_warm_start",
]
