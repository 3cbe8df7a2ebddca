"""Planning: the action spec, the solvers (CEM, iCEM, MPPI, gradient descent), the planner config
and the receding-horizon controller."""

from .action_spec import ActionSpec
from .mpc import MPCController, MPCStep
from .solvers import (
    SOLVERS,
    CEMConfig,
    CEMPlanner,
    GDConfig,
    GradientPlanner,
    ICEMConfig,
    ICEMPlanner,
    MPPIConfig,
    MPPIPlanner,
    PlanResult,
    Solver,
    WarmStart,
    make_solver,
    shift_warm_start,
)
from .workspace import Workspace

__all__ = [
    "SOLVERS",
    "ActionSpec",
    "CEMConfig",
    "CEMPlanner",
    "GDConfig",
    "GradientPlanner",
    "ICEMConfig",
    "ICEMPlanner",
    "MPCController",
    "MPCStep",
    "MPPIConfig",
    "MPPIPlanner",
    "PlanResult",
    "Solver",
    "WarmStart",
    "Workspace",
    "make_solver",
    "shift_warm_start",
]
