"""What the planner searches over: named action dimensions, their bounds, which are searched and
which fixed.

The action space comes from the model's declared layout (:mod:`wm_control.layouts`):
:meth:`ActionSpec.for_layout` builds Meta's DROID spec or OGBench's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import torch

DROID_ACTION_NAMES = ("dx", "dy", "dz", "droll", "dpitch", "dyaw", "dgripper")
OGBENCH_ACTION_NAMES = ("x", "y", "z", "yaw", "gripper")
JAW_STATES = ("open", "closed", "search")
GRIPPER_DIMENSIONS = ("dgripper", "gripper")
"""The gripper dimension's name in each layout (DROID's Δgripper, OGBench's gripper)."""


def jaw_hold(
    jaws: str, gripper_limit: float, names: tuple[str, ...] = DROID_ACTION_NAMES
) -> dict[str, float]:
    """The held action dimensions for a jaw state: the gripper dimension of ``names`` (DROID's
    Δgripper, OGBench's gripper) at ``-gripper_limit`` (``"open"``) or ``+gripper_limit``
    (``"closed"``), or nothing (``"search"``: the planner searches it)."""
    if jaws not in JAW_STATES:
        raise ValueError(f"jaws: expected one of {list(JAW_STATES)}, found {jaws!r}")
    gripper = next((n for n in GRIPPER_DIMENSIONS if n in names), None)
    if gripper is None:
        raise ValueError(f"jaw_hold: no gripper dimension {GRIPPER_DIMENSIONS} in {list(names)}")
    return (
        {} if jaws == "search" else {gripper: gripper_limit if jaws == "closed" else -gripper_limit}
    )


