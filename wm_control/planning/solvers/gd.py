"""Gradient descent on the energy through the differentiable rollout: Adam from several sampled
starts at once, each step projected back onto the action box.

Why: where the energy is smooth in the actions, the gradient points to better actions directly
instead of being estimated from many samples, so a few starts and steps can replace thousands of
rollouts (each step costs about three rollouts: forward and backward). It needs the rollout to
keep gradients: callers must not run it under ``torch.inference_mode``.

The actions are optimised in box-normalised coordinates u ∈ [−1, 1] (a = centre + half-width · u),
so one learning rate suits every dimension; held dimensions stay at their values.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import PREFIX, Budget, EnergyFn, PlanResult, RolloutFn, SearchStart, Solver
from .base import evaluate, finish, project


@dataclass(frozen=True)
class GDConfig(Budget):
    """``samples`` starts (the first is the warm start's mean, the others drawn from its
    distribution), ``iterations`` Adam steps of learning rate ``lr`` (box half-widths per step)."""

    samples: int = 16
    lr: float = 0.1

    def __post_init__(self) -> None:
        super().__post_init__()
        if not 0.0 < self.lr <= 2.0:
            raise ValueError(f"{PREFIX}lr: expected a value in (0, 2], found {self.lr}")


def box_coordinates(t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre and half-width ``[A]`` of the spec's box (a = centre + half-width · u)."""
    return (t["high"] + t["low"]) / 2, ((t["high"] - t["low"]) / 2).clamp_min(1e-12)


def energy_and_gradient(
    rollout_fn: RolloutFn, energy_fn: EnergyFn, t: dict[str, torch.Tensor], u: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Actions ``[S, H, A]`` at box coordinates ``u [S, H, A]`` (held dims held), their energies
    ``[S]`` and the gradient of each sample's energy with respect to its own ``u`` ``[S, H, A]``
    (samples are independent, so the gradient of the sum is each one's)."""
    centre, half = box_coordinates(t)
    with torch.inference_mode(False), torch.enable_grad():
        u = u.detach().requires_grad_(True)
        actions = project(centre + half * u, t)  # [S, H, A]
        energies = evaluate(rollout_fn, energy_fn, actions, GradientPlanner.name)  # [S]
        (grad,) = torch.autograd.grad(energies.sum(), u)  # only u's gradient, not the model's
    return actions.detach(), energies.detach(), grad


class GradientPlanner(Solver):
    """Seeded projected Adam over ``samples`` starts as one batch ``[S, H, A]``; the plan is the
    lowest-energy sequence evaluated at any step."""

    name = "gd"
    config_type = GDConfig
    differentiable = True

    def search(self, start: SearchStart, rollout_fn: RolloutFn, energy_fn: EnergyFn) -> PlanResult:
        cfg = self.config
        t, std = start.box, start.std  # std: [H, A]
        centre, half = box_coordinates(t)
        noise = start.noise(cfg.samples)  # [S, H, A]
        noise[0] = 0.0  # the first start is the warm start's mean itself
        starts = project(start.mean + std * noise, t)  # [S, H, A]
        with torch.inference_mode(False):
            u = ((starts - centre) / half).clamp(-1.0, 1.0).clone()  # [S, H, A]
            optimiser = torch.optim.Adam([u], lr=cfg.lr)
            per_iteration: list[float] = []
            best, best_energy = starts[0], float("inf")
            for _ in range(cfg.iterations):
                actions, energies, grad = energy_and_gradient(rollout_fn, energy_fn, t, u)
                lowest, index = energies.min(dim=0)
                per_iteration.append(float(lowest))
                if per_iteration[-1] < best_energy:
                    best, best_energy = actions[index], per_iteration[-1]
                u.grad = grad
                optimiser.step()
                u.clamp_(-1.0, 1.0)  # projected back onto the box
        with torch.no_grad():
            return finish(
                self.name, rollout_fn, energy_fn, t, best, per_iteration, best.clone(), std
            )
