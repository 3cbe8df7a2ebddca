"""Cross-entropy method (Meta's planner): Gaussian samples per horizon step, top-k elites, mean
and std moved toward the elites with momentum.

Defaults reproduce Meta's planner: N(mean, std) samples per horizon step, per-coordinate clipping,
held dimensions held, top-k elites, momentum on mean and std, small gripper entries rounded to 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..action_spec import ActionSpec
from .base import (
    blend,
    EnergyFn,
    PlanResult,
    RolloutFn,
    Solver,
    WarmStart,
    check_elites,
    check_int,
    check_momentum,
    evaluate,
    finish,
    project,
)


@dataclass(frozen=True)
class CEMConfig:
    """Budget and update rule. ``momentum_*`` is the weight kept from the previous iteration."""

    samples: int = 800
    iterations: int = 10
    elites: int = 10
    horizon: int = 1
    momentum_mean: float = 0.15
    momentum_std: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        check_int(self, "samples", "iterations", "elites", "horizon")
        check_elites(self)
        check_momentum(self)


class CEMPlanner(Solver):
    """Seeded CEM; every iteration sends all samples through ``rollout_fn`` as one batch."""

    name = "cem"
    config_type = CEMConfig

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
        per_iteration: list[float] = []
        for _ in range(cfg.iterations):
            noise = torch.randn(
                (cfg.samples, cfg.horizon, spec.dim), generator=search.generator, device=device
            )
            samples = project(mean + std * noise, t)  # [S, H, A]
            energies = evaluate(rollout_fn, energy_fn, samples, self.name)  # [S]
            elite_energy, elite_index = energies.topk(cfg.elites, largest=False)
            elites = samples[elite_index]  # [K, H, A]
            mean = blend(mean, elites.mean(dim=0), cfg.momentum_mean)
            std = blend(std, elites.std(dim=0), cfg.momentum_std)
            per_iteration.append(float(elite_energy[0]))
        return finish(self.name, rollout_fn, energy_fn, t, mean, per_iteration, mean, std)
