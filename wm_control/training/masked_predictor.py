"""The pretraining predictor: from the context tokens, predict the target encoder's masked tokens.

A narrow transformer of the encoder's :class:`~wm_control.models.vit.Block` (pre-norm, 3D RoPE):
context tokens are projected to the predictor width, a learned mask token stands in for every
target position, all tokens carry their true (time, row, column) grid position through RoPE, and
the outputs at the target positions are projected back to the encoder width. Used only during
pretraining and discarded afterwards.
"""

from __future__ import annotations

import torch
from torch import nn

from wm_control.models.rope import RotaryTables, grid_positions
from wm_control.models.vit import Block, init_vit_weights


class MaskedPredictor(nn.Module):
    """``forward(context [B, K, De], context_idx [B, K], target_idx [B, M], grid) → [B, M, De]``."""

    def __init__(
        self, encoder_width: int, width: int, depth: int, num_heads: int, mlp_hidden: int
    ) -> None:
        super().__init__()
        self.embed = nn.Linear(encoder_width, width)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, width))
        self.blocks = nn.ModuleList(Block(width, num_heads, mlp_hidden) for _ in range(depth))
        self.norm = nn.LayerNorm(width, eps=1e-6)
        self.proj = nn.Linear(width, encoder_width)
        init_vit_weights(self, self.blocks)
        nn.init.trunc_normal_(self.mask_token, std=0.02)

    def forward(
        self,
        context: torch.Tensor,
        context_idx: torch.Tensor,
        target_idx: torch.Tensor,
        grid: tuple[int, int, int],
    ) -> torch.Tensor:
        B, M = target_idx.shape
        positions = grid_positions(*grid, device=context.device)  # [L, 3]
        x = torch.cat([self.embed(context), self.mask_token.expand(B, M, -1)], dim=1)  # [B, K+M, W]
        pos = torch.cat([positions[context_idx], positions[target_idx]], dim=1)  # [B, K+M, 3]
        rope = RotaryTables.from_positions(
            pos, self.blocks[0].attn.head_dim, x.dtype
        )  # shared by all blocks
        for block in self.blocks:
            x = block(x, rope)
        return self.proj(self.norm(x[:, -M:]))  # [B, M, De]
