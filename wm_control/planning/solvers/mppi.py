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

from ..action_spec import ActionSpec
from .base import (
    blend,
    PREFIX,
    EnergyFn,
    PlanResult,
    RolloutFn,
    Solver,
    WarmStart,
    check_int,
    check_momentum,
    evaluate,
    finish,
    project,
)


@dataclass(frozen=True)
class MPPIConfig:
    """Budget, ``temperature`` (> 0; small: greedy, toward the best samples; large: toward their
    plain mean) and the momentum on mean and std (the weight kept from the previous iteration)."""

    samples: int = 800
    iterations: int = 10
    horizon: int = 1
    temperature: float = 0.5
    momentum_mean: float = 0.15
    momentum_std: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        check_int(self, "samples", "iterations", "horizon")
        if self.samples < 2:
            raise ValueError(f"{PREFIX}samples: expected >= 2 for MPPI, found {self.samples}")
        if not self.temperature > 0.0:
            raise ValueError(f"{PREFIX}temperature: expected a value > 0, found {self.temperature}")
        check_momentum(self)


class MPPIPlanner(Solver):
    """Seeded MPPI; every iteration sends all samples through ``rollout_fn`` as one batch. The plan
    is the final mean."""

    name = "mppi"
    config_type = MPPIConfig

    def plan(
        self,
        rollout_fn: RolloutFn,
        energy_fn: EnergyFn,
        spec: ActionSpec,
        warm_start: WarmStart | None = None,
        device: torch.device | str = "cpu",
    ) -> PlanResult:
        cfg = self.config
        search = self.begin(spec, warm_start, device)
        t, device = search.box, search.device
        mean, std = search.mean, search.std  # [H, A] each
        generator = search.generator
        per_iteration: list[float] = []
        for _ in range(cfg.iterations):
            noise = torch.randn(
                (cfg.samples, cfg.horizon, spec.dim), generator=generator, device=device
            )
            samples = project(mean + std * noise, t)  # [S, H, A]
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
        return finish(self.name, rollout_fn, energy_fn, t, mean, per_iteration, mean, std)
