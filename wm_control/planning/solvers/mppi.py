"""Model-predictive path integral control (MPPI; Williams et al. 2017), as TD-MPC2 plans: Gaussian
samples, and mean and std moved toward the softmax-weighted average of *all* samples, each weighted
by exp(−energy / temperature), rather than toward an unweighted top-k.

Why: every sample informs the update, in proportion to how good it is, so a small batch wastes
less than CEM's top-k (which ignores the other samples); the temperature sets how greedy it is.
The temperature is in units of the iteration's energy spread (the std of its energies), so one
value suits models whose energies differ in scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .base import PREFIX, EnergyFn, MomentumBudget, PlanResult, RolloutFn, SearchStart, Solver
from .base import blend, evaluate, finish


@dataclass(frozen=True)
class MPPIConfig(MomentumBudget):
    """Budget, ``temperature`` (> 0; small: greedy, toward the best samples; large: toward their
    plain mean) and the momentum on mean and std (the weight kept from the previous iteration)."""

    temperature: float = 0.5

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.samples < 2:
            raise ValueError(f"{PREFIX}samples: expected >= 2 for MPPI, found {self.samples}")
        if not self.temperature > 0.0:
            raise ValueError(f"{PREFIX}temperature: expected a value > 0, found {self.temperature}")


class MPPIPlanner(Solver):
    """Seeded MPPI; every iteration sends all samples through ``rollout_fn`` as one batch. The plan
    is the final mean."""

    name = "mppi"
    config_type = MPPIConfig

    def search(self, start: SearchStart, rollout_fn: RolloutFn, energy_fn: EnergyFn) -> PlanResult:
        cfg = self.config
        mean, std = start.mean, start.std  # [H, A] each
        per_iteration: list[float] = []
        for _ in range(cfg.iterations):
            samples = start.gaussian(mean, std, cfg.samples)  # [S, H, A]
            energies = evaluate(rollout_fn, energy_fn, samples, self.name).to(samples.dtype)  # [S]
            spread = energies.std().clamp_min(1e-12)
            weights = torch.softmax(
                -(energies - energies.min()) / (cfg.temperature * spread), dim=0
            )  # [S]
            w = weights.view(-1, 1, 1)  # [S, 1, 1]
            new_mean = (w * samples).sum(dim=0)  # [H, A]
            new_std = (w * (samples - new_mean) ** 2).sum(dim=0).sqrt()  # [H, A]
            mean = blend(mean, new_mean, cfg.momentum_mean)
            std = blend(std, new_std, cfg.momentum_std)
            per_iteration.append(float(energies.min()))
        return finish(self.name, rollout_fn, energy_fn, start.box, mean, per_iteration, mean, std)
