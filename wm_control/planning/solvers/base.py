"""What every solver shares: the functions it is given, what it returns, the seeded random stream,
the first sampling distribution, the box and held dimensions, and the budget checks.

A solver is a pure optimiser over action sequences ``[H, A]``: it gets a rollout function (action
samples → imagined tokens), an energy function (imagined tokens → energies), an
:class:`~wm_control.planning.ActionSpec` (bounds, searched and held dimensions) and a warm start,
and returns a :class:`PlanResult`. It knows nothing of models, environments, ROS or files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..action_spec import ActionSpec

RolloutFn = Callable[[torch.Tensor], Any]
"""actions ``[S, H, A]`` → the imagined future, whatever the energy reads (the MPC controller's:
a ``Rollout``, tokens ``[S, H, N, D]`` and states ``[S, H, P]``); solvers pass it on unread."""
EnergyFn = Callable[[Any], torch.Tensor]
"""the imagined future of ``S`` samples → energies ``[S]``."""

PREFIX = "planner."
"""How configuration errors name a field: its key in the ``planner`` config group."""


def check_int(config: Any, *names: str) -> None:
    """Each named field of ``config`` is an int >= 1 (errors name ``planner.<field>``)."""
    for name in names:
        value = getattr(config, name)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{PREFIX}{name}: expected an int >= 1, found {value!r}")


def check_momentum(config: Any) -> None:
    """``momentum_mean`` and ``momentum_std`` (weights kept from the last iteration) in [0, 1)."""
    for name in ("momentum_mean", "momentum_std"):
        value = getattr(config, name)
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{PREFIX}{name}: expected a value in [0, 1), found {value}")


def check_elites(config: Any) -> None:
    if not 2 <= config.elites <= config.samples:
        raise ValueError(
            f"{PREFIX}elites: expected 2 <= elites <= samples ({config.samples}), "
            f"found {config.elites}"
        )


@dataclass(frozen=True)
class Budget:
    """What every solver's config holds: ``samples`` × ``iterations`` is the budget of one plan
    (for ``gd``: starts × Adam steps) over ``horizon`` steps, drawn from the stream ``seed``."""

    samples: int = 800
    iterations: int = 10
    horizon: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        check_int(self, "samples", "iterations", "horizon")


@dataclass(frozen=True)
class MomentumBudget(Budget):
    """A budget whose sampling distribution is refit each iteration, keeping ``momentum_mean`` and
    ``momentum_std`` of the previous one (cem, icem, mppi)."""

    momentum_mean: float = 0.15
    momentum_std: float = 0.15

    def __post_init__(self) -> None:
        super().__post_init__()
        check_momentum(self)


@dataclass(frozen=True)
class EliteBudget(MomentumBudget):
    """A refit toward the ``elites`` lowest-energy samples of each iteration (cem, icem)."""

    elites: int = 10

    def __post_init__(self) -> None:
        super().__post_init__()
        check_int(self, "elites")
        check_elites(self)


@dataclass(frozen=True)
class WarmStart:
    """Where a plan starts: sampling mean and std ``[H, A]``, and (iCEM) the previous plan's elites
    ``[K, H, A]`` shifted one step, or None."""

    mean: torch.Tensor
    std: torch.Tensor
    elites: torch.Tensor | None = None


@dataclass(frozen=True)
class PlanResult:
    """``actions [H, A]``: the plan (held dims held, small entries rounded); ``energy``: energy of
    that plan; ``best_energy``: lowest energy of any candidate; ``energy_per_iteration``: lowest
    candidate energy of each iteration; ``mean``/``std`` ``[H, A]``: the final sampling
    distribution; ``elites [K, H, A]``: the last iteration's best candidates (iCEM keeps them)."""

    actions: torch.Tensor
    energy: float
    best_energy: float
    energy_per_iteration: list[float]
    mean: torch.Tensor
    std: torch.Tensor
    elites: torch.Tensor | None = None


@dataclass
class SearchStart:
    """What a solver starts a plan from (:meth:`Solver.begin`): the device, the spec's box tensors
    (``ActionSpec.tensors``), mean and std ``[H, A]``, the warm start they came from, and the
    solver's random stream."""

    device: torch.device
    box: dict[str, torch.Tensor]
    mean: torch.Tensor
    std: torch.Tensor
    warm: WarmStart
    generator: torch.Generator

    def noise(self, count: int) -> torch.Tensor:
        """Standard Gaussian noise ``[count, H, A]`` from the solver's stream."""
        return torch.randn((count, *self.mean.shape), generator=self.generator, device=self.device)

    def gaussian(self, mean: torch.Tensor, std: torch.Tensor, count: int) -> torch.Tensor:
        """``count`` samples ``[count, H, A]`` of N(mean, std), moved onto the box."""
        return project(mean + std * self.noise(count), self.box)


