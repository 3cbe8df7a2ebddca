"""The CPU inference fast path computes the same thing as the plain layers."""

import torch
import torch.nn.functional as F
from torch import nn

from wm_control.models.linear import _ONEDNN, linear


def test_fast_path_matches_plain_linear_and_gelu():
    torch.manual_seed(0)
    layer = nn.Linear(96, 384)
    x = torch.randn(800, 18, 96)
    plain = F.gelu(F.linear(x, layer.weight, layer.bias))
    with torch.no_grad():
        fast = linear(x, layer, gelu=True)
        fast_plain = linear(x, layer)
    assert (
        _ONEDNN
    )  # the pinned torch build ships oneDNN; without it the fast path would be silently off
    assert (fast - plain).abs().max() < 1e-5
    assert (fast_plain - F.linear(x, layer.weight, layer.bias)).abs().max() < 1e-5


def test_gradients_use_the_plain_path():
    layer = nn.Linear(8, 4)
    x = torch.randn(3, 8, requires_grad=True)
    linear(x, layer, gelu=True).sum().backward()
    assert x.grad is not None and layer.weight.grad is not None
