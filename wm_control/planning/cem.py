"""Cross-entropy method over action sequences: a pure optimiser.

It receives a rollout function (action samples → imagined tokens), an energy function (imagined
tokens → energies) and an :class:`ActionSpec`; it knows nothing of models, environments or ROS.
Defaults reproduce Meta's planner: N(mean, std) samples per horizon step, per-coordinate clipping,
fixed dimensions held, top-k elites, momentum on mean and std, small gripper entries rounded to 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .action_spec import ActionSpec

RolloutFn = Callable[[torch.Tensor], torch.Tensor]  # actions [S, H, A] → imagined tokens [S, H, N, D]
EnergyFn = Callable[[torch.Tensor], torch.Tensor]  # imagined tokens [S, H, N, D] → energies [S]


@dataclass(frozen=True)
class CEMConfig:
    """Planner budget and update rule. ``momentum_*`` is the weight kept from the previous iteration."""

    samples: int = 800
    iterations: int = 10
    elites: int = 10
    horizon: int = 1
    momentum_mean: float = 0.15
    momentum_std: float = 0.15
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("samples", "iterations", "elites", "horizon"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"CEMConfig.{name}: expected an int >= 1, found {value!r}")
        if not 2 <= self.elites <= self.samples:
            raise ValueError(f"CEMConfig.elites: expected 2 <= elites <= samples ({self.samples}), found {self.elites}")
        for name in ("momentum_mean", "momentum_std"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"CEMConfig.{name}: expected a value in [0, 1), found {value}")


@dataclass(frozen=True)
class WarmStart:
    """Sampling distribution to start from: mean and std ``[H, A]``."""

    mean: torch.Tensor
    std: torch.Tensor


@dataclass(frozen=True)
class PlanResult:
    """``actions [H, A]``: the plan (final mean, fixed dims held, small entries rounded);
    ``energy``: energy of that plan; ``best_energy``: lowest energy of any sample;
    ``energy_per_iteration``: lowest sample energy of each iteration; ``mean``/``std`` ``[H, A]``:
    the final sampling distribution."""

    actions: torch.Tensor
    energy: float
    best_energy: float
    energy_per_iteration: list[float]
    mean: torch.Tensor
    std: torch.Tensor


class CEMPlanner:
    """Seeded CEM; every iteration sends all samples through ``rollout_fn`` as one batch."""

    def __init__(self, config: CEMConfig) -> None:
        self.config = config
        self._generators: dict[str, torch.Generator] = {}

    def reset(self) -> None:
        """Restart the random stream (the next plan equals the first plan after construction)."""
        self._generators.clear()

    def _generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.config.seed)
        return self._generators[key]

    def initial(self, spec: ActionSpec, device: torch.device | str = "cpu") -> WarmStart:
        """The first distribution: fixed values as mean (0 for searched dims), ``init_std`` as std."""
        t = spec.tensors(device)
        H = self.config.horizon
        mean = torch.where(t["searched"], torch.zeros_like(t["fixed"]), t["fixed"]).expand(H, -1).clone()
        return WarmStart(mean=mean, std=t["init_std"].expand(H, -1).clone())

    def plan(
        self,
        rollout_fn: RolloutFn,
        energy_fn: EnergyFn,
        spec: ActionSpec,
        warm_start: WarmStart | None = None,
        device: torch.device | str = "cpu",
    ) -> PlanResult:
        cfg = self.config
        device = torch.device(device)
        t = spec.tensors(device)
        start = warm_start or self.initial(spec, device)
        mean, std = start.mean.to(device).clone(), start.std.to(device).clone()  # [H, A]
        if mean.shape != (cfg.horizon, spec.dim) or std.shape != mean.shape:
            raise ValueError(
                f"CEM warm start: expected mean and std [{cfg.horizon}, {spec.dim}], "
                f"found {tuple(mean.shape)} and {tuple(std.shape)}"
            )
        generator = self._generator(device)
        searched, fixed = t["searched"], t["fixed"]
        per_iteration: list[float] = []
        best = float("inf")
        for _ in range(cfg.iterations):
            noise = torch.randn((cfg.samples, cfg.horizon, spec.dim), generator=generator, device=device)
            samples = mean + std * noise  # [S, H, A]
            samples = torch.maximum(torch.minimum(samples, t["high"]), t["low"])
            samples = torch.where(searched, samples, fixed)
            energies = energy_fn(rollout_fn(samples))  # [S]
            if energies.shape != (cfg.samples,):
                raise ValueError(f"CEM: energy_fn must return [{cfg.samples}] energies, found {tuple(energies.shape)}")
            elite_energy, elite_index = energies.topk(cfg.elites, largest=False)
            elites = samples[elite_index]  # [K, H, A]
            mean = cfg.momentum_mean * mean + (1.0 - cfg.momentum_mean) * elites.mean(dim=0)
            std = cfg.momentum_std * std + (1.0 - cfg.momentum_std) * elites.std(dim=0)
            per_iteration.append(float(elite_energy[0]))
            best = min(best, per_iteration[-1])
        actions = torch.where(searched, mean, fixed)
        actions = torch.where(actions.abs() < t["round_below"], torch.zeros_like(actions), actions)  # [H, A]
        plan_energy = float(energy_fn(rollout_fn(actions.unsqueeze(0)))[0])
        return PlanResult(
            actions=actions, energy=plan_energy, best_energy=best, energy_per_iteration=per_iteration, mean=mean, std=std
        )


def shift_warm_start(result: PlanResult, initial: WarmStart) -> WarmStart:
    """Receding horizon: the previous mean shifted one step earlier, the last step (and the std)
    taken from the initial distribution."""
    mean = torch.cat([result.mean[1:], initial.mean[-1:]], dim=0)
    return WarmStart(mean=mean, std=initial.std.clone())
