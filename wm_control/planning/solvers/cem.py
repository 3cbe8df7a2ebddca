"""Cross-entropy method (Meta's planner): Gaussian samples per horizon step, top-k elites, mean
and std moved toward the elites with momentum.

Defaults reproduce Meta's planner: N(mean, std) samples per horizon step, per-coordinate clipping,
held dimensions held, top-k elites, momentum on mean and std, small gripper entries rounded to 0.
"""

from __future__ import annotations

from dataclasses import dataclass


from .base import EliteBudget, EnergyFn, PlanResult, RolloutFn, SearchStart, Solver
from .base import evaluate, finish, refit


@dataclass(frozen=True)
class CEMConfig(EliteBudget):
    """Budget and update rule (Meta's defaults: 800 samples × 10 iterations, top-10, horizon 1,
    momentum 0.15). ``momentum_*`` is the weight kept from the previous iteration."""


class CEMPlanner(Solver):
    """Seeded CEM; every iteration sends all samples through ``rollout_fn`` as one batch."""

    name = "cem"
    config_type = CEMConfig

    def search(self, start: SearchStart, rollout_fn: RolloutFn, energy_fn: EnergyFn) -> PlanResult:
        cfg = self.config
        mean, std = start.mean, start.std  # [H, A] each
        per_iteration: list[float] = []
        for _ in range(cfg.iterations):
            samples = start.gaussian(mean, std, cfg.samples)  # [S, H, A]
            energies = evaluate(rollout_fn, energy_fn, samples, self.name)  # [S]
            elite_energy, elite_index = energies.topk(cfg.elites, largest=False)
            mean, std = refit(mean, std, samples[elite_index], cfg)
            per_iteration.append(float(elite_energy[0]))
        return finish(self.name, rollout_fn, energy_fn, start.box, mean, per_iteration, mean, std)
