"""The predictor's shortcuts (shared first-block projection and frame attention, patch-only last
block, matmul attention for short CPU sequences) compute what the plain computation computes, with
and without gradients, over multi-step rollouts that go through the key/value cache."""

import copy
import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from wm_control import WorldModel
from wm_control.models.config import WorldModelConfig
from wm_control.models.presets import encoder_preset, predictor_preset
from wm_control.models.rope import RotaryTables, segment_size
from wm_control.models.vit import SHORT_ATTENTION, Block, attention
from wm_control.world_model import layer_norm

TOL = 1e-5


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    encoder = encoder_preset("vit_tiny")
    model = WorldModel(
        WorldModelConfig(encoder=encoder, predictor=predictor_preset("ac_mini", encoder))
    ).eval()
    with torch.no_grad():  # non-trivial LayerNorm affines, so that a skipped or misplaced one shows
        for name, p in model.predictor.named_parameters():
            if "norm" in name:
                p.add_(0.1 * torch.randn_like(p))
    return model


def _inputs(model, B=32, C=1, H=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    N, D = model.tokens_per_frame, model.token_dim
    tokens = layer_norm(
        torch.randn(1, C, N, D, generator=g)
    )  # one observation shared by all samples
    states = torch.randn(1, C, 7, generator=g) * 0.2
    actions = torch.randn(B, H, 7, generator=g) * 0.05
    context_actions = torch.randn(B, C - 1, 7, generator=g) * 0.05
    return tokens, states, actions, context_actions


def _plain_predict(predictor, tokens, actions, states, grid):
    """The predictor's plain algorithm (no shortcuts), layer-normed like ``WorldModel.predict``."""
    return layer_norm(predictor.plain_forward(tokens, actions, states, grid=grid))


@pytest.mark.parametrize("grad", [False, True])
@pytest.mark.parametrize("C", [1, 2])
def test_predict_matches_the_plain_computation(model, grad, C):
    tokens, states, actions, _ = _inputs(model, B=8, C=C, H=C)
    tokens, states = (
        tokens.expand(8, -1, -1, -1),
        states.expand(8, -1, -1) + torch.randn(8, C, 7) * 0.1,
    )
    with torch.set_grad_enabled(grad):
        fast = model.predict(tokens, actions, states)
        plain = _plain_predict(model.predictor, tokens, actions, states, model.grid)
    assert fast.shape == (8, C, model.tokens_per_frame, model.token_dim)
    assert (fast - plain).abs().max() < TOL


@pytest.mark.parametrize("C,H", [(1, 1), (1, 3), (2, 2)])
def test_shared_context_matches_context_repeated_per_sample(model, C, H):
    tokens, states, actions, context_actions = _inputs(model, C=C, H=H)
    B = actions.shape[0]
    kwargs = {"context_actions": context_actions} if C > 1 else {}
    with torch.inference_mode():
        shared = model.rollout(tokens, states, actions, **kwargs)
        repeated = model.rollout(
            tokens.expand(B, -1, -1, -1).contiguous(),
            states.expand(B, -1, -1).contiguous(),
            actions,
            **kwargs,
        )
    with torch.enable_grad():
        shared_grad = model.rollout(tokens, states, actions, **kwargs)
    assert (shared.tokens - repeated.tokens).abs().max() < TOL
    assert (shared.tokens - shared_grad.tokens).abs().max() < TOL
    assert torch.equal(shared.states, repeated.states)


def test_rollout_matches_plain_step_by_step_prediction(model):
    """Multi-step imagination through the cache (the last block skips the condition tokens' outputs
    but caches their keys/values) equals re-running the plain computation on the whole sequence."""
    tokens, states, actions, _ = _inputs(model, B=16, H=3)
    with torch.inference_mode():
        rolled = model.rollout(tokens, states, actions)
        seq_tokens, seq_states = tokens.expand(16, -1, -1, -1), states.expand(16, -1, -1)
        for h in range(3):
            nxt = _plain_predict(
                model.predictor, seq_tokens, actions[:, : h + 1], seq_states, model.grid
            )[:, -1:]
            assert (rolled.tokens[:, h : h + 1] - nxt).abs().max() < TOL
            seq_tokens = torch.cat([seq_tokens, nxt], 1)
            seq_states = torch.cat([seq_states, rolled.states[:, h : h + 1]], 1)


def _one_step_flops(cfg, samples: int, N: int) -> int:
    """Matrix-product FLOPs of one imagined step (``rollout`` with H = 1) of ``samples`` samples
    from one shared frame of N tokens, with the shortcuts: the frame embedded, projected and
    attended over itself by the first block once, the last block's attention output and MLP for
    the N patch tokens only (K = 2 condition tokens)."""
    S, K, W, M, D = samples, 2, cfg.width, cfg.mlp_hidden, cfg.encoder_width
    L = K + N

    def rest(
        queries: int,
    ) -> int:  # attention (q·k and p·v), output projection, MLP for `queries` tokens
        return 2 * S * (2 * queries * L * W + queries * W * W + 2 * queries * W * M)

    flops = (
        2 * S * (cfg.action_dim + cfg.state_dim) * W + 2 * N * D * W
    )  # condition encoders, shared embed
    # first block: the shared frame's qkv, frame-on-frame attention and projected values once;
    # per sample the condition tokens' qkv, attention and projection, the frame queries' scores on
    # the condition keys, the condition values projected, the two mixes, and the MLP on every token
    heads = cfg.num_heads
    flops += 2 * S * K * W * 3 * W + 2 * N * W * 3 * W
    flops += 2 * (2 * N * N * W + N * W * W)
    flops += 2 * S * (2 * K * L * W + K * W * W)
    flops += 2 * S * (N * K * W + K * W * W + N * heads * W + N * heads * K * W)
    flops += 2 * S * 2 * L * W * M
    flops += (cfg.depth - 2) * (2 * S * L * W * 3 * W + rest(L))  # middle blocks
    flops += 2 * S * L * W * 3 * W + rest(N)  # last block: outputs for the patch tokens only
    flops += 2 * S * N * W * D  # predictor_proj of the patch tokens
    return flops + 2 * S * 3 * 3 * 3  # the rollout's state integration: R(Δθ)·R(θ) per sample


@pytest.mark.parametrize("depth", [2, 3])
def test_one_step_rollout_does_only_the_shortcut_work(depth):
    """The shortcuts save work, not only compute the same thing: a planning step's matrix products
    are exactly those of the shortcut computation (a frame projected per sample, or condition-token
    outputs computed in the last block, would add to them)."""
    encoder = encoder_preset("vit_tiny")
    config = dataclasses.replace(predictor_preset("ac_mini", encoder), depth=depth)
    wm = (
        WorldModel(WorldModelConfig(encoder=encoder, predictor=config)).eval().requires_grad_(False)
    )
    tokens, states, actions, _ = _inputs(wm, B=32, H=1)
    with (
        torch.enable_grad(),
        FlopCounterMode(display=False) as counter,
    ):  # grad mode: plain F.linear, counted
        wm.rollout(tokens, states, actions)
    assert counter.get_total_flops() == _one_step_flops(config, 32, wm.tokens_per_frame)


def test_cache_keeps_the_condition_tokens(model):
    tokens, states, actions, _ = _inputs(model, B=4, H=1)
    cache = model.predictor.new_cache()
    with torch.inference_mode():
        model.predictor(tokens, actions, states.expand(4, -1, -1), grid=model.grid, cache=cache)
    per_step = 2 + model.tokens_per_frame
    for layer in cache.layers:
        assert layer.keys.shape == layer.values.shape == (4, 4, per_step, 24)


def test_gradients_match_with_shared_or_repeated_context(model):
    tokens, states, actions, _ = _inputs(model, B=8, H=2)
    grads = []
    for t, s in [(tokens, states), (tokens.expand(8, -1, -1, -1), states.expand(8, -1, -1))]:
        model.predictor.zero_grad()
        model.rollout(t, s, actions).tokens.square().mean().backward()
        grads.append(
            {n: p.grad.clone() for n, p in model.predictor.named_parameters() if p.grad is not None}
        )
    model.predictor.zero_grad()
    assert grads[0].keys() == grads[1].keys()
    assert not any(
        name.startswith("extrinsics_encoder") for name in grads[0]
    )  # the only unused parameters
    assert len(grads[0]) == len(list(model.predictor.parameters())) - 2
    for name, g in grads[0].items():
        assert g.abs().sum() > 0, name
        assert (g - grads[1][name]).abs().max() < 1e-6, name


def _meta_rotate(x, positions):
    """V-JEPA 2's RoPE written out per segment for ``x [..., L, head_dim]``: angles tiled twice,
    adjacent channels paired."""
    head_dim = x.shape[-1]
    s = segment_size(head_dim)
    omega = 1.0 / (10000.0 ** (torch.arange(s // 2, dtype=torch.float32) / (s // 2)))
    out = x.clone()
    for axis in range(3):
        seg = x[..., axis * s : (axis + 1) * s]
        angles = positions[:, axis, None] * omega  # [L, s/2]
        angles = torch.cat([angles, angles], dim=-1)  # [L, s]
        pairs = seg.unflatten(-1, (-1, 2))
        rotated = torch.stack([-pairs[..., 1], pairs[..., 0]], dim=-1).flatten(-2)
        out[..., axis * s : (axis + 1) * s] = seg * angles.cos() + rotated * angles.sin()
    return out


def test_rotation_matches_the_reference():
    torch.manual_seed(0)
    L, heads, head_dim = 5, 3, 20  # 3 segments of 6 channels and 2 channels left as they are
    qkv = torch.randn(4, L, 3, heads, head_dim)  # [B, L, 3, h, hd], as the projection leaves it
    positions = torch.rand(L, 3) * 8
    rope = RotaryTables.from_positions(positions, head_dim, torch.float32)
    rotated = rope.rotate(qkv[:, :, :2]).permute(2, 0, 3, 1, 4)  # [2, B, h, L, hd]
    expected = _meta_rotate(qkv[:, :, :2].permute(2, 0, 3, 1, 4), positions)
    assert (rotated - expected).abs().max() < 1e-5
    per_sample = RotaryTables.from_positions(positions.expand(4, -1, -1), head_dim, torch.float32)
    assert (per_sample.rotate(qkv[:, :, :2]).permute(2, 0, 3, 1, 4) - expected).abs().max() < 1e-5


def test_block_matches_the_textbook_computation():
    torch.manual_seed(0)
    block = Block(48, 4, 96).eval()
    x = torch.randn(6, 10, 48)  # [B, L, W]
    positions = torch.rand(10, 3) * 4
    with torch.no_grad():
        out = block(x, positions)
        qkv = F.linear(block.norm1(x), block.attn.qkv.weight, block.attn.qkv.bias)
        qkv = qkv.view(6, 10, 3, 4, 12).permute(2, 0, 3, 1, 4)  # [3, B, h, L, hd]
        q, k = (_meta_rotate(t, positions) for t in qkv[:2])
        attn = F.scaled_dot_product_attention(q, k, qkv[2]).transpose(1, 2).reshape(6, 10, 48)
        expected = x + block.attn.proj(attn)
        expected = expected + block.mlp(block.norm2(expected))
    assert (out - expected).abs().max() < TOL


@pytest.mark.parametrize("L", [18, 36, SHORT_ATTENTION + 8])
def test_attention_matches_sdpa_with_and_without_mask(L):
    torch.manual_seed(0)
    q = torch.randn(5, 4, L - 2, 24, requires_grad=True)  # [B, h, Lq, hd]: fewer queries than keys
    k, v = torch.randn(2, 5, 4, L, 24).unbind(0)
    mask = torch.rand(L - 2, L) < 0.7
    mask[:, 0] = True  # every query sees at least one key
    for m in (None, mask):
        out = attention(q, k, v, m)
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
        assert (out - expected).abs().max() < TOL
        (grad,) = torch.autograd.grad(out.square().sum(), q)
        (expected_grad,) = torch.autograd.grad(expected.square().sum(), q)
        assert (grad - expected_grad).abs().max() < 1e-4


def test_shared_frame_step_in_bfloat16_is_as_accurate_as_per_sample(model):
    """In bfloat16 the shared-frame first block stays in bfloat16 and as close to the float32
    result as the per-sample computation of the same bfloat16 model."""
    half = copy.deepcopy(model).to(torch.bfloat16)
    tokens, states, actions, _ = _inputs(model, B=16, H=1)
    B = actions.shape[0]
    with torch.inference_mode():
        exact = model.rollout(tokens, states, actions).tokens
        shared = half.rollout(tokens.bfloat16(), states.bfloat16(), actions.bfloat16()).tokens
        repeated = half.rollout(
            tokens.bfloat16().expand(B, -1, -1, -1).contiguous(),
            states.bfloat16().expand(B, -1, -1).contiguous(),
            actions.bfloat16(),
        ).tokens
    assert shared.dtype == torch.bfloat16
    shared_error = (shared.float() - exact).abs().mean()
    repeated_error = (repeated.float() - exact).abs().mean()
    assert shared_error < 1.5 * repeated_error
