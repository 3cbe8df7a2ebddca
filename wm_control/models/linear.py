"""Linear layers with a oneDNN fast path for CPU inference.

On CPU, ``F.linear`` runs through MKL's GEMM, which on the AMD machines we measured reached about
half the throughput of oneDNN's kernels for the thin matrices of the predictor (width 96–1024,
tens of thousands of tokens). When no gradient is recorded, float32 CPU linears go through oneDNN
(``torch.ops.mkldnn._linear_pointwise``) instead, with the exact (erf) GELU fused into the MLP's
first layer.

For inputs of at least :data:`PACK_ROWS` rows the weight is first reordered into oneDNN's blocked
layout (``mkldnn._reorder_linear_weight``): on these thin matrices oneDNN multiplies 1.2–1.4×
faster from it in float32, bit for bit the same result, and reordering a weight costs about as
much as multiplying a few dozen rows by it. It is redone at every call, not cached, so that a
weight changed in place (training, ``.data``) is never served stale and no second copy of the
weights is kept. bfloat16 takes the same reordered path on CPUs with native bfloat16 instructions
(AVX512-BF16, AMX), where it is 2–3× faster than ``F.linear`` (same result to bfloat16 rounding);
oneDNN's bfloat16 kernels on a weight not reordered are slower than ``F.linear``, so small
bfloat16 inputs keep ``F.linear``. Training and GPU paths use plain ``F.linear``
(tests/core/test_linear.py; bench/RESULTS.md).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")
_ONEDNN_BF16 = _ONEDNN and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())

PACK_ROWS = 1024
"""Rows (tokens) from which a CPU inference linear reorders its weight for oneDNN first."""


def _onednn_route(x: torch.Tensor) -> str | None:
    """How input ``x`` is multiplied: "packed", "plain" (oneDNN on the weight as it is) or None
    (``F.linear``)."""
    if not _ONEDNN or x.device.type != "cpu" or torch.is_grad_enabled():
        return None
    rows = x.numel() // max(x.shape[-1], 1)
    if x.dtype == torch.float32:
        return "packed" if rows >= PACK_ROWS else "plain"
    if x.dtype == torch.bfloat16 and _ONEDNN_BF16 and rows >= PACK_ROWS:
        return "packed"
    return None


def linear(
    x: torch.Tensor,
    layer: nn.Linear,
    *,
    gelu: bool = False,
    residual: torch.Tensor | None = None,
) -> torch.Tensor:
    """``layer(x)``, followed by the exact GELU if ``gelu``, or added to ``residual [..., out]``
    (a residual connection; oneDNN adds it as the product is written, saving a pass over the
    output): ``x [..., in]`` → ``[..., out]``."""
    if gelu and residual is not None:
        raise ValueError("linear: gelu and residual are not taken together")
    route = _onednn_route(x)
    if route is None:
        y = F.linear(x, layer.weight, layer.bias)
        if gelu:
            return F.gelu(y)
        return y if residual is None else residual + y
    weight = layer.weight  # [out, in]
    if route == "packed":
        weight = torch.ops.mkldnn._reorder_linear_weight(weight, None)  # oneDNN's blocked layout
    if gelu:
        return torch.ops.mkldnn._linear_pointwise(x, weight, layer.bias, "gelu", [], "none")
    if residual is not None:
        return torch.ops.mkldnn._linear_pointwise.binary(x, residual, weight, layer.bias, "add")
    return torch.ops.mkldnn._linear_pointwise(x, weight, layer.bias, "none", [], "")
