"""Large CPU inference rollouts are imagined in chunks of samples, so that no activation outgrows
glibc's largest mmap threshold; the chunks give the unchunked result (up to float rounding: oneDNN
may pick other kernels for fewer rows)."""

import torch

from wm_control import world_model
from wm_control.world_model import layer_norm

from mini_models import mini_world_model


def _rollout(model, monkeypatch, block_bytes, **inputs):
    monkeypatch.setattr(world_model, "CPU_BLOCK_BYTES", block_bytes)
    calls = []
    predictor_forward = model.predictor.forward

    def counting(*args, **kwargs):
        calls.append(args[1].shape[0])  # the actions' batch
        return predictor_forward(*args, **kwargs)

    monkeypatch.setattr(model.predictor, "forward", counting)
    with torch.inference_mode():
        out = model.rollout(**inputs)
    monkeypatch.setattr(model.predictor, "forward", predictor_forward)
    return out, calls


def test_chunked_rollout_equals_one_pass_from_a_shared_observation(monkeypatch):
    model = mini_world_model()
    g = torch.Generator().manual_seed(1)
    N, D = model.tokens_per_frame, model.token_dim
    inputs = dict(
        tokens=layer_norm(torch.randn(1, 1, N, D, generator=g)),
        states=torch.randn(1, 1, 7, generator=g),
        actions=torch.randn(50, 3, 7, generator=g) * 0.05,
    )
    whole, whole_calls = _rollout(model, monkeypatch, 2**40, **inputs)
    per_sample = (N + 2) * model.config.predictor.mlp_hidden * 4
    chunked, chunk_calls = _rollout(model, monkeypatch, 20 * per_sample, **inputs)
    assert whole_calls == [50, 50, 50]  # one pass per step
    assert chunk_calls == [17] * 3 + [17] * 3 + [16] * 3  # three equal chunks that fit 20
    assert (whole.tokens - chunked.tokens).abs().max() < 1e-5
    assert torch.equal(whole.states, chunked.states)


def test_chunked_rollout_equals_one_pass_with_context_and_teacher_states(monkeypatch):
    model = mini_world_model()
    g = torch.Generator().manual_seed(2)
    N, D = model.tokens_per_frame, model.token_dim
    B = 12
    inputs = dict(
        tokens=layer_norm(torch.randn(B, 2, N, D, generator=g)),
        states=torch.randn(B, 2, 7, generator=g),
        actions=torch.randn(B, 2, 7, generator=g) * 0.05,
        context_actions=torch.randn(B, 1, 7, generator=g) * 0.05,
        teacher_states=torch.randn(B, 1, 7, generator=g),
    )
    whole, _ = _rollout(model, monkeypatch, 2**40, **inputs)
    chunked, calls = _rollout(model, monkeypatch, 1, **inputs)  # one sample per chunk
    assert len(calls) == 2 * B
    assert (whole.tokens - chunked.tokens).abs().max() < 1e-5
    assert torch.equal(whole.states, chunked.states)


def test_no_chunks_under_autograd_or_for_what_fits(monkeypatch):
    model = mini_world_model()
    monkeypatch.setattr(world_model, "CPU_BLOCK_BYTES", 1)
    with torch.enable_grad():
        assert model._cpu_chunk(800, 1) == 800
    monkeypatch.setattr(world_model, "CPU_BLOCK_BYTES", 32 * 1024 * 1024)
    with torch.no_grad():
        per_sample = (model.tokens_per_frame + 2) * model.config.predictor.mlp_hidden * 4
        fit = 32 * 1024 * 1024 // per_sample
        assert model._cpu_chunk(fit, 1) == fit
        assert model._cpu_chunk(fit + 1, 1) == (fit + 2) // 2
