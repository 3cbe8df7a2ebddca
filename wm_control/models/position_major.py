"""Queries, keys and values laid out position-major, with the rotation folded into the projection,
for CPU inference over many samples.

A planner imagines hundreds of samples of the same few token positions. Laid out as the qkv
projection leaves them (sample-major, ``[B, L, 3, heads, head_dim]``), queries and keys are then
rotated in three passes (one of them over every other channel), and each attention product first
copies its operand into a batch of contiguous matrices. Both costs go away when the tokens are
grouped by position:

- the rotation of a position ``p`` is a fixed linear map ``R_p`` of the projected channels, so
  ``R_p (W x + b) = (R_p W) x + R_p b``: each position gets its own rotated weight (a few hundred
  kilobytes at the predictor's width) and the rotation costs nothing per token;
- the projection, one batched matrix product over positions, writes ``[L, B, heads, head_dim]``;
  seen as ``[B, heads, L, head_dim]`` its sample and head axes merge into one batch axis, so
  attention multiplies in place.

The results equal the sample-major path's to float rounding (tests/core/test_position_major.py).
Only float32 on CPU without gradients takes this path: there the batched product is as fast as
oneDNN's linear (bench/RESULTS.md), while in bfloat16 it is about twice as slow, and on GPUs the
token-major rotation and SDPA are already measured fast. Few samples (encoding one frame) or wide
models (the per-position weights grow as ``L · width²``) keep the sample-major path, and so do
groups of tokens of which two steps exceed what the attention's matmul path takes
(``vit.SHORT_ATTENTION``, passed to :func:`applies`): SDPA gains nothing from the layout, and
with the shipped model's 66 tokens per step plans were 2–3 % slower with it.
"""

from __future__ import annotations

import torch

from .rope import RotaryTables

MIN_SAMPLES = 96
"""Samples (rows per position) from which the position-major projection is used: at width 96 it
is as fast as the sample-major one at 64-96 samples and faster above (bench/results/
position_major.md); building the rotated weights costs the same for any number of samples."""

MAX_WEIGHT_BYTES = 16 * 1024 * 1024
"""Largest set of per-position rotated weights (queries and keys of all positions) built per
call."""


def applies(x: torch.Tensor, rope: RotaryTables, matmul_keys: int) -> bool:
    """Whether tokens ``x [B, L, width]`` with rotation tables ``rope`` are projected
    position-major: float32 CPU inference, at least :data:`MIN_SAMPLES` samples sharing one table
    per position, two steps of L tokens within the ``matmul_keys`` keys that attention takes
    through matrix products (beyond, SDPA gains nothing from the layout), and rotated weights
    within :data:`MAX_WEIGHT_BYTES`."""
    B, L, width = x.shape
    return (
        2 * L <= matmul_keys
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_grad_enabled()
        and rope.cos.dim() == 4  # [L, 1, 1, hd]: one table per position, shared by the samples
        and B >= MIN_SAMPLES
        and 2 * L * width * width * x.element_size() <= MAX_WEIGHT_BYTES
    )


def project(
    x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, rope: RotaryTables, heads: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Rotated queries, keys and values of the tokens ``x [B, L, width]`` under the qkv projection
    ``weight [3·width, width]``, ``bias [3·width]`` (output channels ordered query/key/value, head,
    channel): ``3×[B, heads, L, head_dim]``, views of position-major ``[L, B, heads, head_dim]``
    tensors (see :func:`is_position_major`)."""
    B, L, width = x.shape
    head_dim = width // heads
    w = weight.view(3, heads, head_dim, width)
    b = bias.view(3, heads, head_dim)
    # R_p W for every position p: the rotation acts on the output channels, the input axis rides
    # along as the batch: [width_in, 1, 2, h, hd] → [width_in, L, 2, h, hd]
    w_rot = rope.rotate(w[:2].permute(3, 0, 1, 2).unsqueeze(1))
    b_rot = rope.rotate(b[:2].reshape(1, 1, 2, heads, head_dim))[0]  # [L, 2, h, hd]
    by_position = x.transpose(0, 1)  # [L, B, width], a view
    outputs = [
        torch.baddbmm(
            b_rot[:, i].reshape(L, 1, width),
            by_position,
            w_rot[:, :, i].transpose(0, 1).reshape(L, width, width),  # [L, width_in, width_out]
        )
        for i in range(2)
    ]  # queries, keys: 2×[L, B, width]
    value_weight = w[2].reshape(width, width).t().expand(L, -1, -1)  # the same at every position
    outputs.append(torch.baddbmm(b[2].reshape(1, 1, width), by_position, value_weight))
    # values: [L, B, width]
    return tuple(
        out.view(L, B, heads, head_dim).permute(1, 2, 0, 3) for out in outputs
    )  # 3×[B, h, L, hd]


def is_position_major(t: torch.Tensor) -> bool:
    """Whether ``t [B, heads, L, head_dim]`` is a view of a contiguous ``[L, B, heads, head_dim]``
    tensor (what :func:`project` returns)."""
    return t.dim() == 4 and t.shape[0] > 1 and t.permute(2, 0, 1, 3).is_contiguous()


def concat_steps(parts: list[torch.Tensor], steps: int = 1) -> torch.Tensor:
    """Concatenate token groups ``[B or 1, heads, steps·L_i, head_dim]`` step by step: each step's
    tokens of every part in turn → ``[B, heads, steps·ΣL_i, head_dim]``, batch 1 broadcast. The
    result is position-major when any part is (so appending to a key/value cache keeps attention
    free of copies), sample-major otherwise."""
    batch = max(part.shape[0] for part in parts)
    if any(is_position_major(part) for part in parts):
        by_position = [
            part.permute(2, 0, 1, 3).unflatten(0, (steps, -1)).expand(-1, -1, batch, -1, -1)
            for part in parts
        ]  # [steps, L_i, B, h, hd] each
        return torch.cat(by_position, dim=1).flatten(0, 1).permute(1, 2, 0, 3)
    return torch.cat(
        [part.unflatten(2, (steps, -1)).expand(batch, -1, -1, -1, -1) for part in parts], dim=3
    ).flatten(2, 3)