@dataclass(frozen=True)
class ActionSpec:
    """An action space for CEM.

    Fields are per-dimension tuples of the same length ``A``:
    ``low``/``high`` clip every sample; ``searched`` dimensions are sampled, the others are held at
    ``fixed``; ``init_std`` is the first iteration's sampling std; ``round_below`` zeroes entries of
    the returned plan whose magnitude is below it (0 disables).
    """

    names: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    searched: tuple[bool, ...]
    fixed: tuple[float, ...]
    init_std: tuple[float, ...]
    round_below: tuple[float, ...]

    def __post_init__(self) -> None:
        size = len(self.names)
        if size == 0:
            raise ValueError("ActionSpec.names: expected at least one action dimension, found none")
        for name in ("low", "high", "searched", "fixed", "init_std", "round_below"):
            value = getattr(self, name)
            if len(value) != size:
                raise ValueError(
                    f"ActionSpec.{name}: expected {size} entries (one per name), found {len(value)}"
                )
        for i, dim in enumerate(self.names):
            if not self.low[i] <= self.high[i]:
                raise ValueError(
                    f"ActionSpec.low/high[{dim}]: expected low <= high, found {self.low[i]} > "
                    f"{self.high[i]}"
                )
            if not self.searched[i] and not self.low[i] <= self.fixed[i] <= self.high[i]:
                raise ValueError(
                    f"ActionSpec.fixed[{dim}]: expected a value in [{self.low[i]}, "
                    f"{self.high[i]}], found {self.fixed[i]}"
                )
            if self.searched[i] and self.init_std[i] <= 0:
                raise ValueError(
                    f"ActionSpec.init_std[{dim}]: expected > 0 for a searched dimension, found "
                    f"{self.init_std[i]}"
                )
            if self.round_below[i] < 0:
                raise ValueError(
                    f"ActionSpec.round_below[{dim}]: expected >= 0, found {self.round_below[i]}"
                )

    @property
    def dim(self) -> int:
        return len(self.names)

    @classmethod
    def droid(
        cls,
        max_step: float = 0.075,
        gripper_limit: float = 0.75,
        gripper_round: float = 0.25,
        search_rotation: bool = False,
        max_rotation: float = 0.2,
        search_yaw: bool = False,
    ) -> ActionSpec:
        """Meta's planner: Δxyz clipped to ±``max_step`` m per coordinate and Δgripper to
        ±``gripper_limit`` are searched (initial std ``max_step`` and 1); rotation is fixed at 0, or
        searched within ±``max_rotation`` rad: all three angles (``search_rotation``) or the yaw
        alone (``search_yaw``, e.g. to align a gripper with an object seen from above); gripper plan
        entries below ``gripper_round`` → 0."""
        rotation = (
            search_rotation,
            search_rotation,
            search_rotation or search_yaw,
        )  # roll, pitch, yaw
        rot = tuple(
            max_rotation if searched else 0.0 for searched in rotation
        )  # half-width = initial std
        return cls(
            names=DROID_ACTION_NAMES,
            low=(-max_step,) * 3 + tuple(-r for r in rot) + (-gripper_limit,),
            high=(max_step,) * 3 + rot + (gripper_limit,),
            searched=(True,) * 3 + rotation + (True,),
            fixed=(0.0,) * 7,
            init_std=(max_step,) * 3 + rot + (1.0,),
            round_below=(0.0,) * 6 + (gripper_round,),
        )

    @classmethod
    def ogbench(
        cls,
        max_step: float = 1.0,
        gripper_limit: float = 1.0,
        gripper_round: float = 0.25,
        search_yaw: bool = False,
        max_rotation: float = 0.2,
    ) -> ActionSpec:
        """OGBench's layout (normalised, [-1, 1]): x, y, z searched within ±``max_step`` (initial
        std ``max_step``), the gripper within ±``gripper_limit`` (initial std 1; entries below
        ``gripper_round`` → 0, "keep the jaws as they are"); the yaw fixed at 0, or searched within
        ±``max_rotation`` (``search_yaw``)."""
        for name, value in (("max_step", max_step), ("gripper_limit", gripper_limit)):
            if not 0 < value <= 1:
                raise ValueError(f"ActionSpec.ogbench: {name} must be in (0, 1], found {value}")
        yaw = max_rotation if search_yaw else 0.0
        return cls(
            names=OGBENCH_ACTION_NAMES,
            low=(-max_step,) * 3 + (-yaw, -gripper_limit),
            high=(max_step,) * 3 + (yaw, gripper_limit),
            searched=(True, True, True, search_yaw, True),
            fixed=(0.0,) * 5,
            init_std=(max_step,) * 3 + (yaw, 1.0),
            round_below=(0.0,) * 4 + (gripper_round,),
        )

    @classmethod
    def for_layout(
        cls,
        layout: str,
        *,
        max_step: float,
        gripper_limit: float,
        gripper_round: float = 0.25,
        search_rotation: bool = False,
        max_rotation: float = 0.2,
        search_yaw: bool = False,
    ) -> ActionSpec:
        """The planner's action space for a model's declared ``layout`` (``model.layout.name``),
        with the bounds in physical units whatever the layout: ``max_step`` (m per coordinate and
        step), ``max_rotation`` (rad), ``gripper_limit`` (closure change). :meth:`droid` for
        ``"droid"``; :meth:`ogbench` for OGBench's layouts, the bounds converted to its normalised
        units by how far one unit moves the effector (``layout.translation_per_unit``, e.g. 0.075 m
        → 0.70 at 4 Hz) and capped at 1; it has no roll or pitch to search."""
        from wm_control.layouts import get_layout

        declared = get_layout(layout)
        if declared.action_names == DROID_ACTION_NAMES:
            return cls.droid(
                max_step=max_step,
                gripper_limit=gripper_limit,
                gripper_round=gripper_round,
                search_rotation=search_rotation,
                max_rotation=max_rotation,
                search_yaw=search_yaw,
            )
        if declared.action_names == OGBENCH_ACTION_NAMES:
            if search_rotation:
                raise ValueError(
                    f"search_rotation: layout {layout!r} has only a yaw; use search_yaw instead"
                )
            return cls.ogbench(
                max_step=min(1.0, max_step / declared.translation_per_unit),
                gripper_limit=min(1.0, gripper_limit),
                gripper_round=gripper_round,
                search_yaw=search_yaw,
                max_rotation=min(1.0, max_rotation / declared.rotation_per_unit),
            )
        raise ValueError(f"ActionSpec.for_layout: no action space defined for layout {layout!r}")

    def holding(self, values: Mapping[str, float]) -> ActionSpec:
        """This spec with the named dimensions held at the given values instead of searched
        (e.g. ``{"dgripper": 0.75}`` keeps closing the jaws); ``{}`` returns it unchanged."""
        unknown = sorted(set(values) - set(self.names))
        if unknown:
            raise ValueError(
                f"ActionSpec.holding: unknown dimensions {unknown}; expected names from "
                f"{list(self.names)}"
            )
        searched, fixed = list(self.searched), list(self.fixed)
        for name, value in values.items():
            i = self.names.index(name)
            searched[i], fixed[i] = False, float(value)
        return replace(self, searched=tuple(searched), fixed=tuple(fixed))

    def tensors(self, device: torch.device | str) -> dict[str, torch.Tensor]:
        """The per-dimension fields as float/bool tensors ``[A]`` on ``device``."""
        return {
            "low": torch.tensor(self.low, device=device),
            "high": torch.tensor(self.high, device=device),
            "searched": torch.tensor(self.searched, device=device),
            "fixed": torch.tensor(self.fixed, device=device),
            "init_std": torch.tensor(self.init_std, device=device),
            "round_below": torch.tensor(self.round_below, device=device),
        }