class Solver:
    """Base of the solvers: the seeded stream per device, the first distribution, the box.

    Subclasses set ``name`` and ``config_type`` (a :class:`Budget` dataclass) and implement
    :meth:`search`; :meth:`plan` prepares what every search starts from. ``differentiable`` says
    that :meth:`plan` needs gradients through the rollout (the caller must not run it under
    ``torch.inference_mode``).
    """

    name: ClassVar[str]
    config_type: ClassVar[type]
    differentiable: ClassVar[bool] = False

    def __init__(self, config: Any) -> None:
        if not isinstance(config, self.config_type):
            raise TypeError(
                f"{type(self).__name__}: expected a {self.config_type.__name__}, "
                f"found {type(config).__name__}"
            )
        self.config = config
        self._generators: dict[str, torch.Generator] = {}

    @property
    def horizon(self) -> int:
        return self.config.horizon

    def reset(self) -> None:
        """Restart the random stream (the next plan equals the first plan after construction)."""
        self._generators.clear()

    def generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.config.seed)
        return self._generators[key]

    def initial(self, spec: ActionSpec, device: torch.device | str = "cpu") -> WarmStart:
        """The first distribution: held values as mean (0 for searched dims), ``init_std`` std."""
        t = spec.tensors(device)
        H = self.config.horizon
        mean = torch.where(t["searched"], torch.zeros_like(t["fixed"]), t["fixed"])  # [A]
        return WarmStart(mean=mean.expand(H, -1).clone(), std=t["init_std"].expand(H, -1).clone())

    def begin(
        self, spec: ActionSpec, warm_start: WarmStart | None, device: torch.device | str
    ) -> SearchStart:
        """What a plan starts from: the spec's box on ``device``, mean and std ``[H, A]`` (copies
        of the warm start, or the initial distribution), checked against the horizon and spec, and
        this solver's random stream on the device."""
        device = torch.device(device)
        start = warm_start or self.initial(spec, device)
        mean, std = start.mean.to(device).clone(), start.std.to(device).clone()  # [H, A]
        if mean.shape != (self.config.horizon, spec.dim) or std.shape != mean.shape:
            raise ValueError(
                f"{self.name} warm start: expected mean and std "
                f"[{self.config.horizon}, {spec.dim}], "
                f"found {tuple(mean.shape)} and {tuple(std.shape)}"
            )
        return SearchStart(device, spec.tensors(device), mean, std, start, self.generator(device))

    def plan(
        self,
        rollout_fn: RolloutFn,
        energy_fn: EnergyFn,
        spec: ActionSpec,
        warm_start: WarmStart | None = None,
        device: torch.device | str = "cpu",
    ) -> PlanResult:
        """The plan ``[H, A]`` of lowest energy this solver finds within its budget, starting from
        ``warm_start`` (or the spec's initial distribution), computed on ``device``."""
        return self.search(self.begin(spec, warm_start, device), rollout_fn, energy_fn)

    def search(self, start: SearchStart, rollout_fn: RolloutFn, energy_fn: EnergyFn) -> PlanResult:
        """The solver's own algorithm, from the prepared ``start``."""
        raise NotImplementedError


def blend(old: torch.Tensor, new: torch.Tensor, momentum: float) -> torch.Tensor:
    """``momentum · old + (1 − momentum) · new``: the smoothed refit of a sampling distribution."""
    return momentum * old + (1.0 - momentum) * new


def refit(
    mean: torch.Tensor, std: torch.Tensor, elites: torch.Tensor, config: MomentumBudget
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and std ``[H, A]`` moved toward those of ``elites [K, H, A]``, with momentum."""
    return (
        blend(mean, elites.mean(dim=0), config.momentum_mean),
        blend(std, elites.std(dim=0), config.momentum_std),
    )


def project(samples: torch.Tensor, t: dict[str, torch.Tensor]) -> torch.Tensor:
    """Samples ``[..., H, A]`` clipped to the spec's box per coordinate, held dims held."""
    samples = torch.maximum(torch.minimum(samples, t["high"]), t["low"])
    return torch.where(t["searched"], samples, t["fixed"])


def evaluate(
    rollout_fn: RolloutFn, energy_fn: EnergyFn, samples: torch.Tensor, solver: str
) -> torch.Tensor:
    """Energies ``[S]`` of ``samples [S, H, A]``, all through the rollout as one batch."""
    energies = energy_fn(rollout_fn(samples))  # [S]
    if energies.shape != samples.shape[:1]:
        raise ValueError(
            f"{solver}: energy_fn must return [{samples.shape[0]}] energies, "
            f"found {tuple(energies.shape)}"
        )
    return energies


def finish(
    solver: str,
    rollout_fn: RolloutFn,
    energy_fn: EnergyFn,
    t: dict[str, torch.Tensor],
    plan: torch.Tensor,
    per_iteration: list[float],
    mean: torch.Tensor,
    std: torch.Tensor,
    elites: torch.Tensor | None = None,
) -> PlanResult:
    """The result for ``plan [H, A]``: held dims held, entries below ``round_below`` → 0, and its
    own energy (one more rollout of one sample)."""
    actions = torch.where(t["searched"], plan, t["fixed"])
    actions = torch.where(
        actions.abs() < t["round_below"], torch.zeros_like(actions), actions
    )  # [H, A]
    plan_energy = float(evaluate(rollout_fn, energy_fn, actions.unsqueeze(0), solver)[0])
    return PlanResult(
        actions=actions,
        energy=plan_energy,
        best_energy=min(per_iteration),
        energy_per_iteration=per_iteration,
        mean=mean,
        std=std,
        elites=elites,
    )


def shift_warm_start(result: PlanResult, initial: WarmStart) -> WarmStart:
    """Receding horizon: the previous mean shifted one step earlier, the last step (and the std)
    taken from the initial distribution; the previous elites (if any) shifted likewise."""
    mean = torch.cat([result.mean[1:], initial.mean[-1:]], dim=0)  # [H, A]
    elites = None
    if result.elites is not None:
        last = initial.mean[-1:].expand(result.elites.shape[0], 1, -1)  # [K, 1, A]
        elites = torch.cat([result.elites[:, 1:], last], dim=1)  # [K, H, A]
    return WarmStart(mean=mean, std=initial.std.clone(), elites=elites)
