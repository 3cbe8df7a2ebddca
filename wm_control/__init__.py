"""wm-control: goal-image model-predictive control with a V-JEPA 2-AC world model.

``WorldModel``, ``Rollout`` and ``energy`` are imported on first use, so that light entry points
(``wm-control --help``, the ROS launch files, the command-line error path) do not load torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .energies import energy
    from .world_model import Rollout, WorldModel

__all__ = ["Rollout", "WorldModel", "energy"]

_WHERE = {"Rollout": ".world_model", "WorldModel": ".world_model", "energy": ".energies"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'wm_control' has no attribute {name!r}")
    value = getattr(import_module(_WHERE[name], __name__), name)
    globals()[name] = value
    return value
