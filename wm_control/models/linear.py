"""Linear layers with a oneDNN fast path for CPU inference.

On CPU, ``F.linear`` runs through MKL's GEMM, which on the AMD machines we measured reached about
half the throughput of oneDNN's kernels for the thin matrices of the predictor (width 96–1024,
tens of thousands of tokens). When no gradient is recorded, float32 CPU linears go through oneDNN
(``torch.ops.mkldnn._linear_pointwise``) instead, with the exact (erf) GELU fused into the MLP's
first layer. The result is the same computation (checked by tests to float rounding); training and
GPU paths use plain ``F.linear``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

_ONEDNN = torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_linear_pointwise")


def _fast_path(x: torch.Tensor) -> bool:
    return (
        _ONEDNN
        and x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_grad_enabled()
    )


def linear(x: torch.Tensor, layer: nn.Linear, *, gelu: bool = False) -> torch.Tensor:
    """``layer(x)`` (followed by the exact GELU if ``gelu``), ``x [..., in]`` → ``[..., out]``."""
    if _fast_path(x):
        if gelu:
            return torch.ops.mkldnn._linear_pointwise(
                x, layer.weight, layer.bias, "gelu", [], "none"
            )
        return torch.ops.mkldnn._linear_pointwise(x, layer.weight, layer.bias, "none", [], "")
    y = F.linear(x, layer.weight, layer.bias)
    return F.gelu(y) if gelu else y
