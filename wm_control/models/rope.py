"""3D rotary position embedding as in V-JEPA 2, including Meta's compatibility quirk.

Each attention head's channels are split into three segments of ``s = 2 * ((head_dim // 3) // 2)``
channels, rotated by the token's time, row and column index respectively; the last
``head_dim - 3 s`` channels are left as they are.

The quirk: for a segment of ``s`` channels the ``s/2`` angles ``θ_i = pos · 10000^(-i/(s/2))`` are
laid out *tiled twice* (``[θ_0 … θ_{s/2-1}, θ_0 … θ_{s/2-1}]``) while the rotation pairs *adjacent*
channels ``(x_{2j}, x_{2j+1}) → (−x_{2j+1}, x_{2j})``. The released weights were trained with it, so
it is reproduced exactly. A position of 0 leaves a segment unchanged (cos 0 = 1, sin 0 = 0), which
the AC predictor relies on for its action/state tokens (only their time segment is rotated).

For speed the three segments are applied at once with full-width tables computed once per forward
pass: ``x' = x · cos + swap(x) · sin±`` where ``swap`` exchanges the channels of each adjacent pair
and ``sin±`` carries the sign (−sin on even channels, +sin on odd ones); unrotated channels get
cos 1, sin 0. The tables are laid out token-major, to rotate queries and keys where the qkv
projection leaves them (``[B, L, 3, heads, head_dim]``) instead of after a transposing copy.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


def segment_size(head_dim: int) -> int:
    """Channels per rotated segment (time, row, column) for a head of ``head_dim`` channels."""
    return 2 * ((head_dim // 3) // 2)


def grid_positions(
    frames: int, rows: int, cols: int, *, device: torch.device | None = None
) -> torch.Tensor:
    """Positions ``[frames·rows·cols, 3]`` (float32: time, row, column) in time-row-column order."""
    t = torch.arange(frames, device=device, dtype=torch.float32)
    r = torch.arange(rows, device=device, dtype=torch.float32)
    c = torch.arange(cols, device=device, dtype=torch.float32)
    grid = torch.stack(torch.meshgrid(t, r, c, indexing="ij"), dim=-1)  # [frames, rows, cols, 3]
    return grid.reshape(-1, 3)


@dataclass(frozen=True)
class RotaryTables:
    """Full-width tables ``cos``, ``sin±`` of shape ``[L, 1, 1, head_dim]`` or
    ``[B, L, 1, 1, head_dim]``: broadcast over the query/key and head axes of the token-major
    layout ``[B, L, 2, heads, head_dim]`` that :meth:`rotate` takes."""

    cos: torch.Tensor
    sin: torch.Tensor

    @classmethod
    def from_positions(
        cls, positions: torch.Tensor, head_dim: int, dtype: torch.dtype
    ) -> RotaryTables:
        """Tables for positions ``[L, 3]`` or ``[B, L, 3]`` (time, row, column)."""
        s = segment_size(head_dim)
        half = s // 2
        omega = 1.0 / (
            10000.0 ** (torch.arange(half, device=positions.device, dtype=torch.float32) / half)
        )  # [s/2]
        angles = positions.to(torch.float32).unsqueeze(-1) * omega  # [..., L, 3, s/2]
        angles = torch.cat([angles, angles], dim=-1).flatten(
            -2
        )  # [..., L, 3·s], each segment tiled twice
        cos, sin = angles.cos(), angles.sin()
        sign = torch.tensor([-1.0, 1.0], device=positions.device).repeat(3 * half)  # [3·s]
        sin = sin * sign
        rest = head_dim - 3 * s
        if rest:
            cos = torch.cat([cos, cos.new_ones(*cos.shape[:-1], rest)], dim=-1)
            sin = torch.cat([sin, sin.new_zeros(*sin.shape[:-1], rest)], dim=-1)
        cos, sin = cos[..., None, None, :], sin[..., None, None, :]  # [(B,) L, 1, 1, hd]
        return cls(cos=cos.to(dtype), sin=sin.to(dtype))

    def rotate(self, x: torch.Tensor) -> torch.Tensor:
        """Rotate queries and keys ``x [B, L, G, heads, head_dim]`` (any strides, e.g. the first
        ``G = 2`` of a qkv projection's three) → a new contiguous tensor of the same shape.

        ``swap(x) · sin±`` is added pair half by pair half through strided views rather than by
        materialising ``swap(x)``: on a GPU that one copy cost as much as the rest of the
        rotation."""
        out = x * self.cos  # [B, L, G, h, hd]
        pairs, out_pairs = x.unflatten(-1, (-1, 2)), out.unflatten(-1, (-1, 2))
        sin = self.sin.unflatten(-1, (-1, 2))
        out_pairs[..., 0].addcmul_(pairs[..., 1], sin[..., 0])  # x'_2j   += x_2j+1 · (−sin)
        out_pairs[..., 1].addcmul_(pairs[..., 0], sin[..., 1])  # x'_2j+1 += x_2j · sin
        return out
