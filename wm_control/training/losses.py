"""The V-JEPA 2-AC training loss, through the world model's own ``predict`` and ``rollout``.

- Teacher forcing: the predictor sees the true tokens of steps ``0 … T-2`` (with their actions and
  states) and predicts steps ``1 … T-1``; L1 as an element mean.
- Rollout: from the first frame only, the model rolls out ``R`` steps feeding back its own
  (layer-normed) predictions, with the recorded states as teacher states; L1 against steps
  ``1 … R``. With ``R = 2`` this is the release's ``auto_steps: 2``.

Both act on layer-normed tokens (the cache stores ``encode`` outputs, which are layer-normed, and
``predict``/``rollout`` return layer-normed tokens); the total is their sum (weights 1:1).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from wm_control.training.batches import Batch

if TYPE_CHECKING:
    from wm_control.world_model import WorldModel


def teacher_forcing_l1(wm: WorldModel, batch: Batch) -> torch.Tensor:
    """Mean |predict(tokens[:, :-1]) − tokens[:, 1:]| over ``[B, T-1, N, D]``."""
    predicted = wm.predict(
        batch.tokens[:, :-1], batch.actions, batch.states[:, :-1]
    )  # [B, T-1, N, D]
    return (predicted.float() - batch.tokens[:, 1:]).abs().mean()


def rollout_l1(wm: WorldModel, batch: Batch, steps: int) -> torch.Tensor:
    """Mean |rollout of ``steps`` steps from frame 0 − tokens[:, 1:steps+1]| (teacher states)."""
    out = wm.rollout(
        batch.tokens[:, :1],  # [B, 1, N, D]
        batch.states[:, :1],  # [B, 1, P]
        batch.actions[:, :steps],  # [B, R, A]
        teacher_states=batch.states[:, 1:steps],  # [B, R-1, P]
    )
    return (out.tokens.float() - batch.tokens[:, 1 : steps + 1]).abs().mean()


class PredictorLoss(nn.Module):
    """Holds the predictor as its only submodule so that DDP can wrap the loss computation.

    ``forward(tokens, states, actions)`` (the fields of a :class:`Batch`, passed as plain tensors
    for DDP) returns ``[total, teacher_forcing, rollout]`` (a ``[3]`` tensor, total first).
    """

    def __init__(self, wm: WorldModel, rollout_steps: int) -> None:
        super().__init__()
        if wm.predictor is None:
            raise ValueError(
                "the world model has no predictor to train; choose a fresh one with "
                "predictor=<preset>"
            )
        self.predictor = wm.predictor
        self._wm = (wm,)  # a tuple keeps the world model out of this module's parameters
        self.rollout_steps = rollout_steps

    def forward(
        self, tokens: torch.Tensor, states: torch.Tensor, actions: torch.Tensor
    ) -> torch.Tensor:
        wm = self._wm[0]
        batch = Batch(tokens=tokens, states=states, actions=actions)
        tf = teacher_forcing_l1(wm, batch)
        roll = rollout_l1(wm, batch, self.rollout_steps)
        return torch.stack([tf + roll, tf, roll])
