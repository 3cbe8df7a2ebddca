"""Validation metrics that matter for planning, computed on held-out episodes.

- ``val/tf_l1``: teacher-forcing L1 (as in training).
- ``val/rollout_l1``: L1 of a ``k``-step rollout from one frame (integrated states, as the planner
  runs it), averaged over the steps; ``val/rollout_l1_step{h}`` per step.
- ``val/action_rank``: how often the recorded ``k``-step action sequence gets a lower energy
  (:func:`wm_control.energy`, goal = the frame actually reached after ``k`` steps) than a random
  action sequence from the same state: the fraction of (sample, random sequence) pairs it wins.
  ``val/action_top1``: the fraction of samples where it beats every random sequence. Random
  actions are uniform per dimension within the training actions' range (a fixed seed, so the
  metric is comparable between evaluations).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from wm_control.data.token_cache import TokenCache
from wm_control.energies import energy
from wm_control.training.batches import read_batch
from wm_control.training.losses import teacher_forcing_l1

if TYPE_CHECKING:
    from wm_control.world_model import WorldModel


@dataclass(frozen=True)
class ValidationConfig:
    """``windows``: at most this many validation windows (evenly spaced); ``steps``: rollout ``k``;
    ``random_actions``: random sequences per sample for the ranking; ``batch_size``: windows per
    pass."""

    windows: int = 256
    steps: int = 2
    random_actions: int = 15
    batch_size: int = 16
    seed: int = 0

    def __post_init__(self) -> None:
        for name in ("windows", "steps", "random_actions", "batch_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(
                    f"ValidationConfig.{name}: expected a positive int, found {value!r}"
                )


def validation_starts(
    cache: TokenCache, episodes: np.ndarray, length: int, limit: int
) -> np.ndarray:
    """At most ``limit`` evenly spaced window starts of ``length`` frames in the given episodes."""
    starts = cache.window_starts(length, episodes)
    if len(starts) > limit:
        starts = starts[np.linspace(0, len(starts) - 1, limit).round().astype(np.int64)]
    return starts


@torch.no_grad()
def evaluate(
    wm: WorldModel,
    cache: TokenCache,
    starts: np.ndarray,
    clip_frames: int,
    action_low: torch.Tensor,
    action_high: torch.Tensor,
    config: ValidationConfig,
) -> dict[str, float]:
    """Metrics over the windows at ``starts`` (``clip_frames`` ≥ ``config.steps + 1`` frames each).

    ``action_low``/``action_high``: ``[A]`` bounds of the random actions.
    """
    if len(starts) == 0:
        return {}
    was_training = wm.training
    wm.eval()
    device = wm.device
    k, R = config.steps, config.random_actions
    generator = torch.Generator().manual_seed(config.seed)
    low, high = action_low.float().cpu(), action_high.float().cpu()
    totals = {"tf": 0.0, "rank": 0.0, "top1": 0.0}
    per_step = torch.zeros(k, dtype=torch.float64)
    count = 0
    for i in range(0, len(starts), config.batch_size):
        batch = read_batch(cache, starts[i : i + config.batch_size], clip_frames, device)
        B = batch.tokens.shape[0]
        totals["tf"] += float(teacher_forcing_l1(wm, batch)) * B
        random = low + (high - low) * torch.rand(
            B, R, k, low.numel(), generator=generator
        )  # [B, R, k, A]
        sequences = torch.cat([batch.actions[:, None, :k].cpu(), random], dim=1).to(
            device
        )  # [B, 1+R, k, A]
        S = 1 + R
        out = wm.rollout(
            batch.tokens[:, :1].repeat_interleave(S, dim=0),  # [B·S, 1, N, D]
            batch.states[:, :1].repeat_interleave(S, dim=0),  # [B·S, 1, P]
            sequences.flatten(0, 1),  # [B·S, k, A]
        )
        recorded = out.tokens.unflatten(0, (B, S))[:, 0]  # [B, k, N, D]
        per_step += (
            (recorded.float() - batch.tokens[:, 1 : k + 1])
            .abs()
            .mean(dim=(2, 3))
            .sum(0)
            .double()
            .cpu()
        )
        goal = batch.tokens[:, k].repeat_interleave(S, dim=0)  # [B·S, N, D]
        energies = energy(out.tokens.float(), goal).view(B, S)  # [B, S]
        wins = energies[:, :1] < energies[:, 1:]  # [B, R]
        totals["rank"] += float(wins.float().mean(1).sum())
        totals["top1"] += float(wins.all(1).float().sum())
        count += B
    wm.train(was_training)
    metrics = {
        "val/tf_l1": totals["tf"] / count,
        "val/rollout_l1": float(per_step.mean()) / count,
        "val/action_rank": totals["rank"] / count,
        "val/action_top1": totals["top1"] / count,
    }
    metrics.update({f"val/rollout_l1_step{h + 1}": float(per_step[h]) / count for h in range(k)})
    return metrics
