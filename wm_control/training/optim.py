"""AdamW with decoupled weight decay on matrices only, the warmup-constant-decay LR schedule, and
the clipped optimizer step.

As in the V-JEPA 2-AC recipe: betas (0.9, 0.999), weight decay 0.04 on weights with two or more
dimensions (never on biases or normalisation parameters), the learning rate rising linearly from
``start_lr`` to ``lr`` over ``warmup_steps``, held, then falling linearly to ``final_lr`` over the
last ``decay_steps`` of ``total_steps``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer and schedule; steps count optimizer updates."""

    lr: float = 4.25e-4
    start_lr: float = 7.5e-5
    final_lr: float = 0.0
    warmup_steps: int = 100
    decay_steps: int = 100
    weight_decay: float = 0.04
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    grad_clip: float | None = None

    def __post_init__(self) -> None:
        for name in ("lr", "start_lr", "final_lr", "weight_decay", "eps"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(
                    f"OptimConfig.{name}: expected a non-negative number, found {value!r}"
                )
        for name in ("warmup_steps", "decay_steps"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(
                    f"OptimConfig.{name}: expected a non-negative int, found {value!r}"
                )
        betas = tuple(float(b) for b in self.betas)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(
                f"OptimConfig.betas: expected two numbers in [0, 1), found {self.betas!r}"
            )
        object.__setattr__(self, "betas", betas)
        if self.grad_clip is not None and not (
            isinstance(self.grad_clip, (int, float)) and self.grad_clip > 0
        ):
            raise ValueError(
                "OptimConfig.grad_clip: expected a positive number or None, found "
                f"{self.grad_clip!r}"
            )


def learning_rate(config: OptimConfig, step: int, total_steps: int) -> float:
    """The learning rate of update ``step`` (0-based) in a run of ``total_steps`` updates."""
    decay_start = max(total_steps - config.decay_steps, config.warmup_steps)
    if step < config.warmup_steps:
        return config.start_lr + (config.lr - config.start_lr) * step / config.warmup_steps
    if step >= decay_start and config.decay_steps > 0:
        progress = min((step - decay_start) / config.decay_steps, 1.0)
        return config.lr + (config.final_lr - config.lr) * progress
    return config.lr


def build_optimizer(model: nn.Module, config: OptimConfig) -> torch.optim.AdamW:
    """AdamW over ``model``'s trainable parameters: decay on ≥2-D weights, none on biases/norms."""
    decay, no_decay = [], []
    for _, param in sorted(model.named_parameters(), key=lambda item: item[0]):
        if not param.requires_grad:
            continue
        (decay if param.ndim >= 2 else no_decay).append(param)
    if not decay and not no_decay:
        raise ValueError("build_optimizer: the model has no trainable parameters")
    groups = [
        {"params": decay, "weight_decay": config.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.start_lr, betas=config.betas, eps=config.eps)


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def optimizer_step(
    optimizer: torch.optim.Optimizer, model: nn.Module, grad_clip: float | None
) -> float:
    """Clip the gradients of ``model``'s parameters to norm ``grad_clip`` (if set), step the
    optimizer and clear the gradients; returns the norm before clipping (NaN when not clipped)."""
    grad_norm = float("nan")
    if grad_clip is not None:
        grad_norm = float(torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip))
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)
    return grad_norm
