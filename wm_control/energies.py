"""Planning energies (lower is better): the L1 distance between imagined tokens and goal tokens
(:func:`energy`, also ``wm_control.energy``), and the distance of imagined states to a goal state
(:func:`state_energy`)."""

from __future__ import annotations

import torch


def energy(
    imagined: torch.Tensor, goal: torch.Tensor, discount: float | None = None
) -> torch.Tensor:
    """Energy of each imagined trajectory.

    Args:
        imagined: ``[S, H, N, D]`` layer-normed imagined tokens of steps 1…H.
        goal: ``[N, D]``, ``[S, N, D]`` or ``[S, 1, N, D]`` layer-normed goal tokens.
        discount: None → mean |imagined[:, -1] − goal| (the paper's energy); a factor γ in (0, 1] →
            Σ_h γ^(H−h) · mean |imagined[:, h] − goal| (the last step weighs most).
    Returns:
        ``[S]`` energies, in float32 for tokens of lower precision (float64 stays float64):
        samples whose energies differ by less than bfloat16's step (2⁻⁷ ≈ 0.008 near 1) must
        still rank apart.
    """
    if imagined.dim() != 4:
        raise ValueError(
            f"energy: expected imagined tokens [S, H, N, D], found {tuple(imagined.shape)}"
        )
    if goal.dim() == 2:
        goal = goal.unsqueeze(0)
    if goal.dim() == 4:
        goal = goal[:, -1]
    if goal.shape[-2:] != imagined.shape[-2:]:
        raise ValueError(
            f"energy: goal tokens {tuple(goal.shape)} do not match imagined tokens "
            f"{tuple(imagined.shape)} in [N, D]"
        )
    precision = torch.promote_types(imagined.dtype, torch.float32)  # float32, or float64
    if discount is None:
        return _abs(imagined[:, -1] - goal).mean(dim=(-2, -1), dtype=precision)  # [S]
    if not 0.0 < discount <= 1.0:
        raise ValueError(f"energy: expected a discount in (0, 1], found {discount}")
    per_step = _abs(imagined - goal.unsqueeze(1)).mean(dim=(-2, -1), dtype=precision)
    H = imagined.shape[1]
    weights = discount ** torch.arange(
        H - 1, -1, -1, device=imagined.device, dtype=per_step.dtype
    )  # [H]
    return (per_step * weights).sum(dim=-1)


def _abs(difference: torch.Tensor) -> torch.Tensor:
    """``|difference|``, in place when no gradient flows through it: the temporary is tens of MB
    for 800 samples of 64 tokens, and a second one doubled the energy's time (8.7 → 4.1 ms)."""
    return difference.abs() if difference.requires_grad else difference.abs_()


def state_energy(
    imagined_states: torch.Tensor,
    goal_state: torch.Tensor,
    angular: torch.Tensor,
    discount: float | None = None,
) -> torch.Tensor:
    """Distance of each imagined trajectory's states to a goal state (the goal's proprioception,
    where a task gives one), weighed over steps as :func:`energy` weighs tokens.

    Args:
        imagined_states: ``[S, H, P]`` states of steps 1…H as the rollout integrates them.
        goal_state: ``[P]`` the goal's state, in the model's state layout.
        angular: ``[P]`` bool, the entries that are angles (rad): their difference is wrapped to
            (−π, π], so a yaw of π − ε is near −π + ε.
        discount: as in :func:`energy`.
    Returns:
        ``[S]`` mean absolute differences (the layout's units: m, rad, closure), in float32 or
        float64.
    """
    if imagined_states.dim() != 3 or goal_state.shape != imagined_states.shape[-1:]:
        raise ValueError(
            f"state_energy: expected imagined states [S, H, P] and a goal state [P], "
            f"found {tuple(imagined_states.shape)} and {tuple(goal_state.shape)}"
        )
    precision = torch.promote_types(imagined_states.dtype, torch.float32)  # float32, or float64
    difference = imagined_states.to(precision) - goal_state.to(precision)  # [S, H, P]
    wrapped = torch.atan2(torch.sin(difference), torch.cos(difference))
    per_step = torch.where(angular, wrapped, difference).abs().mean(dim=-1)  # [S, H]
    if discount is None:
        return per_step[:, -1]
    if not 0.0 < discount <= 1.0:
        raise ValueError(f"state_energy: expected a discount in (0, 1], found {discount}")
    H = per_step.shape[1]
    weights = discount ** torch.arange(H - 1, -1, -1, device=per_step.device, dtype=per_step.dtype)
    return (per_step * weights).sum(dim=-1)
