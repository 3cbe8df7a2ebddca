"""The one rollout: equal to step-by-step teacher forcing on its own predictions; shapes;
gradients."""

import pytest
import torch

from wm_control.pose import integrate_state
from wm_control.world_model import layer_norm

from mini_models import mini_world_model


@pytest.fixture(scope="module")
def model():
    return mini_world_model()


def _inputs(model, B=3, C=1, H=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    N, D = model.tokens_per_frame, model.token_dim
    tokens = layer_norm(torch.randn(B, C, N, D, generator=g))
    states = torch.randn(B, C, 7, generator=g) * 0.2
    actions = torch.randn(B, H, 7, generator=g) * 0.05
    return tokens, states, actions


def _step_by_step(model, tokens, states, actions, context_actions=None):
    """Meta's way: re-run the whole sequence with predict and keep the last prediction each step."""
    seq_tokens, seq_states = tokens, states
    seq_actions = (
        actions[:, :1]
        if context_actions is None
        else torch.cat([context_actions, actions[:, :1]], 1)
    )
    out = []
    state = states[:, -1]
    for h in range(actions.shape[1]):
        nxt = model.predict(seq_tokens, seq_actions, seq_states)[:, -1:]
        state = integrate_state(state, actions[:, h])
        out.append(nxt)
        if h + 1 < actions.shape[1]:
            seq_tokens = torch.cat([seq_tokens, nxt], 1)
            seq_states = torch.cat([seq_states, state[:, None]], 1)
            seq_actions = torch.cat([seq_actions, actions[:, h + 1 : h + 2]], 1)
    return torch.cat(out, 1)


def test_rollout_equals_step_by_step_predict(model):
    tokens, states, actions = _inputs(model, H=4)
    with torch.no_grad():
        rolled = model.rollout(tokens, states, actions)
        expected = _step_by_step(model, tokens, states, actions)
    assert rolled.tokens.shape == (3, 4, model.tokens_per_frame, model.token_dim)
    assert rolled.states.shape == (3, 4, 7)
    assert (rolled.tokens - expected).abs().max() < 1e-5


def test_rollout_with_past_context(model):
    tokens, states, actions = _inputs(model, C=2, H=2, seed=1)
    context_actions = torch.randn(3, 1, 7) * 0.05
    with torch.no_grad():
        rolled = model.rollout(tokens, states, actions, context_actions=context_actions)
        expected = _step_by_step(model, tokens, states, actions, context_actions)
    assert (rolled.tokens - expected).abs().max() < 1e-5
    with pytest.raises(ValueError, match="context_actions"):
        model.rollout(tokens, states, actions)


def test_rollout_integrates_state(model):
    tokens, states, actions = _inputs(model, H=2)
    rolled = model.rollout(tokens, states, actions)
    first = integrate_state(states[:, 0], actions[:, 0])
    assert torch.allclose(rolled.states[:, 0], first)
    assert torch.allclose(rolled.states[:, 1], integrate_state(first, actions[:, 1]))


def test_teacher_states_are_fed(model):
    tokens, states, actions = _inputs(model, H=2)
    teacher = torch.randn(3, 1, 7)
    with torch.no_grad():
        free = model.rollout(tokens, states, actions)
        forced = model.rollout(tokens, states, actions, teacher_states=teacher)
        expected = model.predict(
            torch.cat([tokens, forced.tokens[:, :1]], 1), actions, torch.cat([states, teacher], 1)
        )[:, -1]
    assert torch.equal(free.tokens[:, 0], forced.tokens[:, 0])
    assert (forced.tokens[:, 1] - expected).abs().max() < 1e-5
    assert not torch.allclose(free.tokens[:, 1], forced.tokens[:, 1])


def test_shared_observation_broadcasts_over_samples(model):
    tokens, states, actions = _inputs(model, B=4)
    with torch.no_grad():
        shared = model.rollout(tokens[:1], states[:1], actions)
        expanded = model.rollout(
            tokens[:1].expand(4, -1, -1, -1), states[:1].expand(4, -1, -1), actions
        )
    # the shared frame's first block is computed in another order (float rounding only)
    assert (shared.tokens - expanded.tokens).abs().max() < 1e-5


def test_rollout_is_differentiable_for_training(model):
    tokens, states, actions = _inputs(model, H=2)
    model.predictor.zero_grad()
    loss = model.rollout(tokens, states, actions).tokens.abs().mean()
    loss.backward()
    assert model.predictor.predictor_embed.weight.grad is not None
    assert model.predictor.predictor_embed.weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.encoder.parameters())


def test_single_step_needs_no_mask(model):
    assert model.predictor._mask(0, 1, 18, torch.device("cpu")) is None
    mask = model.predictor._mask(0, 2, 3, torch.device("cpu"))
    assert mask.tolist() == [[True] * 3 + [False] * 3] * 3 + [[True] * 6] * 3


def test_bad_shapes_are_reported(model):
    tokens, states, actions = _inputs(model)
    with pytest.raises(ValueError, match=r"expected tokens \[B, T, 16, 64\]"):
        model.predict(tokens[..., :10], actions[:, :1], states)
    with pytest.raises(ValueError, match="expected actions"):
        model.rollout(tokens, states, actions[0])
