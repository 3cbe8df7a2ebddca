"""Validation metrics on a synthetic token cache with a known (oracle) world."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from wm_control.data.token_cache import TokenCache
from wm_control.training.evaluate import ValidationConfig, evaluate, validation_starts
from wm_control.world_model import Rollout


def _tokens(positions: torch.Tensor) -> torch.Tensor:
    """A frame's tokens [..., N=2, D=4] as a fixed function of the xyz position [..., 3]."""
    x = positions[..., :3]
    rows = torch.stack(
        [
            torch.cat([x, x.sum(-1, keepdim=True)], -1),
            torch.cat([-x, x.prod(-1, keepdim=True)], -1),
        ],
        -2,
    )
    return rows.float()


class _World:
    """Duck-typed world model: tokens are a function of the state; actions move xyz (``oracle``) or
    nothing."""

    def __init__(self, oracle: bool) -> None:
        self.oracle = oracle
        self.training = False
        self.device = torch.device("cpu")

    def eval(self) -> None:
        self.training = False

    def train(self, mode: bool = True) -> None:
        self.training = mode

    def predict(
        self, tokens: torch.Tensor, actions: torch.Tensor, states: torch.Tensor
    ) -> torch.Tensor:
        return _tokens(states[..., :3] + (actions[..., :3] if self.oracle else 0))

    def rollout(self, tokens: torch.Tensor, states: torch.Tensor, actions: torch.Tensor) -> Rollout:
        moves = actions[..., :3].cumsum(1) if self.oracle else torch.zeros_like(actions[..., :3])
        imagined = states[:, -1:, :3] + moves  # [B, H, 3]
        return Rollout(tokens=_tokens(imagined), states=torch.cat([imagined, actions[..., 3:]], -1))


def _synthetic_cache(folder: Path) -> TokenCache:
    rng = np.random.default_rng(0)
    states = np.zeros((2, 12, 7), np.float32)
    states[:, :, :3] = np.cumsum(rng.normal(0, 0.1, size=(2, 12, 3)), axis=1)
    actions = np.zeros_like(states)
    actions[:, :-1, :3] = np.diff(states[:, :, :3], axis=1)
    arrays = {
        "tokens": _tokens(torch.from_numpy(states.reshape(24, 7))).numpy().astype(np.float16),
        "states": states.reshape(24, 7),
        "actions": actions.reshape(24, 7),
        "offsets": np.array([0, 12, 24], np.int64),
        "episodes": np.array([0, 1], np.int64),
    }
    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", array)
    (folder / "manifest.json").write_text(json.dumps({"key": "synthetic"}))
    return TokenCache(folder)


def test_action_ranking_tells_an_action_aware_model_from_a_blind_one(tmp_path: Path) -> None:
    cache = _synthetic_cache(tmp_path)
    starts = validation_starts(cache, np.array([0, 1]), length=4, limit=100)
    assert len(starts) == 2 * 9
    config = ValidationConfig(steps=3, random_actions=9, batch_size=5)
    low, high = torch.full((7,), -0.3), torch.full((7,), 0.3)
    oracle = evaluate(_World(oracle=True), cache, starts, 4, low, high, config)
    blind = evaluate(_World(oracle=False), cache, starts, 4, low, high, config)
    assert oracle["val/action_rank"] == 1.0 and oracle["val/action_top1"] == 1.0
    assert blind["val/action_rank"] == 0.0 and blind["val/action_top1"] == 0.0
    assert oracle["val/rollout_l1"] < 1e-3 < blind["val/rollout_l1"]
    assert oracle["val/tf_l1"] < 1e-3
    assert set(oracle) >= {"val/rollout_l1_step1", "val/rollout_l1_step3"}
