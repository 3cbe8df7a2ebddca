"""wm-control: goal-image model-predictive control with a V-JEPA 2-AC world model."""

from .energy import energy
from .world_model import Rollout, WorldModel

__all__ = ["Rollout", "WorldModel", "energy"]
