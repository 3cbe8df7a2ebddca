"""Planning energy: L1 distance between imagined tokens and goal tokens (lower is better)."""

from __future__ import annotations

import torch


def energy(imagined: torch.Tensor, goal: torch.Tensor, discount: float | None = None) -> torch.Tensor:
    """Energy of each imagined trajectory.

    Args:
        imagined: ``[S, H, N, D]`` layer-normed imagined tokens of steps 1…H.
        goal: ``[N, D]``, ``[S, N, D]`` or ``[S, 1, N, D]`` layer-normed goal tokens.
        discount: None → mean |imagined[:, -1] − goal| (the paper's energy); a factor γ in (0, 1] →
            Σ_h γ^(H−h) · mean |imagined[:, h] − goal| (the last step weighs most).
    Returns:
        ``[S]`` energies.
    """
    if imagined.dim() != 4:
        raise ValueError(f"energy: expected imagined tokens [S, H, N, D], found {tuple(imagined.shape)}")
    if goal.dim() == 2:
        goal = goal.unsqueeze(0)
    if goal.dim() == 4:
        goal = goal[:, -1]
    if goal.shape[-2:] != imagined.shape[-2:]:
        raise ValueError(
            f"energy: goal tokens {tuple(goal.shape)} do not match imagined tokens {tuple(imagined.shape)} in [N, D]"
        )
    if discount is None:
        return (imagined[:, -1] - goal).abs().mean(dim=(-2, -1))  # [S]
    if not 0.0 < discount <= 1.0:
        raise ValueError(f"energy: expected a discount in (0, 1], found {discount}")
    per_step = (imagined - goal.unsqueeze(1)).abs().mean(dim=(-2, -1))  # [S, H]
    H = imagined.shape[1]
    weights = discount ** torch.arange(H - 1, -1, -1, device=imagined.device, dtype=per_step.dtype)  # [H]
    return (per_step * weights).sum(dim=-1)
