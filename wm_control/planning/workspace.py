"""The end-effector box a robot's controller keeps its position targets in, as the planner sees it.

Arm controllers (the simulator's, the ROS node's safety filter) move a position target that
leaves the box back onto it: an action that asks for more moves the arm less or not at all. A
planner that imagines the unclipped action can settle on one the arm never carries out (pressing
into the table, say, where the world model imagines the arm sliding lower). :class:`Workspace`
turns planned actions into the ones the controller will execute, so the world model imagines
those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

TRANSLATION_NAMES = (("dx", "dy", "dz"), ("x", "y", "z"))
"""The translation dimensions' names in the supported layouts (DROID's, OGBench's)."""


@dataclass(frozen=True)
class Workspace:
    """An axis-aligned box ``low``..``high`` (m, xyz) for the end-effector position, in the frame of
    the state's first three entries (the robot base)."""

    low: tuple[float, float, float]
    high: tuple[float, float, float]

    def __post_init__(self) -> None:
        low, high = tuple(float(v) for v in self.low), tuple(float(v) for v in self.high)
        if len(low) != 3 or len(high) != 3:
            raise ValueError(
                f"Workspace: expected low and high of 3 values (x, y, z), found {list(low)} and "
                f"{list(high)}"
            )
        if not all(lo < hi for lo, hi in zip(low, high)):
            raise ValueError(
                f"Workspace: expected low < high on every axis, found low={list(low)} "
                f"high={list(high)}"
            )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)

    def executed(
        self,
        actions: torch.Tensor,
        position: torch.Tensor,
        names: Sequence[str],
        translation_per_unit: float = 1.0,
    ) -> torch.Tensor:
        """The actions ``[..., H, A]`` (dimensions ``names``; Δx/Δy/Δz move the effector
        ``translation_per_unit`` m per unit: 1 for DROID's metres, the layout's for OGBench's
        normalised actions) as the controller carries them out from the end-effector
        ``position [3]`` (m): each step's target moved onto the box, Δxyz replaced by the move to
        that target; other dimensions unchanged. A position already outside the box gets
        targets on its boundary, as the controllers do."""
        translation = next((t for t in TRANSLATION_NAMES if set(t) <= set(names)), None)
        if translation is None:
            raise ValueError(
                "Workspace.executed: the action names lack a translation "
                f"{list(TRANSLATION_NAMES)}; found {list(names)}"
            )
        dims = [list(names).index(n) for n in translation]
        low = torch.tensor(self.low, device=actions.device, dtype=actions.dtype)
        high = torch.tensor(self.high, device=actions.device, dtype=actions.dtype)
        out = actions.clone()
        here = position.to(actions.device, actions.dtype).expand(*actions.shape[:-2], 3)  # [..., 3]
        for step in range(actions.shape[-2]):
            wanted = here + actions[..., step, dims] * translation_per_unit  # [..., 3] (m)
            target = torch.minimum(torch.maximum(wanted, low), high)
            # moves inside the box are kept bit for bit: the plan equals the unclipped planner's
            # there
            moved = (target - here) / translation_per_unit
            out[..., step, dims] = torch.where(target == wanted, actions[..., step, dims], moved)
            here = target
        return out
