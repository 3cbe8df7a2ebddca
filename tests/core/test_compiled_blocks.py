"""Compiled blocks (``model.compile=true``) compute what the eager blocks compute: rollouts from
one shared observation and from context frames (through the key/value cache), teacher-forced
prediction under the block-causal mask, and gradients (the gd solver), on CPU."""

import pytest
import torch

from wm_control.model_source import ModelSource
from wm_control.world_model import layer_norm

from mini_models import mini_world_model

TOL = 2e-5


@pytest.fixture(scope="module")
def model():
    model = mini_world_model(depth=3)
    with torch.no_grad():  # non-trivial affines and biases, so that a dropped one shows
        for name, p in model.predictor.named_parameters():
            if "norm" in name or "bias" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


def _inputs(model, B, C, H, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = layer_norm(torch.randn(1, C, model.tokens_per_frame, model.token_dim, generator=g))
    states = torch.randn(1, C, 7, generator=g) * 0.2
    actions = torch.randn(B, H, 7, generator=g) * 0.05
    context_actions = torch.randn(B, C - 1, 7, generator=g) * 0.05
    return tokens, states, actions, context_actions


def _both(model, fn):
    """``fn()`` with eager blocks, then with compiled ones."""
    model.use_compiled_blocks(False)
    eager = fn()
    model.use_compiled_blocks(True)
    try:
        return eager, fn()
    finally:
        model.use_compiled_blocks(False)


@pytest.mark.parametrize("C", [1, 2])
def test_compiled_rollout_matches_eager(model, C):
    tokens, states, actions, context = _inputs(model, B=16, C=C, H=3)

    def rollout():
        with torch.inference_mode():
            r = model.rollout(tokens, states, actions, context_actions=context if C > 1 else None)
        return r.tokens

    eager, compiled = _both(model, rollout)
    assert compiled.shape == eager.shape == (16, 3, model.tokens_per_frame, model.token_dim)
    assert (eager - compiled).abs().max().item() < TOL


def test_compiled_teacher_forced_prediction_matches_eager(model):
    g = torch.Generator().manual_seed(1)
    T, N, D = 3, model.tokens_per_frame, model.token_dim
    tokens = layer_norm(torch.randn(4, T, N, D, generator=g))
    actions, states = torch.randn(4, T, 7, generator=g) * 0.05, torch.randn(4, T, 7, generator=g)

    def predict():
        with torch.no_grad():
            return model.predict(tokens, actions, states)

    eager, compiled = _both(model, predict)
    assert (eager - compiled).abs().max().item() < TOL


def test_compiled_gradients_match_eager(model):
    tokens, states, actions, _ = _inputs(model, B=4, C=1, H=2, seed=2)
    goal = layer_norm(torch.randn(model.tokens_per_frame, model.token_dim))

    def gradient():
        a = actions.clone().requires_grad_(True)
        loss = (model.rollout(tokens, states, a).tokens[:, -1] - goal).abs().mean()
        loss.backward()
        return a.grad

    eager, compiled = _both(model, gradient)
    assert eager.abs().max() > 0
    assert (eager - compiled).abs().max().item() < 1e-6 + 1e-4 * eager.abs().max().item()


def test_the_compile_setting_reaches_the_blocks_and_a_new_predictor(model, tmp_path):
    path = model.save_pretrained(tmp_path / "m")
    assert not ModelSource(path=str(path)).load(tmp_path).compiled_blocks
    loaded = ModelSource(path=str(path), compile=True).load(tmp_path)
    assert loaded.compiled_blocks
    assert loaded.with_new_predictor(loaded.config.predictor).compiled_blocks
    with pytest.raises(ValueError, match="ModelSource.compile: expected true or false"):
        ModelSource(path=str(path), compile="yes")


def test_compiling_on_a_cpu_warns_that_it_is_slower_there(model, tmp_path, caplog):
    path = model.save_pretrained(tmp_path / "m")
    with caplog.at_level("WARNING", logger="wm_control.model_source"):
        ModelSource(path=str(path), device="cpu").load(tmp_path)
    assert not caplog.records
    with caplog.at_level("WARNING", logger="wm_control.model_source"):
        ModelSource(path=str(path), device="cpu", compile=True).load(tmp_path)
    assert "measured slower than the eager path" in caplog.text
