"""The position-major projection (rotation folded into per-position weights) and the layout-keeping
concatenation compute what the sample-major path computes, and are taken where they are meant to
be."""

import pytest
import torch

from wm_control import WorldModel
from wm_control.models import position_major
from wm_control.models.config import WorldModelConfig
from wm_control.models.presets import encoder_preset, predictor_preset
from wm_control.models.rope import RotaryTables
from wm_control.models.vit import SHORT_ATTENTION, RopeAttention
from wm_control.world_model import layer_norm

TOL = 1e-5
OFF = 10**9  # MIN_SAMPLES that no batch reaches: the sample-major path everywhere


def _applies(x: torch.Tensor, rope: RotaryTables) -> bool:
    """Whether attention (which multiplies up to SHORT_ATTENTION keys) takes the path."""
    return position_major.applies(x, rope, SHORT_ATTENTION)


def _tables(L: int, head_dim: int, seed: int = 0) -> RotaryTables:
    g = torch.Generator().manual_seed(seed)
    positions = torch.rand(L, 3, generator=g) * 6  # times, rows and columns, none of them zero
    return RotaryTables.from_positions(positions, head_dim, torch.float32)


def test_projection_equals_the_sample_major_one(monkeypatch):
    torch.manual_seed(0)
    attn = RopeAttention(96, 4)
    with torch.no_grad():
        attn.qkv.bias.normal_()  # a rotated bias that is not zero
    x = torch.randn(100, 18, 96)
    rope = _tables(18, attn.head_dim)
    with torch.inference_mode():
        assert _applies(x, rope)
        folded = attn.project(x, rope)
        monkeypatch.setattr(position_major, "MIN_SAMPLES", OFF)
        plain = attn.project(x, rope)
    for f, p in zip(folded, plain):
        assert f.shape == p.shape == (100, 4, 18, 24)
        assert position_major.is_position_major(f) and not position_major.is_position_major(p)
        assert (f - p).abs().max() < TOL


def test_the_path_is_taken_only_where_it_pays():
    x = torch.randn(position_major.MIN_SAMPLES, 18, 96)
    rope = _tables(18, 24)
    with torch.inference_mode():
        assert _applies(x, rope)
        assert not _applies(x[:-1], rope)  # few samples
        assert not _applies(x.bfloat16(), rope)  # bfloat16: oneDNN is faster
        per_sample = RotaryTables(rope.cos.expand(len(x), -1, -1, -1, -1), rope.sin)
        assert not _applies(x, per_sample)  # a table per sample (masked encoder)
        wide = torch.randn(len(x), 18, 1024)  # 2 · 18 · 1024² rotated weights: 151 MB
        assert not _applies(wide, _tables(18, 128))
    with torch.enable_grad():
        assert not _applies(x, rope)  # training keeps the sample-major path


def test_long_sequences_keep_the_sample_major_path():
    """Where two steps exceed the matmul attention's length (SDPA then), the layout gains
    nothing: the shipped model's 66 tokens per step planned 2-3 % slower with it."""
    attn = RopeAttention(96, 4)
    half = SHORT_ATTENTION // 2
    for length, expected in ((half, True), (half + 1, False), (66, False)):
        x = torch.randn(position_major.MIN_SAMPLES, length, 96)
        with torch.inference_mode():
            q, _, _ = attn.project(x, _tables(length, attn.head_dim))
        assert position_major.is_position_major(q) == expected


def _steps_reference(parts, steps):
    """Step-by-step concatenation written out: for each step, each part's tokens of that step."""
    batch = max(p.shape[0] for p in parts)
    pieces = []
    for t in range(steps):
        for p in parts:
            per_step = p.shape[2] // steps
            pieces.append(p[:, :, t * per_step : (t + 1) * per_step].expand(batch, -1, -1, -1))
    return torch.cat(pieces, dim=2)


@pytest.mark.parametrize("steps", [1, 2])
@pytest.mark.parametrize("layout", ["sample-major", "position-major"])
def test_concat_steps_interleaves_steps_in_either_layout(steps, layout):
    torch.manual_seed(0)
    own = torch.randn(7, 4, steps * 2, 24)  # condition tokens of each sample
    if layout == "position-major":
        own = own.permute(2, 0, 1, 3).contiguous().permute(1, 2, 0, 3)
    shared = torch.randn(1, 4, steps * 16, 24)  # a frame all samples share
    joined = position_major.concat_steps([own, shared], steps=steps)
    assert joined.shape == (7, 4, steps * 18, 24)
    assert torch.equal(joined, _steps_reference([own, shared], steps))
    assert position_major.is_position_major(joined) == (layout == "position-major")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    encoder = encoder_preset("vit_tiny")
    config = WorldModelConfig(encoder=encoder, predictor=predictor_preset("ac_mini", encoder))
    model = WorldModel(config).eval()
    with torch.no_grad():
        for name, p in model.predictor.named_parameters():
            if "bias" in name or "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


@pytest.mark.parametrize("C,H", [(1, 1), (1, 3), (2, 2)])
def test_rollouts_agree_with_the_sample_major_path(model, monkeypatch, C, H):
    """Planning rollouts of many samples (one shared observation, through the key/value cache)
    take the position-major path and imagine what the sample-major path imagines."""
    g = torch.Generator().manual_seed(1)
    B, N, D = 100, model.tokens_per_frame, model.token_dim
    tokens = layer_norm(torch.randn(1, C, N, D, generator=g))
    states = torch.randn(1, C, 7, generator=g) * 0.2
    actions = torch.randn(B, H, 7, generator=g) * 0.05
    context = {"context_actions": torch.randn(B, C - 1, 7, generator=g) * 0.05} if C > 1 else {}
    calls = []
    real_project = position_major.project
    monkeypatch.setattr(
        position_major, "project", lambda *a, **k: calls.append(1) or real_project(*a, **k)
    )
    with torch.inference_mode():
        folded = model.rollout(tokens, states, actions, **context)
        assert calls, "the planning rollout did not take the position-major projection"
        monkeypatch.setattr(position_major, "MIN_SAMPLES", OFF)
        plain = model.rollout(tokens, states, actions, **context)
    assert (folded.tokens - plain.tokens).abs().max() < TOL
    assert torch.equal(folded.states, plain.states)
