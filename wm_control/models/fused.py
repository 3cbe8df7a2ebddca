"""Compiled versions of a transformer block's two per-token halves, for GPU inference.

A block's work outside its matrix products is a chain of memory-bound passes over every token:
LayerNorm, the bias adds, the rotation of queries and keys, GELU, the residual adds. On a GPU at
the released scale these passes took about half of a rollout's time (bench/results/planner_gpu.md).
``torch.compile`` fuses each chain into a few kernels that read and write each activation once.

The functions take the weights as arguments rather than the block, so one compiled graph serves
every block of a model (and every model of the same shapes) instead of one per block. They compute
what :class:`~wm_control.models.vit.Block` computes, up to float rounding (tests/core/
test_compiled_blocks.py); a block uses them when its ``compiled`` flag is set
(:meth:`wm_control.WorldModel.use_compiled_blocks`). On CPUs the fused kernels were measured no
faster than the eager path with oneDNN (bench/RESULTS.md), so this is a GPU option.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from .rope import RotaryTables

if TYPE_CHECKING:
    from .vit import Block


def _project(
    x: torch.Tensor,
    norm_weight: torch.Tensor,
    norm_bias: torch.Tensor,
    eps: float,
    qkv_weight: torch.Tensor,
    qkv_bias: torch.Tensor,
    cos: torch.Tensor,
    sin: torch.Tensor,
    heads: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``x [B, L, W]`` → rotated queries and keys ``[B, L, 2, heads, hd]`` and values
    ``[B, L, heads, hd]`` (the math of ``Block.project``; ``cos``/``sin`` as in
    :class:`RotaryTables`)."""
    B, L, W = x.shape
    h = F.layer_norm(x, (W,), norm_weight, norm_bias, eps)
    qkv = F.linear(h, qkv_weight, qkv_bias).view(B, L, 3, heads, W // heads)
    qk = qkv[:, :, :2]  # [B, L, 2, h, hd]
    swapped = qk.unflatten(-1, (-1, 2)).flip(-1).flatten(-2)  # each adjacent pair exchanged
    return qk * cos + swapped * sin, qkv[:, :, 2]


def _tail(
    x: torch.Tensor,
    mixed: torch.Tensor,
    proj_weight: torch.Tensor,
    proj_bias: torch.Tensor,
    norm_weight: torch.Tensor,
    norm_bias: torch.Tensor,
    eps: float,
    fc1_weight: torch.Tensor,
    fc1_bias: torch.Tensor,
    fc2_weight: torch.Tensor,
    fc2_bias: torch.Tensor,
) -> torch.Tensor:
    """The rest of a block after attention: input ``x [B, L, W]`` and the heads' attention output
    ``mixed [B, L, W]`` (before the output projection) → block output ``[B, L, W]``."""
    x = x + F.linear(mixed, proj_weight, proj_bias)
    h = F.layer_norm(x, (x.shape[-1],), norm_weight, norm_bias, eps)
    return x + F.linear(F.gelu(F.linear(h, fc1_weight, fc1_bias)), fc2_weight, fc2_bias)


# compiled on first use (compiling at import would make every import pay for torch.compile's setup)
_compiled: dict[str, object] = {}
# Each function is compiled once per token shape it meets: a planner meets about ten (the shared
# frame, the condition tokens, a step, the last block's patch tokens, at each of its batch sizes,
# and batch 1 for scoring a plan). torch's default limit of 8 would silently fall back to eager.
RECOMPILE_LIMIT = 64


def _get(name: str, fn):
    if name not in _compiled:
        config = torch._dynamo.config
        config.recompile_limit = max(config.recompile_limit, RECOMPILE_LIMIT)
        _compiled[name] = torch.compile(fn, dynamic=False)
    return _compiled[name]


def project(
    block: Block, x: torch.Tensor, rope: RotaryTables
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Compiled ``block.project``: queries, keys (rotated) and values ``[B, heads, L, head_dim]``
    of the tokens ``x [B, L, width]``."""
    qk, v = _get("project", _project)(
        x,
        block.norm1.weight,
        block.norm1.bias,
        block.norm1.eps,
        block.attn.qkv.weight,
        block.attn.qkv.bias,
        rope.cos,
        rope.sin,
        block.attn.num_heads,
    )  # [B, L, 2, h, hd], [B, L, h, hd]
    return qk[:, :, 0].transpose(1, 2), qk[:, :, 1].transpose(1, 2), v.transpose(1, 2)


def tail(block: Block, x: torch.Tensor, mixed: torch.Tensor) -> torch.Tensor:
    """Compiled rest of ``block`` after attention: ``x [B, L, W]`` and the attention output
    ``mixed [B, L, W]`` (heads concatenated, before the output projection) → ``[B, L, W]``."""
    return _get("tail", _tail)(
        x,
        mixed,
        block.attn.proj.weight,
        block.attn.proj.bias,
        block.norm2.weight,
        block.norm2.bias,
        block.norm2.eps,
        block.mlp.fc1.weight,
        block.mlp.fc1.bias,
        block.mlp.fc2.weight,
        block.mlp.fc2.bias,
    )
