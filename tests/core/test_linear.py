"""The CPU inference fast path computes the same thing as the plain layers, from the weight as it
is and from the weight reordered for oneDNN."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from wm_control.models import linear as linear_module
from wm_control.models.linear import _ONEDNN, _ONEDNN_BF16, PACK_ROWS, _onednn_route, linear


@pytest.mark.parametrize("tokens", [18, 1])  # 800 x 18 rows: reordered weight; 800 rows: as it is
def test_fast_path_matches_plain_linear_and_gelu(tokens):
    torch.manual_seed(0)
    layer = nn.Linear(96, 384)
    x = torch.randn(800, tokens, 96)
    plain = F.gelu(F.linear(x, layer.weight, layer.bias))
    with torch.no_grad():
        assert _onednn_route(x) == ("packed" if 800 * tokens >= PACK_ROWS else "plain")
        fast = linear(x, layer, gelu=True)
        fast_plain = linear(x, layer)
    assert (
        _ONEDNN
    )  # the pinned torch build ships oneDNN; without it the fast path would be silently off
    assert (fast - plain).abs().max() < 1e-5
    assert (fast_plain - F.linear(x, layer.weight, layer.bias)).abs().max() < 1e-5


def test_reordered_weight_is_bitwise_the_plain_onednn_result(monkeypatch):
    torch.manual_seed(1)
    layer = nn.Linear(96, 288)
    x = torch.randn(4, 512, 96)
    with torch.no_grad():
        packed = linear(x, layer, gelu=True)
        monkeypatch.setattr(linear_module, "PACK_ROWS", 10**12)
        assert _onednn_route(x) == "plain"
        assert torch.equal(packed, linear(x, layer, gelu=True))


def test_a_weight_changed_in_place_is_used_at_once():
    """The reordered weight is made at every call: a change through ``.data`` (which bumps no
    version counter) shows in the next result."""
    torch.manual_seed(2)
    layer = nn.Linear(32, 64)
    x = torch.randn(2048, 32)
    with torch.no_grad():
        before = linear(x, layer)
        layer.weight.data.mul_(2.0)
        after = linear(x, layer)
        assert (after - F.linear(x, layer.weight, layer.bias)).abs().max() < 1e-5
    assert (after - before).abs().max() > 0.1


def test_bfloat16_takes_onednn_only_where_the_cpu_has_bfloat16_instructions():
    torch.manual_seed(3)
    layer = nn.Linear(96, 384).to(torch.bfloat16)
    big, small = torch.randn(4096, 96).bfloat16(), torch.randn(8, 96).bfloat16()
    with torch.no_grad():
        assert _onednn_route(small) is None
        assert _onednn_route(big) == ("packed" if _ONEDNN_BF16 else None)
        fast = linear(big, layer, gelu=True).float()
    plain = F.gelu(F.linear(big, layer.weight, layer.bias)).float()
    assert (fast - plain).abs().max() <= 2**-6 * plain.abs().max()  # bfloat16 rounding


def test_gradients_use_the_plain_path():
    layer = nn.Linear(8, 4)
    x = torch.randn(3000, 8, requires_grad=True)
    assert _onednn_route(x) is None
    linear(x, layer, gelu=True).sum().backward()
    assert x.grad is not None and layer.weight.grad is not None


@pytest.mark.parametrize("rows", [4096, 64])  # reordered weight / weight as it is
def test_residual_is_added_to_the_product(rows):
    torch.manual_seed(4)
    layer = nn.Linear(384, 96)
    x, residual = torch.randn(rows, 384), torch.randn(rows, 96)
    with torch.no_grad():
        fused = linear(x, layer, residual=residual)
    assert (fused - residual - F.linear(x, layer.weight, layer.bias)).abs().max() < 1e-5
    with pytest.raises(ValueError, match="gelu and residual"):
        linear(x, layer, gelu=True, residual=residual)
