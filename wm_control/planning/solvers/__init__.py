"""The planner's optimisers and their registry: ``cem`` (Meta's), ``icem``, ``mppi`` and ``gd``.

Each is a :class:`~.base.Solver` configured by its own frozen dataclass; :func:`make_solver`
builds one by name from any object carrying the fields its config declares (the planner config).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from .base import EnergyFn, PlanResult, RolloutFn, Solver, WarmStart, shift_warm_start
from .cem import CEMConfig, CEMPlanner
from .gd import GDConfig, GradientPlanner
from .icem import ICEMConfig, ICEMPlanner
from .mppi import MPPIConfig, MPPIPlanner

SOLVERS: dict[str, type[Solver]] = {
    cls.name: cls for cls in (CEMPlanner, ICEMPlanner, MPPIPlanner, GradientPlanner)
}


def solver_config(name: str, source: Any) -> Any:
    """The config of solver ``name`` with each of its fields read from ``source`` (an attribute
    of the same name, e.g. ``planner.samples``)."""
    if name not in SOLVERS:
        raise ValueError(f"planner.solver: expected one of {sorted(SOLVERS)}, found {name!r}")
    config_type = SOLVERS[name].config_type
    return config_type(**{f.name: getattr(source, f.name) for f in dataclasses.fields(config_type)})


def make_solver(name: str, source: Any) -> Solver:
    """Solver ``name`` configured from ``source`` (see :func:`solver_config`)."""
    return SOLVERS[name](solver_config(name, source))


__all__ = [
    "CEMConfig",
    "CEMPlanner",
    "EnergyFn",
    "GDConfig",
    "GradientPlanner",
    "ICEMConfig",
    "ICEMPlanner",
    "MPPIConfig",
    "MPPIPlanner",
    "PlanResult",
    "RolloutFn",
    "SOLVERS",
    "Solver",
    "WarmStart",
    "make_solver",
    "shift_warm_start",
    "solver_config",
]
