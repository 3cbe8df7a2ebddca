"""Optimizer parameter groups and the warmup-constant-decay schedule."""

from __future__ import annotations

import pytest
from torch import nn

from wm_control.training.optim import OptimConfig, build_optimizer, learning_rate


def test_schedule_warms_up_holds_and_decays() -> None:
    config = OptimConfig(lr=1.0, start_lr=0.1, final_lr=0.0, warmup_steps=10, decay_steps=20)
    lrs = [learning_rate(config, step, 100) for step in range(100)]
    assert lrs[0] == pytest.approx(0.1)
    assert lrs[5] == pytest.approx(0.55)
    assert lrs[10] == lrs[50] == lrs[80] == pytest.approx(1.0)
    assert lrs[90] == pytest.approx(0.5)
    assert lrs[99] == pytest.approx(0.05)
    assert all(a >= b for a, b in zip(lrs[80:], lrs[81:], strict=False))


def test_weight_decay_skips_biases_and_norms() -> None:
    model = nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2))
    optimizer = build_optimizer(model, OptimConfig(weight_decay=0.04))
    decay, no_decay = optimizer.param_groups
    assert decay["weight_decay"] == 0.04 and no_decay["weight_decay"] == 0.0
    assert {p.ndim for p in decay["params"]} == {2} and len(decay["params"]) == 2
    assert {p.ndim for p in no_decay["params"]} == {1} and len(no_decay["params"]) == 4
    assert optimizer.defaults["betas"] == (0.9, 0.999)


def test_config_errors_name_the_field() -> None:
    with pytest.raises(ValueError, match="OptimConfig.grad_clip"):
        OptimConfig(grad_clip=-1.0)
    with pytest.raises(ValueError, match="OptimConfig.betas"):
        OptimConfig(betas=(0.9, 1.5))
